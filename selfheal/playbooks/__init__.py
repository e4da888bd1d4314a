"""Playbooks: the diagnosis, the repair and the revert, on the safety of `Playbook`."""

from selfheal.playbooks.base import Playbook, Run, SkipRow, StepReport
from selfheal.playbooks.diagnose import DiagnoseSystemPlaybook
from selfheal.playbooks.registry import get_playbook, register_playbook
from selfheal.playbooks.repair import RepairCommonIssuesPlaybook
from selfheal.playbooks.revert import RevertPlaybook

DEFAULT_PLAYBOOKS: tuple[type[Playbook], ...] = (
    DiagnoseSystemPlaybook,
    RepairCommonIssuesPlaybook,
    RevertPlaybook,
)


# A rule may start these; a revert needs a target, and a diagnosis is what rules read.
AUTOHEAL_PLAYBOOKS: tuple[str, ...] = (RepairCommonIssuesPlaybook.name,)


def register_default_playbooks() -> None:
    for playbook in DEFAULT_PLAYBOOKS:
        register_playbook(playbook)


__all__ = [
    "AUTOHEAL_PLAYBOOKS",
    "DEFAULT_PLAYBOOKS",
    "DiagnoseSystemPlaybook",
    "Playbook",
    "RepairCommonIssuesPlaybook",
    "RevertPlaybook",
    "Run",
    "SkipRow",
    "StepReport",
    "get_playbook",
    "register_default_playbooks",
    "register_playbook",
]
