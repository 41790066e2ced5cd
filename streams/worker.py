"""Run roles in this process with a Faust worker (``agentbus run`` / ``agentbus worker``)."""

from __future__ import annotations

import asyncio
import logging

import faust

from agents.providers.sim import SimConfig, SimFaults, SimProvider
from streams.roles.registry import all_roles, build_app
from streams.roles.runtime import RoleStats, Runtime
from streams.shared.state import SharedState
from streams.warehouse import Warehouse, open_warehouse

__all__ = ["run_roles"]

log = logging.getLogger("agentbus")


def run_roles(runtime: Runtime, roles: list[str] | None = None) -> None:
    """Start the given roles (all of the system's when None) and block until stopped.

    Every role is its own Faust app (own consumer group); they share one event
    loop, one model provider and, for the sink, one warehouse connection.
    """
    settings = runtime.settings
    roles = roles or all_roles(runtime)
    warehouse: Warehouse | None = None
    if "sink" in roles:
        warehouse = open_warehouse(settings.clickhouse_dsn)
        warehouse.apply_schema()
    provider = SimProvider(
        SimConfig(
            seed=settings.sim_seed,
            latency_scale=settings.sim_latency_scale,
            latency_ms=settings.sim_latency_ms,
            faults=SimFaults(
                error_rate=settings.sim_error_rate,
                timeout_rate=settings.sim_timeout_rate,
                malformed_rate=settings.sim_malformed_rate,
            ),
        )
    )
    shared = SharedState(settings, runtime.codec, runtime.topics, provider, role=",".join(roles))
    built: list[tuple[str, faust.App, RoleStats]] = []
    for role in roles:
        app, stats = build_app(role, runtime, provider=provider, warehouse=warehouse, shared=shared)
        built.append((role, app, stats))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main_app = built[0][1]
    others = [app for _, app, _ in built[1:]]
    worker = faust.Worker(
        main_app,
        *others,
        loop=loop,
        loglevel=settings.log_level.upper(),
        redirect_stdouts=False,
        quiet=True,
    )
    log.info("running roles: %s", ", ".join(roles))
    try:
        worker.execute_from_commandline()
    finally:
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
