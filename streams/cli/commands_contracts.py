"""``contracts check``: every edge of a system, producer output against consumer input."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from agents.contracts.check import main_check
from agents.system import AgentSystem
from streams.cli.context import fail

DEFAULT_SYSTEM = "agents.reference:fintech_system"


def load_system(ref: str) -> AgentSystem:
    """``module:attribute`` naming an AgentSystem or a function returning one."""
    module_name, _, attr = ref.partition(":")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # like `python -m`: the user's own modules
    try:
        target = getattr(importlib.import_module(module_name), attr or "system")
    except (ImportError, AttributeError) as exc:
        fail(f"cannot load system {ref!r}: {exc}")
    system = target() if callable(target) else target
    if not isinstance(system, AgentSystem):
        fail(f"{ref!r} is not an AgentSystem (got {type(system).__name__})")
    return system


@click.group()
def contracts() -> None:
    """Agent input/output contracts (pydantic models declared on each agent)."""


@contracts.command("check")
@click.option(
    "--system",
    "ref",
    default=DEFAULT_SYSTEM,
    show_default=True,
    help="module:attribute of the AgentSystem (or a function returning one).",
)
def check(ref: str) -> None:
    """Verify every edge of the system: the producer's output model satisfies the
    consumer's input. Exits 1 with a readable diff naming the edge and the field."""
    ok, report = main_check(load_system(ref))
    click.echo(report)
    sys.exit(0 if ok else 1)
