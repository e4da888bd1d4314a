"""Chat's domain functions. Faces call these; other apps use `chat.tools`, `publish` and
`publish_ops_notice`."""

from chat.services.loop import AgentLoop, run_session
from chat.services.publisher import events_after, publish, publish_many, publish_ops_notice
from chat.services.runs import AGENT_KIND, finish_run
from chat.services.sessions import (
    change_mode,
    continue_run,
    create_session,
    post_message,
    session_for_turn,
    set_archived,
    set_budgets,
    start_session,
    stop_run,
)

__all__ = [
    "AGENT_KIND",
    "AgentLoop",
    "change_mode",
    "continue_run",
    "create_session",
    "events_after",
    "finish_run",
    "post_message",
    "publish",
    "publish_many",
    "publish_ops_notice",
    "run_session",
    "session_for_turn",
    "set_archived",
    "set_budgets",
    "start_session",
    "stop_run",
]
