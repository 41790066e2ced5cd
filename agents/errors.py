"""Errors raised by the agents package.

Every error derives from `AgentError`. Model-call failures are `ProviderError`s, which
say whether another attempt can help (`retriable`) and what went wrong (`kind`, which is
also the `outcome` recorded on the `Invocation` event). `UnknownAgent` and `ConfigError`
are usage errors: retrying never helps, the caller must fix its input or configuration.
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "BadRequest",
    "ConfigError",
    "ContractBreach",
    "MalformedOutput",
    "ModelTimeout",
    "ModelUnavailable",
    "ProviderAuthError",
    "ProviderError",
    "RateLimited",
    "UnknownAgent",
]


class AgentError(Exception):
    """Root of every error raised by `agents`; carries the agent it concerns, if any."""

    def __init__(self, message: str, *, agent: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.agent = agent

    def _context(self) -> dict[str, str]:
        return {"agent": self.agent} if self.agent else {}

    def __str__(self) -> str:
        context = " ".join(f"{key}={value}" for key, value in self._context().items())
        return f"{self.message} [{context}]" if context else self.message


class ProviderError(AgentError):
    """A model call failed.

    `retriable` says whether another attempt may succeed; `kind` is a short machine
    name (`timeout`, `unavailable`, `malformed`, ...).
    """

    def __init__(
        self,
        message: str,
        *,
        retriable: bool = False,
        kind: str = "error",
        agent: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, agent=agent)
        self.retriable = retriable
        self.kind = kind
        self.model = model

    def _context(self) -> dict[str, str]:
        context = super()._context()
        if self.model:
            context["model"] = self.model
        return context


class ModelTimeout(ProviderError):
    """The model did not answer within the request's `timeout_s`; retriable."""

    def __init__(
        self,
        message: str,
        *,
        timeout_s: float | None = None,
        agent: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(
            message,
            retriable=True,
            kind="timeout",
            agent=agent,
            model=model,
        )
        self.timeout_s = timeout_s


class ModelUnavailable(ProviderError):
    """The provider refused or failed the call (5xx, overload, connection); retriable."""

    def __init__(
        self,
        message: str,
        *,
        agent: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(
            message,
            retriable=True,
            kind="unavailable",
            agent=agent,
            model=model,
        )


class MalformedOutput(ProviderError):
    """The model answered, but not with output the agent can use; retriable.

    `output` keeps the offending text so it can be recorded and inspected.
    """

    def __init__(
        self,
        message: str,
        *,
        output: str | None = None,
        agent: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(
            message,
            retriable=True,
            kind="malformed",
            agent=agent,
            model=model,
        )
        self.output = output


class ContractBreach(MalformedOutput):
    """The answer parsed, but breaks the agent's output contract; retriable.

    `violation` is the one-line reason naming the contract and field. Callers tell a
    breach from other malformed output by this class, never by the message text.
    """

    def __init__(
        self,
        message: str,
        *,
        violation: str,
        output: str | None = None,
        agent: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, output=output, agent=agent, model=model)
        self.violation = violation


class RateLimited(ModelUnavailable):
    """The provider throttled the call (HTTP 429); retriable, ideally after `retry_after_s`.

    A `ModelUnavailable`, so code that handles overload handles throttling too; `kind`
    is "rate_limited" so the two can still be told apart.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        agent: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, agent=agent, model=model)
        self.kind = "rate_limited"
        self.retry_after_s = retry_after_s  # None when the provider gave no retry-after


class ProviderAuthError(ProviderError):
    """The provider rejected the credentials (HTTP 401/403); retrying never helps."""

    def __init__(
        self,
        message: str,
        *,
        agent: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, retriable=False, kind="auth", agent=agent, model=model)


class BadRequest(ProviderError):
    """The provider rejected the request itself (a 4xx such as an unknown model or a
    prompt over the context window); retrying the same request never helps."""

    def __init__(
        self,
        message: str,
        *,
        agent: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, retriable=False, kind="bad_request", agent=agent, model=model)


class UnknownAgent(AgentError):
    """A name was asked for that the agent system does not define (a usage error)."""

    def __init__(self, name: str, *, known: tuple[str, ...], system: str | None = None) -> None:
        where = f" in system {system!r}" if system else ""
        listed = ", ".join(known) if known else "(none)"
        super().__init__(f"unknown agent {name!r}{where}; known agents: {listed}", agent=name)
        self.known = known
        self.system = system

    def _context(self) -> dict[str, str]:
        return {}  # the message already names the agent


class ConfigError(AgentError):
    """An agent, system or provider is configured inconsistently (a usage error)."""
