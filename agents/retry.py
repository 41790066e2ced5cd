"""When to try a model call again, how long to wait first, and what to change.

Retrying an LLM call with the exact same input tends to reproduce the exact same
failure, so every retry perturbs the call: it rephrases the prompt, changes the
temperature or switches to an alternative model, one change per retry, in the order
the agent's `RetryPolicy` declares. `plan_attempts` lays the attempts out up front
(deterministically: the same failure retries the same way) and says on each what
changed, which is recorded on its `AttemptRecord`.

The mechanics (stop after N attempts, exponential backoff with jitter, retry only
retriable `ProviderError`s) are tenacity's; `RetryPolicy.retrying` builds them.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from string import Template
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from agents.errors import ProviderError, RateLimited

__all__ = [
    "DEFAULT_REPHRASINGS",
    "AttemptPlan",
    "PerturbationKind",
    "RetryPolicy",
    "is_retriable",
    "iter_attempts",
    "plan_attempts",
]

PerturbationKind = Literal["rephrase", "temperature", "model"]

DEFAULT_REPHRASINGS: tuple[str, ...] = (
    "Please answer the following customer request.\n\n$input",
    "$input\n\n(Answer in plain prose, in complete sentences.)",
)
"""Rephrasings tried by default; `$input` is the user's input."""


class RetryPolicy(BaseModel):
    """How an agent retries: how often, how long it waits, and what each retry changes.

    Retry k (k = 1, 2, ...) applies one change, starting from kind
    `order[(k - 1) % len(order)]` and moving along `order` past kinds that have
    nothing left to try. Changes accumulate: after a rephrase and a temperature step,
    the next retry keeps both and changes a third thing. When every option is used
    up a retry repeats the previous call (recorded as no perturbation).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int | None = Field(default=None, ge=1, le=10)
    """Attempts per invocation, the first one included; None: `AgentLimits.max_attempts`."""
    backoff_s: float = Field(default=0.2, ge=0.0)
    """Wait after the first failed attempt, before jitter."""
    multiplier: float = Field(default=2.0, ge=1.0)
    """Each further wait is this many times the previous one."""
    max_backoff_s: float = Field(default=5.0, ge=0.0)
    """No single wait is longer than this."""
    jitter_s: float = Field(default=0.1, ge=0.0)
    """Up to this much random extra wait, so replicas do not retry in lockstep."""
    rephrasings: tuple[str, ...] = DEFAULT_REPHRASINGS
    """Prompt rewrites, `string.Template`s of `$input`, tried in order."""
    temperatures: tuple[float, ...] = (0.5, 0.8)
    """Temperatures stepped through, in order (values equal to the current one are skipped)."""
    alternative_models: tuple[str, ...] = ()
    """Models switched to, in order (the current model is skipped)."""
    order: tuple[PerturbationKind, ...] = ("rephrase", "temperature", "model")
    """Which kind of change each successive retry starts from; kinds left out are never used."""

    @field_validator("rephrasings")
    @classmethod
    def _check_rephrasings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            template = Template(text)
            if not template.is_valid() or set(template.get_identifiers()) != {"input"}:
                raise ValueError(
                    f"rephrasing {text!r} must be a string.Template using $input and no other "
                    "placeholder (write $$ for a literal '$')"
                )
        return value

    @field_validator("temperatures")
    @classmethod
    def _check_temperatures(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 <= t <= 2.0 for t in value):
            raise ValueError(f"temperatures must be within [0, 2], got {value}")
        return value

    @field_validator("order")
    @classmethod
    def _check_order(cls, value: tuple[PerturbationKind, ...]) -> tuple[PerturbationKind, ...]:
        if not value:
            raise ValueError("order needs at least one perturbation kind")
        return value

    @classmethod
    def none(cls) -> RetryPolicy:
        """Retry immediately, without waiting (perturbations unchanged)."""
        return cls(backoff_s=0.0, max_backoff_s=0.0, jitter_s=0.0)

    def delay_s(self, failed_attempt: int) -> float:
        """Wait after attempt `failed_attempt` (1-based) failed, jitter not included."""
        return min(self.max_backoff_s, self.backoff_s * self.multiplier ** (failed_attempt - 1))

    def retrying(
        self, attempts: int, *, sleep: Callable[[float], Awaitable[None]]
    ) -> AsyncRetrying:
        """Tenacity controller: `attempts` tries, backoff per this policy, retriable errors only.

        A provider's `retry_after_s` (HTTP 429) lengthens the wait up to `max_backoff_s`;
        waiting longer would hold the request hostage, and the fallback is the better
        answer then. The last error is re-raised when attempts run out or it is not
        retriable.
        """
        backoff = wait_exponential_jitter(
            multiplier=self.backoff_s,
            exp_base=self.multiplier,
            max=self.max_backoff_s,
            jitter=self.jitter_s,
        )
        cap = self.max_backoff_s

        def wait(state: RetryCallState) -> float:
            delay = backoff(state)
            failed = state.outcome.exception() if state.outcome is not None else None
            if isinstance(failed, RateLimited) and failed.retry_after_s is not None:
                delay = max(delay, min(cap, failed.retry_after_s))
            return delay

        return AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait,
            retry=retry_if_exception(is_retriable),
            sleep=sleep,
            reraise=True,
        )


def is_retriable(error: BaseException) -> bool:
    """Whether another attempt may help: a `ProviderError` that says so."""
    return isinstance(error, ProviderError) and error.retriable


@dataclass(frozen=True, slots=True)
class AttemptPlan:
    """What one attempt sends, and what changed from the attempt before it."""

    input_text: str
    temperature: float
    model: str
    perturbation: str | None = None
    """e.g. "rephrased prompt (variant 2)"; None for the first attempt or when nothing was left."""


def plan_attempts(
    policy: RetryPolicy, *, input_text: str, temperature: float, model: str, attempts: int
) -> tuple[AttemptPlan, ...]:
    """The `attempts` calls an invocation may make, the first unperturbed."""
    plans = iter_attempts(policy, input_text=input_text, temperature=temperature, model=model)
    return tuple(itertools.islice(plans, attempts))


def iter_attempts(
    policy: RetryPolicy, *, input_text: str, temperature: float, model: str
) -> Iterator[AttemptPlan]:
    """`plan_attempts` as an endless lazy sequence: an invocation whose first attempt
    succeeds (the usual case) never computes a perturbation."""
    previous = AttemptPlan(input_text=input_text, temperature=temperature, model=model)
    yield previous
    rephrasings = iter(enumerate(policy.rephrasings, start=1))
    temperatures = iter(policy.temperatures)
    models = iter(policy.alternative_models)
    for retry in itertools.count(1):
        changed: AttemptPlan | None = None
        start = (retry - 1) % len(policy.order)
        for kind in policy.order[start:] + policy.order[:start]:
            if kind == "rephrase":
                for number, text in rephrasings:
                    rewritten = Template(text).substitute(input=input_text)
                    if rewritten != previous.input_text:
                        changed = replace(
                            previous,
                            input_text=rewritten,
                            perturbation=f"rephrased prompt (variant {number})",
                        )
                        break
            elif kind == "temperature":
                for value in temperatures:
                    if value != previous.temperature:
                        changed = replace(
                            previous,
                            temperature=value,
                            perturbation=f"temperature {previous.temperature:g}→{value:g}",
                        )
                        break
            else:
                for name in models:
                    if name != previous.model:
                        changed = replace(
                            previous, model=name, perturbation=f"alternative model {name}"
                        )
                        break
            if changed is not None:
                break
        previous = changed if changed is not None else replace(previous, perturbation=None)
        yield previous
