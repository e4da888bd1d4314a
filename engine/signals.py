"""Signals other apps may listen to; the engine never imports its listeners.

`task_decided` is sent once a human's approval or rejection of a task has committed, with
``task`` (the Task row), ``decision`` (an `ApprovalDecision` value) and ``user``. Chat
listens to resume the agent run that asked for the approval.

`api_tokens_revoked` is sent once a revocation has committed, with ``user_ids`` (the owners
of the tokens it revoked). Chat listens to close the streams those tokens opened at once.
"""

from __future__ import annotations

from django.dispatch import Signal

task_decided = Signal()
api_tokens_revoked = Signal()
