"""The model-provider edge: what is sent to a model and what comes back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

__all__ = [
    "EMPTY_PARAMETERS",
    "ModelProvider",
    "ModelRequest",
    "ModelResponse",
    "ToolCall",
    "ToolExchange",
    "ToolResult",
    "ToolSpec",
    "typed_calls",
]

_EMPTY: Mapping[str, str] = MappingProxyType({})
EMPTY_PARAMETERS: Mapping[str, Any] = MappingProxyType({"type": "object", "properties": {}})
"""The JSON schema of a tool known only by name: any object."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as offered to a model: its name, what it is for, and its JSON schema."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: EMPTY_PARAMETERS)
    """JSON schema of the arguments object (from the tool's pydantic model, or an MCP
    server's `inputSchema`)."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call a model asked for."""

    id: str
    """The provider's id for the call (OpenAI `call_...`, Anthropic `toolu_...`); results
    are returned under it."""
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool call came to, as returned to the model."""

    call_id: str
    name: str
    content: str
    """The result as JSON, or the error message when `is_error`."""
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ToolExchange:
    """One tool round of a conversation: the model's turn that asked for tools (with any
    text it wrote alongside), and the results sent back."""

    text: str
    calls: tuple[ToolCall, ...]
    results: tuple[ToolResult, ...]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One model call, fully specified: a provider needs nothing else to make it."""

    model: str
    system_prompt: str
    input_text: str
    temperature: float
    max_output_tokens: int
    timeout_s: float
    """The provider must give up (raising `ModelTimeout`) after this many seconds."""
    attempt: int = 1
    """1 for the first try; lets providers tell retries apart (e.g. for idempotency keys)."""
    tools: tuple[str, ...] = ()
    """Tool names the model may call."""
    tool_specs: tuple[ToolSpec, ...] = ()
    """Descriptions and schemas of `tools`, where known; a name without one is offered
    with `EMPTY_PARAMETERS`."""
    transcript: tuple[ToolExchange, ...] = ()
    """Tool rounds so far, oldest first, after `input_text`: the model continues from the
    last results. Empty on the first call."""
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    """Context carried along (agent, tier, tenant, request and task ids)."""
    output_model: type[BaseModel] | None = None
    """The agent's output contract; a provider may use it for structured output."""

    def spec_of(self, tool: str) -> ToolSpec:
        """How `tool` is offered: its `tool_specs` entry, else the name alone."""
        for spec in self.tool_specs:
            if spec.name == tool:
                return spec
        return ToolSpec(tool)


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """What the model returned; token counts are as billed by the provider."""

    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: float
    model: str
    tool_calls: tuple[str, ...] = ()
    """JSON-encoded tool calls the model asked for (`{"arguments":...,"name":...}`)."""
    calls: tuple[ToolCall, ...] = ()
    """The same calls, typed and with the provider's call ids. A provider that fills only
    `tool_calls` gets ids made up from their positions."""


@runtime_checkable
class ModelProvider(Protocol):
    """Anything that can answer a `ModelRequest`.

    `complete` returns a `ModelResponse` or raises a `ProviderError` subclass
    (`ModelTimeout`, `ModelUnavailable`, `MalformedOutput`, or a non-retriable
    `ProviderError`); any other exception is a bug in the provider and propagates.
    """

    @property
    def name(self) -> str:
        """Provider name recorded on every `Invocation` (e.g. "sim", "openai")."""
        ...

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Make the call described by `request`."""
        ...


def typed_calls(response: ModelResponse) -> tuple[ToolCall, ...]:
    """`response.calls`, or its JSON `tool_calls` decoded, with ids from their positions.

    A JSON call that is not an object naming a tool is skipped: a provider's own parser
    rejects malformed calls, so this only meets what a custom provider made up.
    """
    if response.calls or not response.tool_calls:
        return response.calls
    calls: list[ToolCall] = []
    for index, encoded in enumerate(response.tool_calls):
        try:
            call = json.loads(encoded)
        except ValueError:
            continue
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            continue
        arguments = call.get("arguments")
        calls.append(
            ToolCall(
                id=f"call_{index}",
                name=call["name"],
                arguments=arguments if isinstance(arguments, dict) else {},
            )
        )
    return tuple(calls)
