"""What an agent is: a named, versioned model configuration with a prompt and limits."""

from __future__ import annotations

import re
from string import Template

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.contracts.models import TextInput, TextOutput
from agents.resilience.breaker import BreakerPolicy
from agents.retry import RetryPolicy
from agents.tiering import Tier, TierPolicy

__all__ = ["DISCLAIMER_VARIABLES", "PROMPT_VARIABLES", "AgentLimits", "AgentSpec", "Tier"]

PROMPT_VARIABLES = frozenset({"agent", "tenant"})
"""Placeholders a prompt template may use (`$agent`, `$tenant`)."""

DISCLAIMER_VARIABLES = frozenset({"agent", "fallback"})
"""Placeholders a disclaimer may use: the agent that could not answer, the one that did."""

# Agent names become Kafka topic suffixes (`tasks.<agent>`) and ClickHouse values, so they
# are restricted to characters legal and unambiguous in both.
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
# A tool reference: a tool name as providers accept it, or "<mcp server>:<tool>" / ":*".
_TOOL = re.compile(r"^(?:[a-z][a-z0-9_-]{0,62}:(?:\*|[A-Za-z0-9_-]{1,64})|[A-Za-z0-9_-]{1,64})$")
# The router tokenizes input into runs of ASCII letters and digits; a keyword with any
# other character could never match.
_KEYWORD = re.compile(r"^[a-z0-9]+$")


class AgentLimits(BaseModel):
    """Per-invocation bounds an agent runs under."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_output_tokens: int = Field(default=1024, gt=0)
    """Most tokens the model may generate in one attempt."""
    timeout_s: float = Field(default=30.0, gt=0)
    """Wall-clock limit for one model attempt."""
    max_attempts: int = Field(default=3, ge=1, le=10)
    """Model attempts per invocation, the first one included."""
    max_tool_rounds: int = Field(default=4, ge=0, le=32)
    """Times per attempt the model's tool calls are run and the results sent back; a
    model still calling tools after that fails the attempt (malformed). 0: tools are
    offered and calls recorded, never run."""


class AgentSpec(BaseModel):
    """An agent's full definition; immutable, so a version identifies behaviour.

    `prompt` is a system-prompt template in `string.Template` syntax; only the
    placeholders in `PROMPT_VARIABLES` are allowed, which is checked here so a typo
    fails when the system is built, not on the hot path.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str = "1"
    description: str
    model: str
    provider: str = "sim"
    prompt: str
    tier: Tier
    limits: AgentLimits = AgentLimits()
    fallback: str | None = None
    """Agent that answers (degraded) when this one is exhausted or its breaker is open."""
    keywords: tuple[str, ...] = ()
    """Routing vocabulary: single lowercase words the keyword router matches on."""
    examples: tuple[str, ...] = ()
    """Requests this agent should get, written the way customers write them; the trained
    router (`agentbus router train`) learns from them."""
    route_overrides: tuple[str, ...] = ()
    """Regular expressions (case-insensitive) that send a request here whatever the trained
    model says: rules an operator wants kept exactly. Checked in declaration order."""
    tools: tuple[str, ...] = ()
    """Tools the model may call, offered with each request: names of the system's Python
    tools, `"<server>:<tool>"` for a tool of one of its MCP servers, `"<server>:*"` for
    all of that server's tools."""
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    retry: RetryPolicy = RetryPolicy()
    """How failed model calls are retried and what each retry changes."""
    breaker: BreakerPolicy = BreakerPolicy()
    """When this agent's circuit breakers (one per model) open, and for how long."""
    tiers: TierPolicy | None = None
    """Route each input to the cheapest adequate model tier; None: always `model`."""
    budget_tokens: int | None = Field(default=None, gt=0)
    """Most tokens (input + output, retries included) one invocation may spend."""
    cache_ttl_s: float | None = Field(default=None, gt=0)
    """Serve repeated inputs from the result cache for this long; None: no caching."""
    disclaimer: str | None = None
    """Shown to the user when another agent answers in this one's place (degraded);
    may use `$agent` and `$fallback`. None: a generic note naming both agents."""
    # Classes, not data: left out of dumps (they do not serialise) but kept in equality,
    # so two specs with different contracts are different agents.
    input_model: type[BaseModel] = Field(default=TextInput, exclude=True)
    """What the agent accepts (pydantic model); see `agents.contracts`."""
    output_model: type[BaseModel] = Field(default=TextOutput, exclude=True)
    """What the agent's output must satisfy before it leaves the agent."""

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                f"agent name {value!r} must be lowercase letters, digits, '_' or '-', "
                "start with a letter and be at most 63 characters"
            )
        return value

    @field_validator("keywords")
    @classmethod
    def _normalise_keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        normalised: dict[str, None] = {}
        for keyword in value:
            word = keyword.strip().lower()
            if not _KEYWORD.fullmatch(word):
                raise ValueError(f"keyword {keyword!r} must be a single word of letters/digits")
            normalised[word] = None
        return tuple(normalised)

    @field_validator("tools")
    @classmethod
    def _check_tools(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _TOOL.fullmatch(name):
                raise ValueError(
                    f"tool {name!r} must be a tool name (1-64 letters, digits, '_' or '-') or "
                    "'<mcp server>:<tool>' or '<mcp server>:*'"
                )
        return value

    @field_validator("examples")
    @classmethod
    def _strip_examples(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        stripped = tuple(dict.fromkeys(text.strip() for text in value))
        if any(not text for text in stripped):
            raise ValueError("an example must not be blank")
        return stripped

    @field_validator("route_overrides")
    @classmethod
    def _check_overrides(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"route override {pattern!r} is not a valid regex: {exc}") from exc
        return value

    @field_validator("prompt")
    @classmethod
    def _check_prompt(cls, value: str) -> str:
        template = Template(value)
        if not template.is_valid():
            raise ValueError("prompt is not a valid string.Template (stray '$'? use '$$')")
        unknown = set(template.get_identifiers()) - PROMPT_VARIABLES
        if unknown:
            raise ValueError(
                f"prompt uses unknown placeholders {sorted(unknown)}; "
                f"allowed: {sorted(PROMPT_VARIABLES)}"
            )
        return value

    @field_validator("disclaimer")
    @classmethod
    def _check_disclaimer(cls, value: str | None) -> str | None:
        if value is None:
            return None
        template = Template(value)
        unknown = set(template.get_identifiers()) - DISCLAIMER_VARIABLES
        if not template.is_valid() or unknown:
            raise ValueError(
                f"disclaimer must be a string.Template using only "
                f"{sorted(DISCLAIMER_VARIABLES)} (write $$ for '$')"
            )
        return value

    @model_validator(mode="after")
    def _check_fallback(self) -> AgentSpec:
        if self.fallback == self.name:
            raise ValueError(f"agent {self.name!r} cannot be its own fallback")
        return self

    def render_prompt(self, *, tenant: str = "default") -> str:
        """The system prompt as sent to the model for `tenant`."""
        return Template(self.prompt).substitute(agent=self.name, tenant=tenant)
