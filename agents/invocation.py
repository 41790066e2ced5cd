"""The one path by which an agent calls a model: request, retries, validation, records.

`invoke` never raises for model failures: every attempt becomes an `AttemptRecord`
(one `Invocation` event each) and the whole call an `InvocationOutcome` (the
`AgentResult`), whose `status` says whether an answer came out. Later stages (cache,
budget, circuit breaker, perturbing retries, fallback agents, output contracts) wrap
or replace the steps below without changing these two records' shape.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from agents.errors import MalformedOutput, ModelTimeout, ProviderError
from agents.pricing import cost_usd, is_priced
from agents.providers.base import ModelProvider, ModelRequest, ModelResponse
from agents.retry import RetryPolicy
from agents.spec import AgentSpec

__all__ = [
    "AttemptOutcome",
    "AttemptRecord",
    "InvocationContext",
    "InvocationOutcome",
    "InvocationStatus",
    "invoke",
]

AttemptOutcome = Literal["ok", "error", "timeout", "malformed"]
InvocationStatus = Literal["ok", "failed"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
# ProviderError kinds with an outcome of their own; every other kind is an "error".
_OUTCOMES: Mapping[str, AttemptOutcome] = {"timeout": "timeout", "malformed": "malformed"}


@dataclass(frozen=True, slots=True)
class InvocationContext:
    """Who an invocation is for; carried to the provider as request metadata."""

    request_id: str
    task_id: str
    tenant: str = "default"
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One model attempt. Every field except `priced` is a field of the `Invocation`
    Avro record, under the same name; the caller adds the event envelope and ids.
    """

    agent: str
    agent_version: str
    attempt: int
    provider: str
    model: str
    tier: str
    outcome: AttemptOutcome
    error: str | None
    input: str
    """The user input as sent; the system prompt is identified by agent and version."""
    output: str | None
    temperature: float
    input_tokens: int
    output_tokens: int
    latency_ms: float
    """Wall time of the attempt as seen by the caller."""
    cost_usd: float
    tool_calls: tuple[str, ...] = ()
    cache_hit: bool = False
    breaker_state: str | None = None
    budget_used: int | None = None
    priced: bool = True
    """False when the model has no known price, so `cost_usd` is 0 for want of one."""


@dataclass(frozen=True, slots=True)
class InvocationOutcome:
    """The result of `invoke`; maps onto the `AgentResult` Avro record.

    Tokens and cost are summed over all attempts (failed attempts cost money too);
    `latency_ms` is the wall time of the whole invocation, backoff included.
    """

    status: InvocationStatus
    agent: str
    output: str | None
    error: str | None
    attempts: tuple[AttemptRecord, ...]
    model: str
    """Model of the last attempt."""
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float

    @property
    def attempt_count(self) -> int:
        """Model attempts made, including retries (`AgentResult.attempts`)."""
        return len(self.attempts)


async def invoke(
    spec: AgentSpec,
    provider: ModelProvider,
    input_text: str,
    *,
    context: InvocationContext,
    retry: RetryPolicy | None = None,
) -> InvocationOutcome:
    """Run `spec` on `input_text` through `provider` and account for every attempt.

    Retriable `ProviderError`s (and output that is empty or broken JSON) are retried up
    to `spec.limits.max_attempts`, waiting per `retry` (default `RetryPolicy()`); a
    non-retriable one stops at once. Each attempt is bounded by `spec.limits.timeout_s`
    even if the provider ignores it. Returns status "failed" with the reason rather than
    raising; exceptions that are not `ProviderError`s are bugs and propagate.
    """
    policy = retry if retry is not None else RetryPolicy()
    system_prompt = spec.render_prompt(tenant=context.tenant)
    metadata = MappingProxyType(
        {
            **context.metadata,
            "agent": spec.name,
            "agent_version": spec.version,
            "tier": spec.tier,
            "tenant": context.tenant,
            "request_id": context.request_id,
            "task_id": context.task_id,
        }
    )
    started = time.perf_counter()
    attempts: list[AttemptRecord] = []
    output: str | None = None
    error: str | None = None
    for number in range(1, spec.limits.max_attempts + 1):
        request = ModelRequest(
            model=spec.model,
            system_prompt=system_prompt,
            input_text=input_text,
            temperature=spec.temperature,
            max_output_tokens=spec.limits.max_output_tokens,
            timeout_s=spec.limits.timeout_s,
            attempt=number,
            tools=spec.tools,
            metadata=metadata,
        )
        record, retriable = await _attempt(spec, provider, request)
        attempts.append(record)
        if record.outcome == "ok":
            output = record.output
            break
        if not retriable:
            error = f"attempt {number} failed and cannot be retried: {record.error}"
            break
        if number == spec.limits.max_attempts:
            error = f"all {number} attempts failed; last: {record.error}"
            break
        await asyncio.sleep(policy.delay_s(number))

    return InvocationOutcome(
        status="ok" if output is not None else "failed",
        agent=spec.name,
        output=output,
        error=error,
        attempts=tuple(attempts),
        model=attempts[-1].model,
        input_tokens=sum(a.input_tokens for a in attempts),
        output_tokens=sum(a.output_tokens for a in attempts),
        cost_usd=sum(a.cost_usd for a in attempts),
        latency_ms=(time.perf_counter() - started) * 1000.0,
    )


async def _attempt(
    spec: AgentSpec, provider: ModelProvider, request: ModelRequest
) -> tuple[AttemptRecord, bool]:
    started = time.perf_counter()
    response: ModelResponse | None = None
    failure: ProviderError | None = None
    try:
        response = await _call(provider, request, agent=spec.name)
        reason = _malformed_reason(response.text)
        if reason is not None:
            failure = MalformedOutput(
                f"{request.model} returned {reason}",
                output=response.text,
                agent=spec.name,
                model=request.model,
            )
    except ProviderError as exc:
        failure = exc
    latency_ms = (time.perf_counter() - started) * 1000.0

    model = response.model if response is not None else request.model
    input_tokens = response.input_tokens if response is not None else 0
    output_tokens = response.output_tokens if response is not None else 0
    output = response.text if response is not None else None
    if isinstance(failure, MalformedOutput) and output is None:
        output = failure.output
    record = AttemptRecord(
        agent=spec.name,
        agent_version=spec.version,
        attempt=request.attempt,
        provider=provider.name,
        model=model,
        tier=spec.tier,
        outcome="ok" if failure is None else _outcome_of(failure),
        error=None if failure is None else f"{type(failure).__name__}: {failure}",
        input=request.input_text,
        output=output,
        temperature=request.temperature,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=latency_ms,
        cost_usd=cost_usd(model, input_tokens, output_tokens),
        tool_calls=response.tool_calls if response is not None else (),
        priced=is_priced(model),
    )
    return record, failure is None or failure.retriable


async def _call(provider: ModelProvider, request: ModelRequest, *, agent: str) -> ModelResponse:
    # Backstop for providers that ignore `timeout_s`. The grace lets a provider that does
    # honour it report its own, more precise, timeout first.
    scope = asyncio.timeout(request.timeout_s + max(0.05, 0.05 * request.timeout_s))
    try:
        async with scope:
            return await provider.complete(request)
    except TimeoutError:
        raise ModelTimeout(
            f"{request.model} did not answer within {request.timeout_s:g}s",
            timeout_s=request.timeout_s,
            agent=agent,
            model=request.model,
        ) from None


def _outcome_of(error: ProviderError) -> AttemptOutcome:
    return _OUTCOMES.get(error.kind, "error")


def _malformed_reason(text: str) -> str | None:
    """Why `text` is not usable output, or None. Output contracts will refine this."""
    stripped = text.strip()
    if not stripped:
        return "empty output" if not text else "blank output"
    # A model that starts answering in JSON and gets cut off produces text that looks
    # like JSON but does not parse; passing it on would corrupt whatever consumes it.
    if stripped[0] in "{[":
        try:
            json.loads(stripped)
        except ValueError:
            return "truncated or invalid JSON"
    return None
