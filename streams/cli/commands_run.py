"""``run`` and ``worker``: the stream processors in the foreground."""

from __future__ import annotations

import click

from streams.broker.errors import BrokerError
from streams.cli.context import CliContext, fail, pass_cli
from streams.roles.registry import ROLE_HELP, all_roles
from streams.roles.runtime import build_runtime
from streams.stack import StackError, bring_up
from streams.warehouse import WarehouseError
from streams.worker import run_roles

_ROLES_DOC = "\b\n" + "\n".join(f"  {name:<20} {text}" for name, text in ROLE_HELP.items())


@click.command()
@pass_cli
def run(state: CliContext) -> None:
    """Run every role of the system in this process (local use). Brings the stack up first."""
    runtime = build_runtime(state.settings())
    try:
        bring_up(runtime)
        run_roles(runtime)
    except (StackError, BrokerError, WarehouseError) as exc:
        fail(str(exc))


@click.command(
    help=f"Run one or more roles in this process; start more processes to scale a "
    f"role (each role is its own consumer group).\n\nRoles:\n\n{_ROLES_DOC}"
)
@click.argument("roles", nargs=-1, required=True)
@pass_cli
def worker(state: CliContext, roles: tuple[str, ...]) -> None:
    runtime = build_runtime(state.settings())
    known = all_roles(runtime)
    unknown = [role for role in roles if role not in known]
    if unknown:
        fail(f"unknown role {unknown[0]!r}; known roles: {', '.join(known)}")
    try:
        run_roles(runtime, list(roles))
    except (StackError, BrokerError, WarehouseError) as exc:
        fail(str(exc))
