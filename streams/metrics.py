"""A Prometheus text endpoint per worker process (``AGENTBUS_METRICS_PORT``).

Nothing is counted twice: the collector reads the counters the roles already keep
(:class:`streams.roles.runtime.RoleStats`), Faust's own offset monitor for consumer
lag, and the shared breaker board, at scrape time.

Series (every one labelled by ``role`` where it has one):

- ``agentbus_events_consumed_total``, ``agentbus_events_produced_total``
- ``agentbus_dead_letters_total{reason}`` (the dead letter's ``error_type``)
- ``agentbus_consumer_lag{topic,partition}``: end offset minus committed offset
- ``agentbus_breaker_state{agent,model}``: 0 closed, 1 half-open, 2 open
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agents.resilience import breaker_key
from agents.system import AgentSystem
from streams.roles.runtime import RoleStats

__all__ = ["BREAKER_LEVEL", "MetricsServer", "RoleMetrics", "WorkerCollector", "breaker_states"]

log = logging.getLogger("agentbus.metrics")

BREAKER_LEVEL: Mapping[str, int] = {"closed": 0, "half_open": 1, "open": 2}
"""``agentbus_breaker_state`` values: alert on ``== 2``."""

BreakerStates = Callable[[], Iterable[tuple[str, str, str]]]
"""Returns (agent, model, state) for every breaker this process knows."""


@dataclass(frozen=True)
class RoleMetrics:
    """One role of the process: its counters and (optionally) its Faust app for lag."""

    role: str
    stats: RoleStats
    app: Any = None


class WorkerCollector(Collector):
    """Reads the process's counters at scrape time."""

    def __init__(self, roles: Sequence[RoleMetrics], breakers: BreakerStates | None = None) -> None:
        self._roles = list(roles)
        self._breakers = breakers

    def collect(self) -> Iterator[Metric]:
        consumed = CounterMetricFamily(
            "agentbus_events_consumed", "Events a role read from Kafka.", labels=["role"]
        )
        produced = CounterMetricFamily(
            "agentbus_events_produced",
            "Events a role produced (dead letters not included).",
            labels=["role"],
        )
        dead = CounterMetricFamily(
            "agentbus_dead_letters",
            "Dead letters a role produced, by reason (error_type).",
            labels=["role", "reason"],
        )
        in_flight = GaugeMetricFamily(
            "agentbus_in_flight",
            "Events a role is handling now (for a specialist: model calls in flight).",
            labels=["role"],
        )
        lag = GaugeMetricFamily(
            "agentbus_consumer_lag",
            "Events on a partition not yet committed by the role's consumer group.",
            labels=["role", "topic", "partition"],
        )
        for entry in self._roles:
            consumed.add_metric([entry.role], entry.stats.consumed)
            produced.add_metric([entry.role], entry.stats.produced)
            in_flight.add_metric([entry.role], entry.stats.in_flight)
            for reason, count in sorted(entry.stats.by_reason.items()):
                dead.add_metric([entry.role, reason], count)
            for (topic, partition), behind in _lag(entry.app):
                lag.add_metric([entry.role, topic, str(partition)], behind)
        yield from (consumed, produced, dead, in_flight, lag)
        if self._breakers is not None:
            state = GaugeMetricFamily(
                "agentbus_breaker_state",
                "Circuit breaker per agent and model: 0 closed, 1 half-open, 2 open.",
                labels=["agent", "model"],
            )
            for agent, model, current in self._breakers():
                state.add_metric([agent, model], BREAKER_LEVEL.get(current, 0))
            yield state


def breaker_states(system: AgentSystem, board: Any) -> BreakerStates:
    """The breakers of every agent of ``system`` on each model it may call (its model
    and its tiers' models), as ``board`` (a breaker board with ``current(key)``) knows
    them; a breaker never tripped is closed."""

    def states() -> list[tuple[str, str, str]]:
        out = []
        for spec in system.specs.values():
            models = {spec.model}
            if spec.tiers is not None:
                models |= {spec.tiers.small, spec.tiers.standard, spec.tiers.frontier}
            for model in sorted(models):
                known = board.current(breaker_key(spec.name, model))
                out.append((spec.name, model, known.to_state if known else "closed"))
        return out

    return states


def _lag(app: Any) -> list[tuple[tuple[str, int], int]]:
    """Lag per partition from Faust's monitor (it tracks end and committed offsets of
    the partitions this worker holds); nothing when the app has no monitor yet."""
    if app is None:
        return []
    monitor = app.monitor
    ends = dict(monitor.tp_end_offsets or {})
    committed = dict(monitor.tp_committed_offsets or {})
    out = []
    for tp, end in ends.items():
        behind = max(0, int(end) - int(committed.get(tp, 0)))
        out.append(((str(tp.topic), int(tp.partition)), behind))
    return sorted(out)


class MetricsServer:
    """``GET /metrics`` in Prometheus text format on ``host:port`` (0: a free port),
    served from a daemon thread; ``stop()`` is idempotent."""

    def __init__(self, collector: Collector, host: str = "127.0.0.1", port: int = 0) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(collector)
        self._host = host
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    def start(self) -> None:
        if self._server is not None:
            return
        self._server, self._thread = start_http_server(
            self._port, addr=self._host, registry=self._registry
        )
        self.url = f"http://{self._host}:{self._server.server_port}/metrics"
        log.info("Prometheus metrics on %s", self.url)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        self._thread = None
