"""Errors of tools and tool servers; all are `AgentError`s."""

from __future__ import annotations

from agents.errors import AgentError

__all__ = ["ToolError"]


class ToolError(AgentError):
    """A tool could not do what it was asked; the message goes back to the model.

    Raise it from a tool to report an expected failure (unknown account, refused
    transfer) in words the model can act on; the runtime also raises it for an MCP
    server it cannot reach. `retriable` says whether calling again may succeed.
    """

    def __init__(
        self,
        message: str,
        *,
        tool: str | None = None,
        agent: str | None = None,
        retriable: bool = False,
    ) -> None:
        super().__init__(message, agent=agent)
        self.tool = tool
        self.retriable = retriable

    def _context(self) -> dict[str, str]:
        context = super()._context()
        if self.tool:
            context["tool"] = self.tool
        return context
