"""``init DIR``: a starter system module a user edits, with a README on how to run it."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from streams.cli.context import fail
from streams.cli.starter import STARTER_MODULE, STARTER_README

out = Console()


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Write a starter system (DIRECTORY/myagents.py) and a README on how to run it."""
    files = {directory / "myagents.py": STARTER_MODULE, directory / "README.md": STARTER_README}
    existing = [str(path) for path in files if path.exists()]
    if existing:
        fail(f"{existing[0]} exists; init writes only new files (choose an empty folder)")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    out.print(f"wrote {directory / 'myagents.py'} and {directory / 'README.md'}", highlight=False)
    out.print(
        f"next: cd {directory} && agentbus --system myagents:system contracts check",
        highlight=False,
    )
