"""Global CLI options → one frozen Settings object, plus shared output helpers."""

from __future__ import annotations

import functools
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
from streams.system_loader import load_system

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
            if built.system:
                # Every command checks the system it was given, even one that would not
                # build a runtime: a typo is one line and exit 2, never silently ignored.
                load_system(built.system)
            if more:
                return built
            self._settings = built
        return self._settings


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear error line on stderr, then exit."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def kafka_failure(settings: Settings, what: str, exc: Exception) -> str:
    """The line for a Kafka client error: the broker's own refusal (bad credentials, an
    untrusted certificate) when that is the cause, else ``what`` and the error."""
    from streams.broker.errors import BrokerError  # noqa: PLC0415  # only on this error path
    from streams.stack import broker_answers  # noqa: PLC0415

    try:
        broker_answers(settings, 3.0)
    except BrokerError as refused:
        return str(refused)
    return f"{what}: {exc}"


def _env_help(text: str, name: str) -> str:
    return f"{text} [env: {env_var(name)}]"


def _global_option_list() -> list[Any]:
    """Fresh instances of the options every command shares; each names its variable."""
    return [
        click.option(
            "--system",
            default=None,
            metavar="MODULE:ATTR",
            help=_env_help(
                "The AgentSystem to run (an AgentSystem or a function returning one); "
                "default: the fintech reference system.",
                "system",
            ),
        ),
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


GLOBAL_OPTION_NAMES = (
    "system",
    "data_dir",
    "kafka_bootstrap",
    "clickhouse_url",
    "topic_prefix",
    "log_level",
)


def global_options(func: Any) -> Any:
    """Add the shared options to a command (the ``agentbus`` group itself)."""
    for option in reversed(_global_option_list()):
        func = option(func)
    return func


def accept_global_options_after(command: click.Command) -> None:
    """Let ``command`` (and every subcommand of a group) take the shared options after
    its name too (``agentbus sql --data-dir d …``); they override those given before."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options_after(sub)
        return
    holder = click.Command("holder")
    for option in _global_option_list():
        holder = option(holder)
    command.params.extend(holder.params)
    callback = command.callback
    assert callback is not None

    @functools.wraps(callback)
    def with_globals(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name, None) for name in GLOBAL_OPTION_NAMES}
        given = {name: value for name, value in given.items() if value is not None}
        if given:
            state = click.get_current_context().ensure_object(CliContext)
            state.overrides = {**state.overrides, **given}
            state._settings = None
            if "log_level" in given:
                logging.getLogger().setLevel(str(given["log_level"]).upper())
        return callback(*args, **kwargs)

    command.callback = with_globals


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
