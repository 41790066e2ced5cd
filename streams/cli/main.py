"""``agentbus``: bring the stack up, run roles, submit requests, query and trace them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from streams.cli.commands_chaos import chaos
from streams.cli.commands_contracts import contracts
from streams.cli.commands_dashboards import dashboards
from streams.cli.commands_init import init
from streams.cli.commands_mesh import mesh
from streams.cli.commands_query import sql, trace
from streams.cli.commands_replay import replay_command
from streams.cli.commands_report import report
from streams.cli.commands_router import router
from streams.cli.commands_run import run, worker
from streams.cli.commands_stack import down, status, up
from streams.cli.commands_submit import submit
from streams.cli.context import (
    CliContext,
    accept_global_options_after,
    configure_logging,
    fail,
    global_options,
)
from streams.cli.demo import demo
from streams.providers import EndpointError
from streams.system_loader import SystemLoadError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="agentbus", prog_name="agentbus")
@global_options
@click.pass_context
def cli(
    ctx: click.Context,
    system: str | None,
    data_dir: Path | None,
    kafka_bootstrap: str | None,
    clickhouse_url: str | None,
    topic_prefix: str | None,
    log_level: str | None,
) -> None:
    """agentbus: an event-sourced runtime for production multi-agent AI.

    Requests are Avro events on Kafka, agents run as Faust stream processors,
    and every step lands in ClickHouse. Start with `agentbus demo`.
    """
    overrides: dict[str, Any] = {
        "system": system,
        "data_dir": data_dir,
        "kafka_bootstrap": kafka_bootstrap,
        "clickhouse_url": clickhouse_url,
        "topic_prefix": topic_prefix,
        "log_level": log_level,
    }
    state = ctx.ensure_object(CliContext)
    state.overrides = {k: v for k, v in overrides.items() if v is not None}
    configure_logging(
        state.settings().log_level, long_running=ctx.invoked_subcommand in ("run", "worker")
    )


for command in (
    *(up, down, status, run, worker, submit, sql, trace, chaos, contracts, demo, init),
    router,
    mesh,
    replay_command,
    dashboards,
    report,
):
    accept_global_options_after(command)
    cli.add_command(command)


def main() -> None:
    """The console script: one error line (exit 2) for a system that cannot be loaded,
    one line (exit 1) for an endpoint that cannot be built."""
    try:
        cli(prog_name="agentbus")
    except SystemLoadError as exc:
        fail(str(exc), code=2)
    except EndpointError as exc:
        fail(str(exc))


if __name__ == "__main__":
    main()
