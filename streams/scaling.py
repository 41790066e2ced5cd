"""How many replicas a specialist needs so a task waits no longer than a target.

The star topology's second concern (after routing accuracy) is load: when most requests
go to one specialist, that specialist needs more replicas while the others idle. The
arithmetic here is the one KEDA's Kafka scaler does, so `agentbus status` and the
`ScaledObject` in `infra/k8s/` agree: a replica that completes ``r`` tasks a second can
hold ``r * target_wait`` tasks of lag (`lag_threshold`), and the group needs
``ceil(lag ÷ that)`` replicas. Pure functions: no broker, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ScalingAdvice", "lag_threshold", "recommend_replicas"]

_EPSILON = 1e-9  # 2.0000000001 replicas is 2, not 3


@dataclass(frozen=True, slots=True)
class ScalingAdvice:
    """One specialist's backlog, its expected wait and the replicas that meet the target."""

    lag: int | None
    """Tasks on the specialist's topic not yet committed; None: the group never committed."""
    results_per_s: float
    """Tasks the specialist completed per second (observed, all replicas together)."""
    replicas: int
    """Live members of the specialist's consumer group now."""
    wait_s: float | None
    """Expected wait of a task arriving now (lag ÷ rate); None when it cannot be estimated
    (a backlog and no completions: stalled, or not running)."""
    recommended: int
    reason: str


def lag_threshold(per_replica_per_s: float, target_wait_s: float) -> int:
    """The lag one replica may hold and still meet `target_wait_s`: KEDA's `lagThreshold`."""
    if per_replica_per_s <= 0 or target_wait_s <= 0:
        raise ValueError("rate and target wait must be positive")
    return max(1, math.floor(per_replica_per_s * target_wait_s + _EPSILON))


def recommend_replicas(
    lag: int | None,
    results_per_s: float,
    replicas: int,
    *,
    target_wait_s: float = 10.0,
    max_replicas: int | None = None,
) -> ScalingAdvice:
    """Replicas needed so the current backlog drains within `target_wait_s`.

    needed throughput = lag ÷ target wait; per-replica rate = observed rate ÷ live
    replicas; recommended = ceil(needed ÷ per-replica rate), at least 1 and at most
    `max_replicas` (the topic's partitions: a consumer beyond them gets no partition and
    idles). Without a backlog the observed rate says nothing about capacity, so the
    advice is to keep what runs; with a backlog and no completions there is no rate to
    divide by, so it is the same, with the reason saying why.
    """
    if target_wait_s <= 0:
        raise ValueError(f"target_wait_s must be positive, got {target_wait_s}")
    keep = max(1, replicas)
    if lag is None:
        return ScalingAdvice(lag, results_per_s, replicas, None, keep, "no committed offsets yet")
    if lag <= 0:
        return ScalingAdvice(lag, results_per_s, replicas, 0.0, keep, "no backlog")
    if results_per_s <= 0:
        reason = (
            "backlog and no live consumer: start one"
            if replicas == 0
            else "backlog but no results in the window: stalled, or tasks slower than it"
        )
        return ScalingAdvice(lag, results_per_s, replicas, None, keep, reason)
    per_replica = results_per_s / keep
    wait = lag / results_per_s
    needed = lag / target_wait_s
    recommended = max(1, math.ceil(needed / per_replica - _EPSILON))
    reason = f"wait {wait:.1f}s vs target {target_wait_s:g}s at {per_replica:.2f}/s per replica"
    if max_replicas is not None and recommended > max_replicas:
        recommended = max_replicas
        reason += f"; capped at {max_replicas} (one replica per partition)"
    return ScalingAdvice(lag, results_per_s, replicas, wait, recommended, reason)
