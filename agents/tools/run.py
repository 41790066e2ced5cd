"""Running the tool calls a model asked for, and the record each one leaves.

Every call becomes a `ToolRun`, whatever happened: an unknown tool, arguments that do
not validate, a timeout and an exception raised by the tool are errors the model is
told about (it may correct itself), not failures of the invocation. Calls of one round
run concurrently, as the providers' "parallel tool calls" intend; records keep the
model's order.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, to_json

from agents.providers.base import ToolCall, ToolResult
from agents.tools.errors import ToolError
from agents.tools.tool import BoundCall, Tool, ToolContext

__all__ = ["CallScope", "ToolRun", "idempotency_key", "run_calls"]

_ERROR_CHARS = 500  # enough for any useful message; a traceback-sized one would bloat events


@dataclass(frozen=True, slots=True)
class ToolRun:
    """One tool call and what it came to; a `ToolRun` record of the `Invocation` event."""

    name: str
    arguments: str
    """The arguments as JSON (validated and normalised when the tool validates them)."""
    result: str | None
    """The tool's return value as JSON; None when it failed."""
    error: str | None
    """Why the call failed (unknown tool, invalid arguments, timeout, the tool's error)."""
    latency_ms: float
    idempotency_key: str | None
    """The key a side-effecting tool was given; None for tools without side effects."""
    call_id: str | None = None
    """The provider's id of the call."""
    round: int = 1
    """Which tool round of the attempt the call belongs to (1 = after the first answer)."""

    def as_result(self) -> ToolResult:
        """What the model is told."""
        if self.error is not None:
            return ToolResult(self.call_id or "", self.name, self.error, is_error=True)
        return ToolResult(self.call_id or "", self.name, self.result or "null")


@dataclass(frozen=True, slots=True)
class CallScope:
    """Who the calls are made for: the ids every `ToolContext` and key derive from."""

    task_id: str
    request_id: str
    tenant: str
    agent: str


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def idempotency_key(task_id: str, tool: str, arguments_json: str, occurrence: int = 0) -> str:
    """The key of the `occurrence`-th call (0-based) of `tool` with these arguments for
    `task_id`. Deterministic, so a redelivered task or a retried attempt that makes the
    same call gets the same key; a tool called twice with the same arguments on purpose
    gets two."""
    material = "\x1f".join((task_id, tool, arguments_json, str(occurrence)))
    return f"{tool}:{hashlib.sha256(material.encode()).hexdigest()[:32]}"


async def run_calls(
    calls: Sequence[ToolCall],
    tools: Mapping[str, Tool],
    scope: CallScope,
    *,
    round_number: int,
    occurrences: Counter[tuple[str, str]],
) -> tuple[ToolRun, ...]:
    """Run one round of calls; `occurrences` counts identical calls across the rounds of
    one attempt (the caller keeps it) so their keys stay distinct and reproducible."""
    prepared = [_prepare(call, tools, scope, occurrences) for call in calls]
    runs = await asyncio.gather(*(_run(p, round_number) for p in prepared))
    return tuple(runs)


@dataclass(frozen=True, slots=True)
class _Prepared:
    call: ToolCall
    tool: Tool | None
    arguments: str
    key: str | None
    context: ToolContext | None
    error: str | None
    bound: BoundCall | None = None


def _prepare(
    call: ToolCall,
    tools: Mapping[str, Tool],
    scope: CallScope,
    occurrences: Counter[tuple[str, str]],
) -> _Prepared:
    tool = tools.get(call.name)
    given = canonical_json(dict(call.arguments))
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        why = f"unknown tool {call.name!r} (tools available: {known})"
        return _Prepared(call, None, given, None, None, why)
    try:
        bound = tool.bind(call.arguments)
    except ValidationError as exc:
        why = f"invalid arguments for {call.name}: {_validation_summary(exc)}"
        return _Prepared(call, tool, given, None, None, why)
    arguments = canonical_json(dict(bound.arguments))
    occurrence = occurrences[(call.name, arguments)]
    occurrences[(call.name, arguments)] += 1
    key = idempotency_key(scope.task_id, call.name, arguments, occurrence)
    context = ToolContext(
        task_id=scope.task_id,
        request_id=scope.request_id,
        tenant=scope.tenant,
        agent=scope.agent,
        tool=call.name,
        call_id=call.id,
        idempotency_key=key,
    )
    return _Prepared(call, tool, arguments, key, context, None, bound)


async def _run(prepared: _Prepared, round_number: int) -> ToolRun:
    call, tool = prepared.call, prepared.tool
    key = prepared.key if tool is not None and tool.side_effects else None
    bound, context = prepared.bound, prepared.context
    if prepared.error is not None or tool is None or bound is None or context is None:
        return ToolRun(
            call.name, prepared.arguments, None, prepared.error, 0.0, key, call.id, round_number
        )
    started = time.perf_counter()
    result: str | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(tool.timeout_s):
            value = await bound.run(context)
        result = to_json(value).decode()
    except TimeoutError:
        error = f"{call.name} did not finish within {tool.timeout_s:g}s"
    except ToolError as exc:
        error = exc.message
    except PydanticSerializationError as exc:
        error = f"{call.name} returned a value that is not JSON-serialisable ({exc})"
    except Exception as exc:  # noqa: BLE001  # a tool's bug is reported to the model and recorded, not raised
        error = f"{call.name} failed: {type(exc).__name__}: {exc}"
    latency_ms = (time.perf_counter() - started) * 1000.0
    if error is not None:
        error = error[:_ERROR_CHARS]
    return ToolRun(
        call.name, prepared.arguments, result, error, latency_ms, key, call.id, round_number
    )


def _validation_summary(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
        for err in exc.errors(include_url=False)
    ]
    return "; ".join(parts)
