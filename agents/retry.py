"""When to try a model call again, and how long to wait first."""

from __future__ import annotations

from dataclasses import dataclass

from agents.errors import ConfigError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff between attempts; how many attempts is the agent's limit.

    `RetryPolicy.none()` never waits, which is what tests want.
    """

    backoff_s: float = 0.2
    """Wait after the first failed attempt."""
    multiplier: float = 2.0
    """Each further wait is this many times the previous one."""
    max_backoff_s: float = 5.0
    """No single wait is longer than this."""

    def __post_init__(self) -> None:
        if self.backoff_s < 0 or self.max_backoff_s < 0 or self.multiplier < 1:
            raise ConfigError(
                "RetryPolicy needs backoff_s >= 0, max_backoff_s >= 0 and multiplier >= 1, "
                f"got {self.backoff_s}, {self.max_backoff_s}, {self.multiplier}"
            )

    @classmethod
    def none(cls) -> RetryPolicy:
        """Retry immediately, without waiting."""
        return cls(backoff_s=0.0, max_backoff_s=0.0)

    def delay_s(self, failed_attempt: int) -> float:
        """Seconds to wait after attempt number `failed_attempt` (1-based) failed."""
        return min(self.max_backoff_s, self.backoff_s * self.multiplier ** (failed_attempt - 1))
