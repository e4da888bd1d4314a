"""What the JavaScript tools share: Node must be there, and the tool in node_modules/.bin
(the checkout's) or on the search path."""

from __future__ import annotations

from codehealth.scanners.base import ScanContext


def node_tool(context: ScanContext, name: str) -> tuple[str | None, str]:
    """The tool's executable, or None and the reason it cannot run."""
    if context.executable("node") is None:
        return None, "Node.js is not on the search path"
    bins = [context.node_modules / ".bin"] if context.node_modules else []
    executable = context.executable(name, first_in=bins)
    if executable is None:
        return None, f"{name} is not installed (neither in node_modules/.bin nor on the PATH)"
    return executable, ""
