"""`sim`: a seeded simulated model provider with realistic latency, tokens and failures.

Everything the sim does is decided by hashing the request, so the same request under
the same seed always gets the same answer, latency and failure, in any process. Two
hashes are used, on purpose:

* transient behaviour (overload errors, hangs, latency jitter) also hashes the attempt
  number, because a real outage is independent of the prompt and a retry can succeed;
* content (the text, its length, tool calls, malformed output) hashes only the prompt,
  model, seed and temperature, because a real model given the same prompt tends to
  produce the same bad answer: an identical retry reproduces it, a perturbed one
  (rephrased, other temperature or model) may not.

Time is simulated: latency is drawn in simulated milliseconds, the request's timeout is
checked against it, and the provider then sleeps `latency_scale` real seconds per
simulated second (1 = real time, 0 = instant), so outcomes never depend on the scale.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.contracts.parse import text_field
from agents.contracts.render import render_output
from agents.errors import ModelTimeout, ModelUnavailable
from agents.providers._http import encode_tool_call, transcript_tokens
from agents.providers.base import ModelRequest, ModelResponse, ToolCall
from agents.tokens import estimate_tokens

__all__ = ["SimConfig", "SimFaults", "SimPlan", "SimProvider"]


class SimFaults(BaseModel):
    """Probabilities, per attempt, of each simulated failure."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """The provider fails fast with `ModelUnavailable` (a 5xx/overload)."""
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """The model hangs until the request's timeout (`ModelTimeout`)."""
    malformed_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """The model answers with unusable output: empty, blank or truncated JSON."""
    extra_latency_ms: float = Field(default=0.0, ge=0.0)
    """Injected latency added to every call, in real milliseconds (not scaled)."""


class SimConfig(BaseModel):
    """How the simulated provider behaves; immutable, faults can be changed at runtime."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    latency_scale: float = Field(default=1.0, ge=0.0, le=1.0)
    """Real seconds slept per simulated second: 1 = real time, 0 = no waiting at all."""
    latency_ms: float | None = Field(default=None, ge=0.0)
    """Fixed simulated latency for every call, instead of the per-tier distribution."""
    faults: SimFaults = SimFaults()
    """Faults applied to every call without an override."""
    overrides: Mapping[str, SimFaults] = Field(default_factory=dict)
    """Faults per agent name or model name; an agent's entry wins over its model's."""
    tool_call_rate: float = Field(default=0.3, ge=0.0, le=1.0)
    """How often a request offering tools is answered with a tool call (decided per
    prompt, like the text); once the request carries tool results the sim answers."""


@dataclass(frozen=True, slots=True)
class _TierProfile:
    ttft_ms: float  # median time to first token
    ms_per_token: float  # median decode time per output token
    output_tokens: int  # median answer length


# Shaped after public latency figures for small/mid/frontier hosted models: larger
# models start later and decode slower.
_TIERS: Mapping[str, _TierProfile] = {
    "small": _TierProfile(ttft_ms=250.0, ms_per_token=6.0, output_tokens=90),
    "standard": _TierProfile(ttft_ms=450.0, ms_per_token=12.0, output_tokens=160),
    "frontier": _TierProfile(ttft_ms=800.0, ms_per_token=22.0, output_tokens=260),
}
_MODEL_TIERS: Mapping[str, str] = {
    "sim-small": "small",
    "sim-standard": "standard",
    "sim-frontier": "frontier",
}

SimOutcome = Literal["ok", "error", "timeout", "malformed"]


@dataclass(frozen=True, slots=True)
class SimPlan:
    """What the sim will do for a request, decided before any waiting.

    `latency_ms` is simulated time (for a timeout: the time until the timeout fired);
    `wait_s` is the real time the provider sleeps.
    """

    outcome: SimOutcome
    latency_ms: float
    wait_s: float
    text: str
    input_tokens: int
    output_tokens: int
    tool_calls: tuple[str, ...]
    calls: tuple[ToolCall, ...] = ()


class SimProvider:
    """A `ModelProvider` that simulates hosted models; see the module docstring.

    Cheap to run thousands of calls at once: a call is a hash, a few random draws and
    one `asyncio.sleep`.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self._config = config or SimConfig()
        self._faults = self._config.faults
        self._overrides: dict[str, SimFaults] = dict(self._config.overrides)

    @property
    def name(self) -> str:
        """Always "sim"."""
        return "sim"

    @property
    def config(self) -> SimConfig:
        """The configuration the provider was built with (runtime faults not included)."""
        return self._config

    def set_faults(self, target: str, faults: SimFaults) -> None:
        """Change faults from now on for an agent or model name, or for all with "*"."""
        if target == "*":
            self._faults = faults
        else:
            self._overrides[target] = faults

    def clear_faults(self, target: str | None = None) -> None:
        """Forget runtime fault changes (for one agent/model, or all) and return to the
        configured faults."""
        if target is None or target == "*":
            self._faults = self._config.faults
            self._overrides = dict(self._config.overrides)
        elif target in self._config.overrides:
            self._overrides[target] = self._config.overrides[target]
        else:
            self._overrides.pop(target, None)

    def faults_for(self, request: ModelRequest) -> SimFaults:
        """The faults that apply to `request`: agent override, else model, else global."""
        agent = request.metadata.get("agent")
        if agent is not None and agent in self._overrides:
            return self._overrides[agent]
        return self._overrides.get(request.model, self._faults)

    def plan(self, request: ModelRequest) -> SimPlan:
        """Decide, without waiting, what `complete(request)` will do."""
        config = self._config
        faults = self.faults_for(request)
        profile = _TIERS[_tier_of(request)]
        transient = _rng(config.seed, request, with_attempt=True)
        content = _rng(config.seed, request, with_attempt=False)
        input_tokens = (
            estimate_tokens(request.system_prompt)
            + estimate_tokens(request.input_text)
            + transcript_tokens(request)
        )
        timeout_ms = request.timeout_s * 1000.0

        # Draw every value in a fixed order whatever the outcome, so changing one rate
        # never reshuffles the other decisions for the same request.
        error_draw, timeout_draw, ttft_jitter, decode_jitter = (
            transient.random(),
            transient.random(),
            transient.lognormvariate(0.0, 0.45),
            transient.lognormvariate(0.0, 0.15),
        )
        malformed_draw = content.random()
        text, calls = _answer(content, request, profile, config.tool_call_rate)
        tool_calls = tuple(encode_tool_call(c.name, c.arguments) for c in calls)
        if request.output_model is not None and text_field(request.output_model) is None:
            # A structured contract: answer with a document that satisfies it.
            # A real model stops at its token cap, even mid-document.
            text = render_output(request.output_model, text)[: request.max_output_tokens * 4]
        output_tokens = estimate_tokens(text)

        if error_draw < faults.error_rate:
            latency = (
                config.latency_ms
                if config.latency_ms is not None
                else 0.3 * (profile.ttft_ms * ttft_jitter)
            )
            latency = min(latency, timeout_ms)
            return self._failure("error", latency, input_tokens)
        if timeout_draw < faults.timeout_rate:
            return self._failure("timeout", timeout_ms, input_tokens)

        if config.latency_ms is not None:
            latency = config.latency_ms
        else:
            latency = (
                profile.ttft_ms * ttft_jitter + output_tokens * profile.ms_per_token * decode_jitter
            )
        latency += faults.extra_latency_ms
        if latency > timeout_ms:
            return self._failure("timeout", timeout_ms, input_tokens)

        outcome: SimOutcome = "ok"
        if malformed_draw < faults.malformed_rate:
            outcome, text, tool_calls, calls = "malformed", _malformed(content, text), (), ()
            output_tokens = estimate_tokens(text)
        return SimPlan(
            outcome=outcome,
            latency_ms=latency,
            # Injected latency is real time whatever the scale: chaos must be felt.
            wait_s=(latency - faults.extra_latency_ms) / 1000.0 * config.latency_scale
            + faults.extra_latency_ms / 1000.0,
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            tool_calls=tool_calls,
            calls=calls,
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer `request` after its simulated latency, or raise its simulated failure.

        A timeout is raised after sleeping at most `request.timeout_s` (scaled).
        """
        plan = self.plan(request)
        await asyncio.sleep(plan.wait_s)
        agent = request.metadata.get("agent")
        if plan.outcome == "error":
            raise ModelUnavailable(
                f"{request.model} returned HTTP 503 overloaded (simulated)",
                agent=agent,
                model=request.model,
            )
        if plan.outcome == "timeout":
            raise ModelTimeout(
                f"{request.model} did not answer within {request.timeout_s:g}s (simulated)",
                timeout_s=request.timeout_s,
                agent=agent,
                model=request.model,
            )
        return ModelResponse(
            text=plan.text,
            input_tokens=plan.input_tokens,
            output_tokens=plan.output_tokens,
            latency_ms=plan.wait_s * 1000.0,
            model=request.model,
            tool_calls=plan.tool_calls,
            calls=plan.calls,
        )

    def _failure(self, outcome: SimOutcome, latency_ms: float, input_tokens: int) -> SimPlan:
        return SimPlan(
            outcome=outcome,
            latency_ms=latency_ms,
            wait_s=latency_ms / 1000.0 * self._config.latency_scale,
            text="",
            input_tokens=input_tokens,
            output_tokens=0,
            tool_calls=(),
        )


def _tier_of(request: ModelRequest) -> str:
    tier = request.metadata.get("tier") or _MODEL_TIERS.get(request.model, "standard")
    return tier if tier in _TIERS else "standard"


def _rng(seed: int, request: ModelRequest, *, with_attempt: bool) -> random.Random:
    parts = [
        str(seed),
        request.model,
        request.system_prompt,
        request.input_text,
        repr(request.temperature),
    ]
    if with_attempt:
        parts.append(str(request.attempt))
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


_OPENERS = (
    "Thanks for the details about “{topic}”.",
    "Here is what I found regarding “{topic}”.",
    "I looked into your request: “{topic}”.",
    "Understood: you asked about “{topic}”.",
)
_SENTENCES = (
    "I checked the records linked to your account for the period you mentioned.",
    "Nothing in the data suggests an error on your side.",
    "The figures are consistent with the previous period, with one notable exception.",
    "I have summarised the relevant items below so you can review them.",
    "If anything looks unfamiliar, reply with the reference and I will escalate it.",
    "The next step is to confirm the details so the change can be applied.",
    "This usually resolves within one to three business days.",
    "I have noted this on the case so a specialist can follow up if needed.",
    "The amounts reconcile once pending items settle.",
    "Two entries stand out and are worth a closer look.",
    "You can download the full breakdown from the dashboard at any time.",
    "For security reasons I cannot display the complete card or account number.",
    "Based on the merchant history, this pattern is expected for recurring charges.",
    "I recommend reviewing the notification settings to avoid surprises next time.",
)


def _topic(text: str) -> str:
    words = text.split()
    topic = " ".join(words[:12]).rstrip(".?!,;:")
    return topic + ("…" if len(words) > 12 else "")


def _answer(
    rng: random.Random, request: ModelRequest, profile: _TierProfile, tool_call_rate: float
) -> tuple[str, tuple[ToolCall, ...]]:
    # Answer length varies around the tier's median and never exceeds the cap, which
    # a real model enforces by stopping mid-sentence.
    target = max(8, round(profile.output_tokens * rng.lognormvariate(0.0, 0.35)))
    cap_chars = request.max_output_tokens * 4
    parts = [rng.choice(_OPENERS).format(topic=_topic(request.input_text))]
    if request.transcript:
        used = sorted({c.name for exchange in request.transcript for c in exchange.calls})
        parts.insert(0, f"I checked with {', '.join(used)}.")
    length = len(" ".join(parts))
    order = rng.sample(_SENTENCES, k=len(_SENTENCES))  # no sentence twice in a row
    while length < min(target * 4, cap_chars):
        sentence = order[(len(parts) - 1) % len(order)]
        parts.append(sentence)
        length += len(sentence) + 1
    text = " ".join(parts)[:cap_chars]
    calls: tuple[ToolCall, ...] = ()
    # Drawn whatever the outcome, so the draws after it do not depend on the transcript.
    wants_tool = bool(request.tools) and rng.random() < tool_call_rate
    if wants_tool and not request.transcript:
        name = rng.choice(request.tools)
        arguments = _arguments(rng, request.spec_of(name).parameters, request.input_text)
        call_id = "call_sim_" + hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
        calls = (ToolCall(id=call_id, name=name, arguments=arguments),)
    return text, calls


def _arguments(rng: random.Random, schema: Mapping[str, Any], input_text: str) -> dict[str, Any]:
    """Arguments a model would plausibly write for `schema`: every required property,
    typed; `{"query": <topic>}` for a tool offered without a schema."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    if not properties:
        return {"query": _topic(input_text)}
    required = schema.get("required") or list(properties)
    return {
        name: _value(rng, properties[name], input_text) for name in required if name in properties
    }


def _value(rng: random.Random, prop: Mapping[str, Any], input_text: str) -> Any:
    if "default" in prop or "enum" in prop:
        return prop["default"] if "default" in prop else rng.choice(list(prop["enum"]))
    low, high = prop.get("minimum", 1), prop.get("maximum", 100)
    kind = str(prop.get("type", "string"))
    if kind == "integer":
        return rng.randint(int(low), int(high))
    if kind == "number":
        return round(rng.uniform(float(low), float(high)), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("array", "object"):
        return [] if kind == "array" else {}
    words = [w.strip(".,?!;:") for w in input_text.split()]
    # A reference-looking word (digits) if the input has one, e.g. an order or card number.
    refs = [w for w in words if any(ch.isdigit() for ch in w)]
    return refs[0] if refs else _topic(input_text)


def _malformed(rng: random.Random, text: str) -> str:
    kind = rng.randrange(3)
    if kind == 0:
        return ""
    if kind == 1:
        return " \n\t"
    # Output cut off mid-JSON, as when a model hits its limit or the stream drops.
    cut = max(1, math.floor(len(text) * rng.uniform(0.2, 0.8)))
    return json.dumps({"answer": text})[: cut + 12]
