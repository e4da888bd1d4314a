"""Chat's public tool seam: other apps register tools here in their ``AppConfig.ready()``.

from chat.tools import Tool, register_tool
register_tool(Tool(name="restart_service", description="...", parameters={...},
                   function=restart, permission="dangerous", modes=("ops",)))
"""

from chat.tools.registry import (
    ALL_MODES,
    Tool,
    ToolCheck,
    ToolContext,
    ToolError,
    ToolFatalError,
    ToolRegistry,
    register_tool,
    tools,
)

__all__ = [
    "ALL_MODES",
    "Tool",
    "ToolCheck",
    "ToolContext",
    "ToolError",
    "ToolFatalError",
    "ToolRegistry",
    "register_tool",
    "tools",
]
