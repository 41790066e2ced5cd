"""The model-provider edge: what is sent to a model and what comes back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

__all__ = ["ModelProvider", "ModelRequest", "ModelResponse"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


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
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    """Context carried along (agent, tier, tenant, request and task ids)."""
    output_model: type[BaseModel] | None = None
    """The agent's output contract; a provider may use it for structured output."""


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """What the model returned; token counts are as billed by the provider."""

    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: float
    model: str
    tool_calls: tuple[str, ...] = ()
    """JSON-encoded tool calls the model asked for."""


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
