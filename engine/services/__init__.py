"""The engine's domain functions: the only code that changes tasks and workers."""

from engine.services.errors import (
    EngineError,
    InvalidTransition,
    LeaseConflict,
    NotAllowed,
    TaskChanged,
    TaskNotFound,
    WorkerNotFound,
    WorkerUnavailable,
)
from engine.services.leases import (
    Heartbeat,
    complete_task,
    end_attempts_held_by,
    fail_attempt,
    fail_task,
    heartbeat,
    release_task,
    retry_delay,
)
from engine.services.locks import job_lock
from engine.services.maintenance import (
    StuckReport,
    StuckTaskDetector,
    apply_unblock_rules,
    reset_stuck_task,
)
from engine.services.restore import restore_task
from engine.services.router import TaskRouter
from engine.services.tasks import (
    CreatedTask,
    approve_task,
    cancel_task,
    create_task,
    extend_task_timeout,
    reject_task,
    request_approval,
    retry_task,
    unblock_task,
)
from engine.services.workers import (
    RegisteredWorker,
    WorkerStateChange,
    create_api_token,
    ensure_builtin_worker,
    register_worker,
    revoke_api_tokens,
    set_worker_state,
)

__all__ = [
    "CreatedTask",
    "EngineError",
    "Heartbeat",
    "InvalidTransition",
    "LeaseConflict",
    "NotAllowed",
    "RegisteredWorker",
    "StuckReport",
    "StuckTaskDetector",
    "TaskChanged",
    "TaskNotFound",
    "TaskRouter",
    "WorkerNotFound",
    "WorkerStateChange",
    "WorkerUnavailable",
    "apply_unblock_rules",
    "approve_task",
    "cancel_task",
    "complete_task",
    "create_api_token",
    "create_task",
    "end_attempts_held_by",
    "ensure_builtin_worker",
    "extend_task_timeout",
    "fail_attempt",
    "fail_task",
    "heartbeat",
    "job_lock",
    "register_worker",
    "reject_task",
    "release_task",
    "request_approval",
    "reset_stuck_task",
    "restore_task",
    "retry_delay",
    "retry_task",
    "revoke_api_tokens",
    "set_worker_state",
    "unblock_task",
]
