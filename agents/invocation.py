"""The one path by which an agent calls a model, and everything that keeps it healthy.

Per agent: cache lookup → tier choice → for each attempt: budget reservation → circuit
breaker → provider call (and, while the model asks for tools, running them and calling
it again with the results, up to `max_tool_rounds`) → output checks, with perturbing
retries between attempts
(tenacity) → on exhaustion or an open breaker, the agent's fallback through the same
path. `invoke` never raises for model failures: every attempt (cache hits and calls
the breaker or budget refused included) becomes an `AttemptRecord`, one `Invocation`
event each, and the whole call an `InvocationOutcome` (the `AgentResult`), whose
`status` says what the user gets: ok, degraded (a fallback answered, with a
disclaimer), partial (the token budget cut the answer short) or failed (with why).

State that must outlive a call (breakers, cache) lives in `InvocationDeps`: one per
replica, built on a `BreakerBoard` and a `CacheStore` every replica shares.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from string import Template
from types import MappingProxyType
from typing import Literal

from agents.budget import Reservation, TokenBudget
from agents.cache import CacheEntry, CacheStore, LocalCacheStore, cache_key
from agents.errors import ContractBreach, MalformedOutput, ModelTimeout, ProviderError
from agents.pricing import cost_usd, is_priced
from agents.providers._http import encode_tool_call, transcript_tokens
from agents.providers.base import (
    ModelProvider,
    ModelRequest,
    ModelResponse,
    ToolExchange,
    typed_calls,
)
from agents.resilience.breaker import (
    Admission,
    BreakerBoard,
    BreakerRegistry,
    BreakerTransition,
    CircuitBreaker,
    LocalBreakerBoard,
)
from agents.retry import AttemptPlan, RetryPolicy, iter_attempts
from agents.spec import AgentSpec
from agents.tiering import choose_tier
from agents.tokens import estimate_tokens
from agents.tools.run import CallScope, ToolRun, run_calls
from agents.tools.toolbox import AgentTools, Toolbox

__all__ = [
    "AttemptOutcome",
    "AttemptRecord",
    "FallbackResolver",
    "InvocationContext",
    "InvocationDeps",
    "InvocationOutcome",
    "InvocationStatus",
    "OutputValidator",
    "ProviderResolver",
    "invoke",
]

AttemptOutcome = Literal["ok", "partial", "error", "timeout", "malformed", "cached", "skipped"]
"""What one attempt came to; "skipped": the breaker or the budget refused the call,
"partial": the answer was cut short by the token budget."""
InvocationStatus = Literal["ok", "degraded", "partial", "failed"]

FallbackResolver = Callable[[str], AgentSpec]
"""Looks an agent up by name, e.g. `AgentSystem.get`."""
ProviderResolver = Callable[[str], ModelProvider]
"""The provider an agent calls, by agent name (its endpoint's pooled provider)."""
OutputValidator = Callable[[AgentSpec, str], "str | None"]
"""Returns why `output` breaks `spec`'s output contract, or None if it is fine."""

_EMPTY: Mapping[str, str] = MappingProxyType({})
# ProviderError kinds with an outcome of their own; every other kind is an "error".
_OUTCOMES: Mapping[str, AttemptOutcome] = {"timeout": "timeout", "malformed": "malformed"}
# A budget grant leaving the model fewer output tokens than this is refused: such a
# call could not say anything useful and would only spend the rest of the budget.
_MIN_OUTPUT_TOKENS = 16


@dataclass(frozen=True, slots=True)
class InvocationContext:
    """Who an invocation is for; carried to the provider as request metadata."""

    request_id: str
    task_id: str
    tenant: str = "default"
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt. Every field except `priced`, `at` and `contract_violation` is a field
    of the `Invocation` Avro record, under the same name; the caller adds the event
    envelope and ids.
    """

    agent: str
    """The agent this attempt ran for (the fallback's name on its attempts)."""
    agent_version: str
    attempt: int
    """1-based position within the invocation, fallback attempts included: unique per call."""
    provider: str
    model: str
    tier: str
    outcome: AttemptOutcome
    error: str | None
    input: str
    """The user input as sent (rephrased on a retry); the system prompt is identified by
    agent and version."""
    output: str | None
    temperature: float
    input_tokens: int
    output_tokens: int
    latency_ms: float
    """Wall time of the attempt as seen by the caller."""
    cost_usd: float
    tool_calls: tuple[str, ...] = ()
    """Every tool call the model asked for in this attempt, JSON-encoded, in order."""
    cache_hit: bool = False
    breaker_state: str | None = None
    """Breaker state the call was made or refused under; "half_open" marks the probe."""
    budget_used: int | None = None
    """Tokens of the agent's budget spent once this attempt settled; None without a budget."""
    perturbation: str | None = None
    """What this retry changed from the previous attempt, e.g. "temperature 0.2→0.5"."""
    decision: str | None = None
    """Why this agent/tier/model and output cap: fallback, tier choice, budget cut."""
    priced: bool = True
    """False when the model has no known price, so `cost_usd` is 0 for want of one."""
    at: float = 0.0
    """When the attempt ended (the deps clock, epoch seconds): events carry it as their time."""
    contract_violation: str | None = None
    """Why the output broke the agent's output contract (a `ContractBreach`), else None."""
    tool_runs: tuple[ToolRun, ...] = ()
    """The tool calls this attempt ran and what each came to; the model calls of all its
    tool rounds are summed into the tokens, cost and latency above."""


@dataclass(frozen=True, slots=True)
class InvocationOutcome:
    """The result of `invoke`; maps onto the `AgentResult` Avro record.

    Tokens and cost are summed over all attempts (failed attempts cost money too);
    `latency_ms` is the wall time of the whole invocation, backoff included.
    """

    status: InvocationStatus
    agent: str
    """The agent whose output this is (the fallback when degraded); the agent asked
    when none answered."""
    output: str | None
    error: str | None
    """Why the result failed, degraded or is partial; None when ok."""
    disclaimer: str | None
    """Note for the user on a degraded or partial result."""
    attempts: tuple[AttemptRecord, ...]
    model: str
    """Model of the last attempt."""
    tier: str
    """Tier of the agent run that produced the result."""
    decision: str | None
    """Why that agent, tier and model were used."""
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    breaker_transitions: tuple[BreakerTransition, ...] = ()
    """Breaker state changes this invocation caused, in order; each is an event."""

    @property
    def attempt_count(self) -> int:
        """Model calls made, retries and fallback included (`AgentResult.attempts`)."""
        return sum(1 for a in self.attempts if a.outcome not in ("cached", "skipped"))

    @property
    def requested_agent(self) -> str:
        """The agent that was asked (differs from `agent` when a fallback answered)."""
        return self.attempts[0].agent if self.attempts else self.agent

    @property
    def cache_hit(self) -> bool:
        """Whether the output came from the result cache."""
        return any(a.cache_hit for a in self.attempts)


class InvocationDeps:
    """What invocations share across calls: one per replica (process), long-lived.

    `providers` resolves the provider of each agent (a fallback may call another
    endpoint than the agent it stands in for); without it the provider given to
    `invoke` serves every agent.
    `board` and `cache` may be shared by every replica (the defaults are in-process);
    the breakers built on `board` keep this replica's failure counts. `fallbacks`
    resolves `AgentSpec.fallback` names (pass `AgentSystem.get`); without it no
    fallback runs. `clock` (a `time.time()`-like wall clock, comparable across
    replicas) and `sleep` (the backoff wait) are injectable for tests. `tools` runs
    the tools agents call (`Toolbox.of(system)`); without it tools are offered by name
    only and every call is answered with an error.
    """

    def __init__(
        self,
        *,
        board: BreakerBoard | None = None,
        cache: CacheStore | None = None,
        fallbacks: FallbackResolver | None = None,
        providers: ProviderResolver | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tools: Toolbox | None = None,
    ) -> None:
        self.tools = tools
        self.clock = clock
        self.sleep = sleep
        self.fallbacks = fallbacks
        self.providers = providers
        self.board: BreakerBoard = board if board is not None else LocalBreakerBoard()
        self.cache: CacheStore = cache if cache is not None else LocalCacheStore(clock=clock)
        self.breakers = BreakerRegistry(self.board, clock=clock)


async def invoke(
    spec: AgentSpec,
    provider: ModelProvider,
    input_text: str,
    *,
    context: InvocationContext,
    deps: InvocationDeps | None = None,
    budget: TokenBudget | None = None,
    validate_output: OutputValidator | None = None,
    retry: RetryPolicy | None = None,
) -> InvocationOutcome:
    """Run `spec` on `input_text` through `provider`, with every safeguard, and account
    for every attempt.

    `deps`: the replica's breakers, cache and fallback resolver; None gives fresh
    in-process ones, which remember nothing between calls. `budget`: a token budget
    shared with other calls (e.g. one per workflow), used for this agent instead of
    a fresh `TokenBudget(spec.budget_tokens)`; a fallback always gets its own.
    `validate_output`: the output contract check; a violation is a malformed attempt,
    retried with perturbation, then the fallback. `retry`: replaces `spec.retry` for
    this call (not for the fallback).

    Retriable `ProviderError`s are retried up to the policy's attempts, each retry
    perturbed; a non-retriable one, an open breaker or exhausted attempts go to the
    fallback chain (each agent at most once: `AgentSystem` rules out loops, and a
    visited set guards specs from elsewhere). A budget refusal does not: the budget
    is the cost ceiling. Each attempt is bounded by `spec.limits.timeout_s` even if
    the provider ignores it. Exceptions that are not `ProviderError`s are bugs and
    propagate.
    """
    run = _Invocation(deps or InvocationDeps(), provider, context, validate_output)
    started = time.perf_counter()
    if retry is not None:
        spec = spec.model_copy(update={"retry": retry})
    primary = await run.agent(spec, input_text, budget, standing_in_for=None)
    final, answering = primary, spec
    tried = {spec.name}
    resolver = run.deps.fallbacks
    while final.status == "unavailable" and answering.fallback is not None:
        if resolver is None or answering.fallback in tried:
            break
        answering = resolver(answering.fallback)
        tried.add(answering.name)
        final = await run.agent(answering, input_text, None, standing_in_for=spec.name)

    status, error, disclaimer = _verdict(spec, primary, answering, final, resolver is not None)
    attempts = tuple(run.attempts)
    return InvocationOutcome(
        status=status,
        agent=answering.name if status != "failed" else spec.name,
        output=final.output if status != "failed" else None,
        error=error,
        disclaimer=disclaimer,
        attempts=attempts,
        model=attempts[-1].model,
        tier=final.tier,
        decision=final.decision,
        input_tokens=sum(a.input_tokens for a in attempts),
        output_tokens=sum(a.output_tokens for a in attempts),
        cost_usd=sum(a.cost_usd for a in attempts),
        latency_ms=(time.perf_counter() - started) * 1000.0,
        breaker_transitions=tuple(run.transitions),
    )


_RunStatus = Literal["ok", "partial", "unavailable", "refused"]


@dataclass(frozen=True, slots=True)
class _AgentRun:
    """How one agent's part of an invocation ended."""

    status: _RunStatus
    output: str | None
    error: str | None
    tier: str
    decision: str | None


class _Refused(Exception):
    """The budget or the breaker refused a call: not retried (tenacity re-raises it)."""

    def __init__(self, reason: str, *, by: Literal["budget", "breaker"]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.by = by


@dataclass(slots=True)
class _Tries:
    count: int = 0


class _Invocation:
    """The mutable state of one `invoke` call: its records and transitions."""

    def __init__(
        self,
        deps: InvocationDeps,
        provider: ModelProvider,
        context: InvocationContext,
        validate_output: OutputValidator | None,
    ) -> None:
        self.deps = deps
        self.provider = provider
        self.context = context
        self.validate_output = validate_output
        self.attempts: list[AttemptRecord] = []
        self.transitions: list[BreakerTransition] = []
        self._numbers = itertools.count(1)

    async def agent(
        self,
        spec: AgentSpec,
        input_text: str,
        budget: TokenBudget | None,
        *,
        standing_in_for: str | None,
    ) -> _AgentRun:
        fallback_note = f"fallback for {standing_in_for}" if standing_in_for else None
        key: str | None = None
        if spec.cache_ttl_s is not None:
            key = cache_key(spec.name, spec.version, self.context.tenant, input_text)
            entry = self.deps.cache.get(key)
            if entry is not None and entry.fresh(self.deps.clock()):
                return self._cached(spec, entry, input_text, fallback_note)

        if spec.tiers is not None:
            choice = choose_tier(spec.tiers, input_text)
            tier, model, tier_reason = choice.tier, choice.model, f"tier {choice.reason}"
        else:
            tier, model, tier_reason = spec.tier, spec.model, None
        decision = "; ".join(n for n in (fallback_note, tier_reason) if n) or None
        if budget is None and spec.budget_tokens is not None:
            budget = TokenBudget(spec.budget_tokens)
        attempts = spec.retry.attempts or spec.limits.max_attempts
        plans = iter_attempts(
            spec.retry, input_text=input_text, temperature=spec.temperature, model=model
        )
        call = _AgentCall(self, spec, tier, decision, budget, await self._tools_for(spec))
        tries = _Tries()

        async def next_attempt() -> _AgentRun:
            tries.count += 1
            return await call.attempt(next(plans), tries.count)

        try:
            run: _AgentRun = await spec.retry.retrying(attempts, sleep=self.deps.sleep)(
                next_attempt
            )
        except _Refused as refused:
            status: _RunStatus = "refused" if refused.by == "budget" else "unavailable"
            return _AgentRun(status, None, refused.reason, tier, decision)
        except ProviderError as exc:
            last = f"{type(exc).__name__}: {exc}"
            if exc.retriable:
                why = f"all {tries.count} attempts failed; last: {last}"
            else:
                why = f"attempt {tries.count} failed and cannot be retried: {last}"
            return _AgentRun("unavailable", None, why, tier, decision)
        record = self.attempts[-1] if self.attempts else None
        side_effects = record is not None and any(
            r.idempotency_key is not None for r in record.tool_runs
        )
        # An answer that changed the world is not replayed to the next asker: it would
        # claim an effect that did not happen for them.
        if run.status == "ok" and key is not None and run.output is not None and record:
            if side_effects:
                return run
            await self.deps.cache.put(
                key,
                CacheEntry(
                    output=run.output,
                    agent=spec.name,
                    agent_version=spec.version,
                    model=record.model,
                    stored_at=self.deps.clock(),
                    ttl_s=spec.cache_ttl_s or 0.0,
                    provider=record.provider,
                    tier=record.tier,
                    tool_calls=record.tool_calls,
                ),
            )
        return run

    def number(self) -> int:
        return next(self._numbers)

    async def _tools_for(self, spec: AgentSpec) -> AgentTools:
        if self.deps.tools is None or not spec.tools:
            # No toolbox: plain names are offered as before tools could run.
            return AgentTools(offered=tuple(n for n in spec.tools if ":" not in n))
        return await self.deps.tools.resolve(spec.tools, agent=spec.name)

    def provider_for(self, agent: str) -> ModelProvider:
        """The provider `agent` calls: its endpoint's when the deps resolve providers."""
        if self.deps.providers is not None:
            return self.deps.providers(agent)
        return self.provider

    def _cached(
        self, spec: AgentSpec, entry: CacheEntry, input_text: str, fallback_note: str | None
    ) -> _AgentRun:
        age = self.deps.clock() - entry.stored_at
        note = f"served from the result cache (stored {age:.0f}s ago, ttl {entry.ttl_s:g}s)"
        decision = "; ".join(n for n in (fallback_note, note) if n)
        tier = entry.tier or spec.tier
        self.attempts.append(
            AttemptRecord(
                agent=spec.name,
                agent_version=spec.version,
                attempt=self.number(),
                provider=entry.provider or "cache",
                model=entry.model,
                tier=tier,
                outcome="cached",
                at=self.deps.clock(),
                error=None,
                input=input_text,
                output=entry.output,
                temperature=spec.temperature,
                input_tokens=0,
                output_tokens=0,
                latency_ms=0.0,
                cost_usd=0.0,
                tool_calls=entry.tool_calls,
                cache_hit=True,
                decision=decision,
            )
        )
        return _AgentRun("ok", entry.output, None, tier, decision)


class _AgentCall:
    """Makes the attempts of one agent within an invocation."""

    def __init__(
        self,
        run: _Invocation,
        spec: AgentSpec,
        tier: str,
        decision: str | None,
        budget: TokenBudget | None,
        tools: AgentTools,
    ) -> None:
        self.run = run
        self.spec = spec
        self.tools = tools
        self.tier = tier
        self.decision = decision
        self.budget = budget
        self.system_prompt = spec.render_prompt(tenant=run.context.tenant)
        context = run.context
        self.metadata = MappingProxyType(
            {
                **context.metadata,
                "agent": spec.name,
                "agent_version": spec.version,
                "tier": tier,
                "tenant": context.tenant,
                "request_id": context.request_id,
                "task_id": context.task_id,
            }
        )

    async def attempt(self, plan: AttemptPlan, try_number: int) -> _AgentRun:
        """One attempt; returns on an answer, raises the `ProviderError` or `_Refused`."""
        number = self.run.number()
        reservation, cap, decision = await self._reserve(plan, number)
        breaker, admission = await self._admit(plan, number, reservation, decision)
        rounds = _Rounds(
            request=self._request(plan, cap, try_number, ()),
            cap=cap,
            decision=decision,
            reservation=reservation,
        )
        started = time.perf_counter()
        try:
            await self._converse(plan, try_number, rounds)
        except ProviderError as exc:
            rounds.failure = exc
        except BaseException:
            # A provider bug or a cancellation: give the reservation back. A probe left
            # unreported is replaced by another after one cooldown.
            self._settle(rounds.reservation, 0)
            breaker.abandon(admission)
            raise
        latency_ms = (time.perf_counter() - started) * 1000.0
        ended_at = self.run.deps.clock()  # before the breaker reacts to this very call
        self._settle(rounds.reservation, 0)
        response, failure = rounds.response, rounds.failure
        if response is not None and failure is None:
            failure = self._check_output(response, rounds.request, truncated=rounds.truncated)

        if failure is None:
            transition = await breaker.record_success(admission)
        else:
            transition = await breaker.record_failure(
                admission, f"{type(failure).__name__}: {failure}"
            )
        if transition is not None:
            self.run.transitions.append(transition)

        self.run.attempts.append(
            self._record(
                number,
                plan,
                failure,
                rounds,
                latency_ms=latency_ms,
                breaker_state=admission.state,
                ended_at=ended_at,
            )
        )
        if failure is not None:
            raise failure
        if response is None:  # unreachable: no failure means the model answered
            raise AssertionError("the provider returned neither a response nor an error")
        if rounds.truncated:
            why = rounds.short or (
                f"answer cut short at {rounds.cap} output tokens by the token budget of "
                f"{self.budget.limit if self.budget is not None else '?'} tokens"
            )
            return _AgentRun("partial", response.text, why, self.tier, rounds.decision)
        return _AgentRun("ok", response.text, None, self.tier, rounds.decision)

    async def _converse(self, plan: AttemptPlan, try_number: int, rounds: _Rounds) -> None:
        """Call the model, and while it asks for tools run them and call it again with
        the results; raises the model call's `ProviderError`."""
        limit = self.spec.limits.max_tool_rounds
        provider = self.run.provider_for(self.spec.name)
        while True:
            rounds.response = None
            response = await _call(provider, rounds.request, agent=self.spec.name)
            rounds.add(response)
            self._settle(rounds.reservation, response.input_tokens + response.output_tokens)
            rounds.reservation = None
            rounds.truncated = self._truncated(response, rounds.cap)
            calls = typed_calls(response)
            # An agent none of whose tools can run (named, implemented nowhere) keeps the
            # answer it got: running nothing would only cost another call.
            if not calls or rounds.truncated or limit == 0 or not self.tools.runnable:
                return
            if len(rounds.exchanges) >= limit:
                rounds.failure = MalformedOutput(
                    f"{rounds.request.model} still asked for tools after {limit} tool rounds",
                    output=response.text,
                    agent=self.spec.name,
                    model=rounds.request.model,
                )
                return
            runs = await run_calls(
                calls,
                self.tools.runnable,
                self._scope(),
                round_number=len(rounds.exchanges) + 1,
                occurrences=rounds.occurrences,
            )
            rounds.runs.extend(runs)
            results = tuple(run.as_result() for run in runs)
            rounds.exchanges.append(ToolExchange(response.text, calls, results))
            request = self._request(plan, rounds.cap, try_number, tuple(rounds.exchanges))
            reservation, cap, short = await self._reserve_round(request)
            if short is not None:
                # The budget cannot pay for another model call: the tools ran, but the
                # model never saw their results. The last text is all there is.
                rounds.truncated, rounds.short = True, short
                rounds.decision = f"{rounds.decision}; {short}" if rounds.decision else short
                return
            rounds.request, rounds.reservation, rounds.cap = request, reservation, cap

    def _request(
        self,
        plan: AttemptPlan,
        cap: int,
        try_number: int,
        transcript: tuple[ToolExchange, ...],
    ) -> ModelRequest:
        return ModelRequest(
            model=plan.model,
            system_prompt=self.system_prompt,
            input_text=plan.input_text,
            temperature=plan.temperature,
            max_output_tokens=cap,
            timeout_s=self.spec.limits.timeout_s,
            attempt=try_number,
            tools=self.tools.offered,
            tool_specs=self.tools.specs,
            transcript=transcript,
            metadata=self.metadata,
            output_model=self.spec.output_model,
        )

    def _scope(self) -> CallScope:
        context = self.run.context
        return CallScope(
            task_id=context.task_id,
            request_id=context.request_id,
            tenant=context.tenant,
            agent=self.spec.name,
        )

    async def _reserve_round(
        self, request: ModelRequest
    ) -> tuple[Reservation | None, int, str | None]:
        """Reserve the next tool round's model call: the reservation, the output cap, and
        why the budget cannot pay for it (None when it can)."""
        cap = self.spec.limits.max_output_tokens
        budget = self.budget
        if budget is None:
            return None, cap, None
        estimate = (
            estimate_tokens(self.system_prompt)
            + estimate_tokens(request.input_text)
            + transcript_tokens(request)
        )
        reservation = await budget.acquire(estimate + cap, minimum=estimate + _MIN_OUTPUT_TOKENS)
        if reservation.refused:
            return (
                None,
                cap,
                (
                    f"token budget exhausted after tool round {len(request.transcript)}: "
                    f"{budget.remaining} of {budget.limit} tokens left"
                ),
            )
        return reservation, min(cap, reservation.granted - estimate), None

    async def _reserve(
        self, plan: AttemptPlan, number: int
    ) -> tuple[Reservation | None, int, str | None]:
        """Reserve this attempt's tokens: the reservation, the output cap, the decision."""
        cap = self.spec.limits.max_output_tokens
        budget = self.budget
        if budget is None:
            return None, cap, self.decision
        estimate = estimate_tokens(self.system_prompt) + estimate_tokens(plan.input_text)
        reservation = await budget.acquire(estimate + cap, minimum=estimate + _MIN_OUTPUT_TOKENS)
        if reservation.refused:
            reason = (
                f"token budget exhausted: {budget.remaining} of {budget.limit} tokens left, "
                f"this call needs at least {estimate + _MIN_OUTPUT_TOKENS}"
            )
            self._skip(plan, number, reason, breaker_state=None, decision=self.decision)
            raise _Refused(reason, by="budget")
        if not reservation.capped:
            return reservation, cap, self.decision
        cap = reservation.granted - estimate
        cut = f"output capped at {cap} tokens by the token budget of {budget.limit}"
        return reservation, cap, f"{self.decision}; {cut}" if self.decision else cut

    async def _admit(
        self,
        plan: AttemptPlan,
        number: int,
        reservation: Reservation | None,
        decision: str | None,
    ) -> tuple[CircuitBreaker, Admission]:
        """Ask the breaker of (agent, model); raises `_Refused` when it is open."""
        breaker = self.run.deps.breakers.get(self.spec.name, plan.model, self.spec.breaker)
        admission = await breaker.admit()
        if admission.transition is not None:
            self.run.transitions.append(admission.transition)
        if not admission.allowed:
            self._settle(reservation, 0)
            reason = admission.reason or f"circuit {admission.state} for {breaker.key}"
            self._skip(plan, number, reason, breaker_state=admission.state, decision=decision)
            raise _Refused(reason, by="breaker")
        return breaker, admission

    def _settle(self, reservation: Reservation | None, tokens: int) -> None:
        if reservation is not None and self.budget is not None:
            self.budget.settle(reservation, tokens)

    def _truncated(self, response: ModelResponse, cap: int) -> bool:
        """Whether the budget's cap (not the agent's own limit) cut the answer."""
        return cap < self.spec.limits.max_output_tokens and response.output_tokens >= cap

    def _record(
        self,
        number: int,
        plan: AttemptPlan,
        failure: ProviderError | None,
        rounds: _Rounds,
        *,
        latency_ms: float,
        breaker_state: str,
        ended_at: float,
    ) -> AttemptRecord:
        request, response = rounds.request, rounds.response
        model = response.model if response is not None else request.model
        input_tokens, output_tokens = rounds.input_tokens, rounds.output_tokens
        output = response.text if response is not None else None
        if isinstance(failure, MalformedOutput) and output is None:
            output = failure.output
        outcome: AttemptOutcome = "partial" if rounds.truncated else "ok"
        if failure is not None:
            outcome = _outcome_of(failure)
        return AttemptRecord(
            agent=self.spec.name,
            agent_version=self.spec.version,
            attempt=number,
            provider=self.run.provider_for(self.spec.name).name,
            model=model,
            tier=self.tier,
            outcome=outcome,
            at=ended_at,
            error=None if failure is None else f"{type(failure).__name__}: {failure}",
            input=request.input_text,
            output=output,
            temperature=request.temperature,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            latency_ms=latency_ms,
            cost_usd=cost_usd(model, input_tokens, output_tokens),
            tool_calls=tuple(rounds.tool_calls),
            tool_runs=tuple(rounds.runs),
            breaker_state=breaker_state,
            budget_used=self.budget.used if self.budget is not None else None,
            perturbation=plan.perturbation,
            decision=rounds.decision,
            priced=is_priced(model),
            contract_violation=(failure.violation if isinstance(failure, ContractBreach) else None),
        )

    def _check_output(
        self, response: ModelResponse, request: ModelRequest, *, truncated: bool
    ) -> ProviderError | None:
        spec = self.spec
        reason = _malformed_reason(response.text, truncated=truncated)
        if reason is not None:
            return MalformedOutput(
                f"{request.model} returned {reason}",
                output=response.text,
                agent=spec.name,
                model=request.model,
            )
        # A budget-truncated answer is the best partial result, returned as such
        # (status "partial"); holding it to the full contract would discard it.
        if self.run.validate_output is not None and not truncated:
            violation = self.run.validate_output(spec, response.text)
            if violation is not None:
                return ContractBreach(
                    f"output breaks the contract of {spec.name}: {violation}",
                    violation=violation,
                    output=response.text,
                    agent=spec.name,
                    model=request.model,
                )
        return None

    def _skip(
        self,
        plan: AttemptPlan,
        number: int,
        reason: str,
        *,
        breaker_state: str | None,
        decision: str | None = None,
    ) -> None:
        budget = self.budget
        self.run.attempts.append(
            AttemptRecord(
                agent=self.spec.name,
                agent_version=self.spec.version,
                attempt=number,
                provider=self.run.provider_for(self.spec.name).name,
                model=plan.model,
                tier=self.tier,
                outcome="skipped",
                at=self.run.deps.clock(),
                error=reason,
                input=plan.input_text,
                output=None,
                temperature=plan.temperature,
                input_tokens=0,
                output_tokens=0,
                latency_ms=0.0,
                cost_usd=0.0,
                breaker_state=breaker_state,
                budget_used=budget.used if budget is not None else None,
                perturbation=plan.perturbation,
                decision=decision or self.decision,
                priced=is_priced(plan.model),
            )
        )


@dataclass(slots=True)
class _Rounds:
    """The state of one attempt's conversation: its model calls, tool rounds included,
    and what they added up to."""

    request: ModelRequest
    """The last request made (or about to be)."""
    cap: int
    decision: str | None
    reservation: Reservation | None
    response: ModelResponse | None = None
    """The last answer; None when the last call failed."""
    failure: ProviderError | None = None
    truncated: bool = False
    short: str | None = None
    """Why the budget stopped the tool rounds, if it did."""
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: list[str] = field(default_factory=list)
    runs: list[ToolRun] = field(default_factory=list)
    exchanges: list[ToolExchange] = field(default_factory=list)
    occurrences: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, response: ModelResponse) -> None:
        self.response = response
        self.input_tokens += response.input_tokens
        self.output_tokens += response.output_tokens
        self.tool_calls.extend(
            response.tool_calls or [encode_tool_call(c.name, c.arguments) for c in response.calls]
        )


def _verdict(
    spec: AgentSpec,
    primary: _AgentRun,
    answering: AgentSpec,
    final: _AgentRun,
    can_fall_back: bool,
) -> tuple[InvocationStatus, str | None, str | None]:
    """Status, error and disclaimer of the whole invocation."""
    if answering is spec:
        if final.status == "ok":
            return "ok", None, None
        if final.status == "partial":
            return "partial", final.error, _PARTIAL_NOTE
        error = final.error
        if final.status == "unavailable" and spec.fallback is not None and not can_fall_back:
            error = f"{error}; fallback {spec.fallback!r} not tried: no fallback resolver given"
        return "failed", error, None
    why = f"{spec.name} could not answer ({primary.error})"
    if final.status in ("ok", "partial"):
        note = _degraded_note(spec, answering.name)
        error = f"{why}; answered by fallback {answering.name}"
        if final.status == "partial":
            return "partial", f"{error}, {final.error}", f"{note} {_PARTIAL_NOTE}"
        return "degraded", error, note
    return "failed", f"{why}; fallback {answering.name} failed too ({final.error})", None


_PARTIAL_NOTE = "This answer was cut short by its token budget and may be incomplete."


def _degraded_note(spec: AgentSpec, fallback: str) -> str:
    if spec.disclaimer is not None:
        return Template(spec.disclaimer).substitute(agent=spec.name, fallback=fallback)
    return (
        f"Answered by the {fallback} assistant because the {spec.name} specialist is "
        "unavailable right now; details may be less precise."
    )


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


def _malformed_reason(text: str, *, truncated: bool = False) -> str | None:
    """Why `text` is not usable output, or None. Output contracts refine this."""
    stripped = text.strip()
    if not stripped:
        return "empty output" if not text else "blank output"
    # A model that starts answering in JSON and gets cut off produces text that looks
    # like JSON but does not parse; passing it on would corrupt whatever consumes it.
    # Unless the budget cut it on purpose: then it is the partial result, marked so.
    if stripped[0] in "{[" and not truncated:
        try:
            json.loads(stripped)
        except ValueError:
            return "truncated or invalid JSON"
    return None
