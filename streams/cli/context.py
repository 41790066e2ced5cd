"""Global CLI options → one frozen Settings object, plus shared output helpers."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from streams.settings import Settings, env_var, load_settings

__all__ = ["CliContext", "fail", "global_options", "pass_cli"]

err = Console(stderr=True)


@dataclass
class CliContext:
    """Overrides given as flags; ``settings()`` merges them over the environment once."""

    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None

    def settings(self, **more: Any) -> Settings:
        if self._settings is None or more:
            try:
                built = load_settings(**{**self.overrides, **more})
            except ValidationError as exc:
                fail(
                    f"invalid configuration: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}"
                )
            if more:
                return built
            self._settings = built
        return self._settings


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear error line on stderr, then exit."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _env_help(text: str, name: str) -> str:
    return f"{text} [env: {env_var(name)}]"


def global_options(func: Any) -> Any:
    """The options every command shares; each names its environment variable."""
    options = [
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            default=None,
            help=_env_help("Local state: broker data, embedded ClickHouse, logs.", "data_dir"),
        ),
        click.option(
            "--bootstrap",
            "kafka_bootstrap",
            default=None,
            help=_env_help("Kafka bootstrap servers.", "kafka_bootstrap"),
        ),
        click.option(
            "--clickhouse-url",
            default=None,
            help=_env_help("chdb:///path or http(s)://… ClickHouse DSN.", "clickhouse_url"),
        ),
        click.option(
            "--topic-prefix", default=None, help=_env_help("Prefix of every topic.", "topic_prefix")
        ),
        click.option(
            "--log-level",
            type=click.Choice(["debug", "info", "warning", "error"]),
            default=None,
            help=_env_help("Log level.", "log_level"),
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def configure_logging(level: str, *, long_running: bool) -> None:
    """Workers log what their clients say; one-shot commands end in one error line of
    their own, so client retries ("Unable connect to …") would only bury it."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    floor = logging.WARNING if long_running else logging.CRITICAL
    # aiokafka and faust are chatty at INFO; in workers their warnings still show.
    for noisy in ("aiokafka", "faust", "mode", "kafka", "httpx", "asyncio"):
        logging.getLogger(noisy).setLevel(max(floor, logging.getLogger().level))
