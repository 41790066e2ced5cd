"""Role names and the Faust app that runs each.

Each role is its own Faust app, so its own consumer group: ``agentbus run``
and any number of ``agentbus worker <role>`` processes share the work of a
role instead of repeating it.
"""

from __future__ import annotations

import faust

from streams.kafka_options import faust_credentials
from streams.providers import ProviderSet
from streams.roles.errors import RoleError
from streams.roles.orchestrator import ROLE as ROLE_ORCHESTRATOR
from streams.roles.orchestrator import register_orchestrator
from streams.roles.router import register_router
from streams.roles.runtime import RoleStats, Runtime
from streams.roles.sink import register_sink
from streams.roles.specialist import register_specialist
from streams.roles.transactions import read_committed
from streams.shared.state import SharedState
from streams.warehouse import Warehouse

__all__ = ["ROLE_HELP", "RoleError", "all_roles", "build_app"]

ROLE_OTLP = "otlp"

ROLE_HELP = {
    "router": "classifies intake requests and hands each to one specialist",
    "specialist:<agent>": "runs one agent on its task topic and emits invocations and results",
    "sink": "writes every event topic into ClickHouse and serves the query gateway",
    "orchestrator": "runs the system's pipelines, DAG workflows and meshes (only when it has any)",
    "otlp": "exports every event as an OpenTelemetry span over OTLP/HTTP (only when "
    "AGENTBUS_OTLP_ENDPOINT is set)",
}


def all_roles(runtime: Runtime) -> list[str]:
    """Every role of the system, in start order (sink first, so nothing waits on it)."""
    flows = [ROLE_ORCHESTRATOR] if runtime.system.flows else []
    otlp = [ROLE_OTLP] if runtime.settings.otlp_endpoint else []
    specialists = [f"specialist:{n}" for n in runtime.system.names]
    return ["sink", "router", *flows, *specialists, *otlp]


def group_id(runtime: Runtime, role: str) -> str:
    """Consumer group (and Faust app id) of a role: ``<prefix><role>``."""
    return f"{runtime.settings.topic_prefix}{role.replace(':', '.')}"


def build_app(
    role: str,
    runtime: Runtime,
    *,
    providers: ProviderSet | None = None,
    warehouse: Warehouse | None = None,
    shared: SharedState | None = None,
) -> tuple[faust.App, RoleStats]:
    """The Faust app running ``role``. Specialists need the providers and the process's
    shared state, the sink a warehouse."""
    settings = runtime.settings
    datadir = settings.data_dir / "faust" / role.replace(":", "-")
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        group_id(runtime, role),
        broker=[f"kafka://{host}" for host in settings.kafka_bootstrap.split(",")],
        broker_credentials=faust_credentials(settings),
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=False,
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        # Topics are created by `agentbus up` with their partitions and retention;
        # Faust must not invent its own (PartitionsMismatch, wrong retention).
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        # Backpressure: at most this many events wait in each agent's stream buffer
        # (not per partition) before Faust pauses fetching its partitions.
        stream_buffer_maxsize=1024,
        # Fetched but unread bytes per partition (aiokafka holds one fetch per
        # partition; the sink reads ~70): a backlog waits in Kafka, not here.
        # Larger messages still come whole (a fetch returns at least one batch).
        consumer_max_fetch_size=128 * 1024,
        broker_commit_interval=1.0,
        # A killed worker's partitions move to the survivors after this long.
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 3),
        producer_acks=-1,
        producer_linger_ms=5,
    )
    # Our own transactions carry the outputs under exactly_once, and always for the
    # orchestrator (streams.roles.transactions); Faust only reads what upstream roles
    # committed, so a crashed orchestrator's aborted tasks never run.
    read_committed(
        app,
        transactional=settings.processing_guarantee == "exactly_once" or role == ROLE_ORCHESTRATOR,
    )
    if role == "router":
        stats = register_router(app, runtime)
    elif role == "sink":
        if warehouse is None:
            raise RoleError("the sink role needs a warehouse")
        stats = register_sink(app, runtime, warehouse)
    elif role == ROLE_ORCHESTRATOR:
        stats = register_orchestrator(app, runtime)
    elif role == ROLE_OTLP:
        if not settings.otlp_endpoint:
            raise RoleError("the otlp role needs AGENTBUS_OTLP_ENDPOINT")
        try:  # the otlp extra is optional: import it only for this role
            from streams.roles.otlp import register_otlp  # noqa: PLC0415
        except ImportError as exc:
            raise RoleError(
                f"the otlp role needs the otlp extra (pip install 'agentbus[otlp]'): {exc}"
            ) from exc
        stats = register_otlp(app, runtime)
    elif role.startswith("specialist:"):
        agent = role.split(":", 1)[1]
        if agent not in runtime.system.names:
            raise RoleError(f"unknown agent {agent!r}; known: {', '.join(runtime.system.names)}")
        if providers is None or shared is None:
            raise RoleError("a specialist role needs the model providers and shared state")
        stats = register_specialist(app, runtime, agent, providers, shared)
    else:
        raise RoleError(f"unknown role {role!r}; known: {', '.join(all_roles(runtime))}")
    return app, stats
