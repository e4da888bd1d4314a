"""Who may charge a session's budget through the gateway.

A session reference is a plain string (`chat:42`), so routing cannot know its owner: the app
that names sessions registers, in its `AppConfig.ready()`, a prefix and a check of who may
charge them (chat registers `chat:`). A gateway caller may charge such a session only if the
check says so. Any other reference (`X-Juggernaut-Session: nightly-run`, or the body's
`user`) is the caller's own: it is kept in the ledger under the caller's name
(`gateway:<user id>:nightly-run`), so two callers' references never meet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from routing.errors import SessionNotOwned

# (session reference, user) -> whether that user may charge it; False for no such session.
SessionCheck = Callable[[str, Any], bool]
GATEWAY_PREFIX = "gateway:"
MAX_SESSION_REF = 200  # ModelCall.session_ref

_checks: dict[str, SessionCheck] = {}
# session reference -> the page that shows it, for the references an app names.
SessionLink = Callable[[str], str | None]
_links: dict[str, SessionLink] = {}


def register_session_owner(prefix: str, may_charge: SessionCheck) -> None:
    """Sessions whose reference starts with `prefix` belong to the registering app."""
    _checks[prefix] = may_charge


def register_session_link(prefix: str, link: SessionLink) -> None:
    """Sessions whose reference starts with `prefix` have a page: `link` answers its URL."""
    _links[prefix] = link


def session_url(reference: str) -> str | None:
    for prefix, link in _links.items():
        if reference.startswith(prefix):
            return link(reference)
    return None


def gateway_session_ref(reference: str, *, user: Any) -> str:
    """The ledger's session for a gateway call that named `reference`, or `SessionNotOwned`."""
    for prefix, may_charge in _checks.items():
        if reference.startswith(prefix):
            if not may_charge(reference, user):
                raise SessionNotOwned(
                    f"The session {reference!r} is not yours to charge: a gateway call may "
                    "charge only sessions its token's owner owns. Leave X-Juggernaut-Session "
                    "and `user` out, or name a session of your own."
                )
            return reference
    return f"{GATEWAY_PREFIX}{user.pk}:{reference}"[:MAX_SESSION_REF]
