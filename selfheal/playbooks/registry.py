"""The playbooks by name: what auto-heal rules and the API start."""

from __future__ import annotations

from selfheal.errors import UnknownPlaybook
from selfheal.playbooks.base import Playbook

_playbooks: dict[str, type[Playbook]] = {}


def register_playbook(playbook: type[Playbook]) -> type[Playbook]:
    existing = _playbooks.get(playbook.name)
    if existing is not None and existing is not playbook:
        raise ValueError(f"a playbook named {playbook.name!r} is already registered")
    _playbooks[playbook.name] = playbook
    return playbook


def get_playbook(name: str) -> type[Playbook]:
    try:
        return _playbooks[name]
    except KeyError:
        raise UnknownPlaybook(f"no playbook named {name!r}") from None
