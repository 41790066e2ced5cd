"""``contracts check``: every edge of a system, producer output against consumer input."""

from __future__ import annotations

import sys

import click

from agents.contracts.check import main_check
from streams.cli.context import CliContext, pass_cli
from streams.system_loader import DEFAULT_SYSTEM, load_system


@click.group()
def contracts() -> None:
    """Agent input/output contracts (pydantic models declared on each agent)."""


@contracts.command("check")
@pass_cli
def check(state: CliContext) -> None:
    """Verify every edge of the system (--system, default the fintech reference): the
    producer's output model satisfies the consumer's input. Exits 1 with a readable
    diff naming the edge and the field."""
    ref = state.settings().system or DEFAULT_SYSTEM
    ok, report = main_check(load_system(ref))
    click.echo(report)
    sys.exit(0 if ok else 1)
