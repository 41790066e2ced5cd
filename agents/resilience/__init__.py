"""Keeping a failing model from taking the system down with it: circuit breakers."""

from agents.resilience.breaker import (
    Admission,
    BreakerBoard,
    BreakerPolicy,
    BreakerRegistry,
    BreakerState,
    BreakerTransition,
    CircuitBreaker,
    LocalBreakerBoard,
    breaker_key,
)

__all__ = [
    "Admission",
    "BreakerBoard",
    "BreakerPolicy",
    "BreakerRegistry",
    "BreakerState",
    "BreakerTransition",
    "CircuitBreaker",
    "LocalBreakerBoard",
    "breaker_key",
]
