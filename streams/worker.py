"""Run roles in this process with a Faust worker (``agentbus run`` / ``agentbus worker``)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading

import faust

from agents.tools import Toolbox
from streams.metrics import MetricsServer, RoleMetrics, WorkerCollector, breaker_states
from streams.providers import ProviderSet
from streams.roles.registry import all_roles, build_app
from streams.roles.runtime import RoleStats, Runtime
from streams.shared.state import SharedState
from streams.stack import StackError, broker_answers
from streams.warehouse import Warehouse, open_warehouse
from streams.warehouse.client import SchemaOptions

__all__ = ["run_roles"]

log = logging.getLogger("agentbus")

_BROKER_WAIT_S = 30.0
# How long a SIGTERM/SIGINT may take before the process exits anyway: Faust's stop can
# hang (faust #324), e.g. reconnecting forever to a broker that is gone.
_SHUTDOWN_GRACE_S = 20.0


class _Worker(faust.Worker):
    """Faust's worker, with a deadline on shutdown."""

    def _schedule_shutdown(self, signal: signal.Signals) -> None:
        timer = threading.Timer(_SHUTDOWN_GRACE_S, _exit_after_grace, args=(signal,))
        timer.daemon = True
        timer.start()
        super()._schedule_shutdown(signal)


def _exit_after_grace(signal: signal.Signals) -> None:
    log.error(
        "still stopping %.0fs after %s; exiting now (nothing uncommitted is lost: "
        "unacknowledged events are redelivered)",
        _SHUTDOWN_GRACE_S,
        signal.name,
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(128 + int(signal))


def run_roles(runtime: Runtime, roles: list[str] | None = None) -> None:
    """Start the given roles (all of the system's when None) and block until stopped.

    Every role is its own Faust app (own consumer group); they share one event
    loop, one model provider and, for the sink, one warehouse connection.
    """
    settings = runtime.settings
    roles = roles or all_roles(runtime)
    # Faust would print a page of traceback for a cluster that is not there; say it in
    # one line (a supervisor restarts the worker once the broker is back).
    if not broker_answers(settings, _BROKER_WAIT_S):
        raise StackError(
            f"no Kafka broker answers at {settings.kafka_bootstrap} after "
            f"{_BROKER_WAIT_S:.0f}s; start it (`agentbus up`) or check AGENTBUS_KAFKA_BOOTSTRAP"
        )
    warehouse: Warehouse | None = None
    if "sink" in roles:
        warehouse = open_warehouse(settings.clickhouse_dsn)
        warehouse.apply_schema(SchemaOptions.of(settings))
    agents = [role.split(":", 1)[1] for role in roles if role.startswith("specialist:")]
    providers = ProviderSet(runtime.system, settings, agents)
    shared = SharedState(
        settings,
        runtime.codec,
        runtime.topics,
        providers,
        role=",".join(roles),
        toolbox=Toolbox.of(runtime.system),
    )
    built: list[tuple[str, faust.App, RoleStats]] = []
    for role in roles:
        app, stats = build_app(
            role, runtime, providers=providers, warehouse=warehouse, shared=shared
        )
        built.append((role, app, stats))
    metrics = _metrics_server(runtime, built, shared)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main_app = built[0][1]
    others = [app for _, app, _ in built[1:]]
    worker = _Worker(
        main_app,
        *others,
        loop=loop,
        loglevel=settings.log_level.upper(),
        redirect_stdouts=False,
        quiet=True,
    )
    log.info("running roles: %s", ", ".join(roles))
    try:
        if metrics is not None:
            metrics.start()
        worker.execute_from_commandline()
    finally:
        if metrics is not None:
            metrics.stop()
        for role, _, stats in built:
            log.info(
                "%s: consumed %d, produced %d, dead letters %d %s",
                role,
                stats.consumed,
                stats.produced,
                stats.dead_letters,
                stats.by_reason or "",
            )
        if warehouse is not None:
            warehouse.close()
        if not loop.is_closed():
            loop.run_until_complete(providers.aclose())


def _metrics_server(
    runtime: Runtime, built: list[tuple[str, faust.App, RoleStats]], shared: SharedState
) -> MetricsServer | None:
    """The Prometheus endpoint over these roles' counters, when a port is configured."""
    settings = runtime.settings
    if settings.metrics_port is None:
        return None
    collector = WorkerCollector(
        [RoleMetrics(role, stats, app) for role, app, stats in built],
        breaker_states(runtime.system, shared.breakers),
    )
    return MetricsServer(collector, settings.metrics_host, settings.metrics_port)
