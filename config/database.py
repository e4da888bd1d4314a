"""The database connection pool, and what a forked process must do about its parent's.

On PostgreSQL every process keeps its connections in a pool of its own (Django's, psycopg's
`psycopg_pool`), at most `DATABASE_POOL_MAX` of them: a thread takes one for a request or a
unit of work and gives it back at its end, and a thread that finds the pool empty waits for
one (up to `DATABASE_POOL_TIMEOUT`) instead of failing. docs/configuration.md adds up what a
deployment needs.

django-q2 forks its workers from a process that may hold pooled connections. A forked child
shares its parent's sockets, so it must never use (nor close: closing sends the server a
Terminate for the parent's session) a connection it inherited. `forget_inherited_pools`
runs in every child right after a fork (registered in `config/__init__.py`): it drops the
parent's pools and connections without touching them, so the child opens its own.
"""

from __future__ import annotations

import sys
from typing import Any

# Kept, never used: letting them be collected could run code that touches the parent's
# sockets, or locks a thread of the parent held at the moment of the fork.
_inherited: list[Any] = []


def forget_inherited_pools() -> None:
    postgresql = sys.modules.get("django.db.backends.postgresql.base")
    if postgresql is None:
        return  # nothing has opened a PostgreSQL connection in this process
    pools = postgresql.DatabaseWrapper._connection_pools
    for pool in pools.values():
        # Its worker threads stayed in the parent: it must not try to stop them from here.
        pool._closed = True
        _inherited.append(pool)
    pools.clear()
    from django.db import connections

    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _inherited.append(wrapper.connection)
            wrapper.connection = None
