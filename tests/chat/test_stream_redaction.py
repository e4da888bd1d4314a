"""Streamed text is redacted as a whole: a secret the model's stream splits across two
flushes never reaches a `message.delta` event, in part or whole."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import pytest

from chat.models import ChatEvent
from chat.services import post_message
from chat.services.loop import AgentLoop
from chat.stop_reasons import StopReason
from routing.providers.base import Provider, ProviderStream
from routing.redaction import REDACTED, StreamRedactor, redact_text
from routing.types import Delta, ProviderRequest, ProviderResult, Usage
from tests.chat.conftest import make_session


def stream_through(pieces: list[str], *, hold: int = 200) -> list[str]:
    """What a redactor sends for each piece, the last one ending the stream."""
    redactor = StreamRedactor(hold=hold)
    sent = [redactor.feed(piece) for piece in pieces]
    sent.append(redactor.feed("", final=True))
    return sent


SPLIT_SECRETS = [
    (["the key is sk-pr", "oj-ABCDEFGH12345678 ok"], "ABCDEFGH12345678"),
    (["db_password: ", "s3cr3t! and then"], "s3cr3t!"),
    (["Authorization: Token ", "short1 done"], "short1"),
    (["use ", "Bearer abcdefgh", "ijklmnopqrstuvwxyz now"], "ijklmnopqrstuvwxyz"),
    (["postgres://app:pa5", "5word@db:5432/x fine"], "5word"),
]


@pytest.mark.parametrize(("pieces", "secret"), SPLIT_SECRETS)
def test_a_secret_split_across_pieces_is_redacted(pieces: list[str], secret: str) -> None:
    sent = stream_through(pieces)

    whole = "".join(sent)
    assert secret not in whole
    assert not any(secret[:4] in piece or secret[-4:] in piece for piece in sent)
    assert whole == redact_text("".join(pieces))
    assert REDACTED in whole


def test_finished_words_go_out_at_once_and_the_word_still_coming_waits() -> None:
    redactor = StreamRedactor()

    assert redactor.feed("Three tasks fai") == "Three tasks "
    assert redactor.feed("led overnight") == "failed "
    assert redactor.feed("", final=True) == "overnight"


def test_a_word_longer_than_the_hold_is_not_held_for_ever() -> None:
    redactor = StreamRedactor(hold=10)

    assert redactor.feed("x" * 25) == "x" * 15


def test_plain_text_passes_unchanged() -> None:
    text = "Worker w1 is online; 3 tasks pending, prompt_tokens: 12. All good."
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]

    assert "".join(stream_through(pieces)) == text


class ChunkedProvider(Provider):
    """Streams its answer in the pieces given, pausing between them longer than a flush."""

    name: ClassVar[str] = "chunked"
    label: ClassVar[str] = "chunked (tests)"
    serves_models: ClassVar[bool] = False

    def __init__(self, pieces: list[str], pause: float = 0.15) -> None:
        self.pieces, self.pause = pieces, pause

    def send(self, request: ProviderRequest) -> ProviderStream:
        for piece in self.pieces:
            yield Delta(text=piece)
            time.sleep(self.pause)
        return ProviderResult(
            content="".join(self.pieces),
            tool_calls=[],
            finish_reason="stop",
            usage=Usage(prompt_tokens=10, completion_tokens=5),
            model="chunked/model",
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("routing_defaults")
@pytest.mark.parametrize(("pieces", "secret"), SPLIT_SECRETS[:3])
def test_a_secret_split_across_streamed_deltas_never_reaches_an_event(
    user: Any, pieces: list[str], secret: str
) -> None:
    session = make_session(user)
    post_message(session_id=session.pk, user=user, content="what is it?", queue=False)

    reason = AgentLoop(session.pk, provider=ChunkedProvider(pieces)).run()

    assert reason == StopReason.COMPLETED
    deltas = list(
        ChatEvent.objects.filter(session=session, type="message.delta")
        .order_by("seq")
        .values_list("data", flat=True)
    )
    texts = [delta["text"] for delta in deltas]
    assert not any(secret[:4] in text or secret[-4:] in text for text in texts), texts
    assert "".join(texts) == redact_text("".join(pieces))
