"""Input of the engine's pages: the recent-tasks filter and its keyset cursor, a new task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms

from engine.models import PRIORITY_RANGE, Task, TaskState
from engine.services.workers import task_kinds

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first task list: exact, so no row is skipped or repeated."""

    created_at: datetime
    pk: int

    @classmethod
    def of(cls, task: Task) -> Cursor:
        return cls(created_at=task.created_at, pk=task.pk)

    def encode(self) -> str:
        # Integer microseconds, not a float timestamp, so the position round-trips exactly.
        return f"{(self.created_at - EPOCH) // ONE_MICROSECOND}.{self.pk}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        micros, _, pk = text.partition(".")
        try:
            return cls(created_at=EPOCH + int(micros) * ONE_MICROSECOND, pk=int(pk))
        except (ValueError, OverflowError):
            raise forms.ValidationError("not a task list position") from None


class CursorField(forms.Field):
    MAX_LENGTH = 40

    def to_python(self, value: Any) -> Cursor | None:
        text = str(value or "").strip()
        if not text:
            return None
        if len(text) > self.MAX_LENGTH:
            raise forms.ValidationError("not a task list position")
        return Cursor.decode(text)


class TaskListFilter(forms.Form):
    state = forms.ChoiceField(
        choices=[("", "All states"), *TaskState.choices],
        required=False,
        widget=forms.Select(attrs={"data-autosubmit": ""}),
    )
    before = CursorField(required=False)
    after = CursorField(required=False)


class ApproveForm(forms.Form):
    """An approval may send the task on as another kind of work (a worker that can do it)."""

    reroute_kind = forms.CharField(max_length=100, required=False, strip=True)


class NewTaskForm(forms.Form):
    """A task made by hand: its kind one some worker can run, its payload a JSON object."""

    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(help_text="Task kinds the registered workers can run.")
    payload = forms.JSONField(
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false"}),
        help_text='A JSON object, e.g. {"message": "hello"}.',
    )
    priority = forms.IntegerField(
        min_value=PRIORITY_RANGE[0],
        max_value=PRIORITY_RANGE[1],
        initial=50,
        help_text="Higher runs first.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = sorted(task_kinds().workers)  # what some registered worker says it can run
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [(name, name) for name in kinds]

    def clean_payload(self) -> dict[str, Any]:
        payload = self.cleaned_data["payload"]
        if payload is None:
            return {}
        if not isinstance(payload, dict):
            raise forms.ValidationError("Write a JSON object ({...}), not a list or a value.")
        return payload
