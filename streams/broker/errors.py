"""Errors raised by :mod:`streams.broker`.

Every error derives from :class:`BrokerError`, carries the context needed to act on
it (bootstrap address, log file and its last lines, topic) and says through
``retriable`` whether trying the same call again can help.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streams.errors import StreamsError


class BrokerError(StreamsError):
    """Root of all errors raised while running or administering the local broker."""

    retriable: bool = False

    def __init__(
        self,
        message: str,
        *,
        bootstrap: str | None = None,
        log_file: Path | None = None,
        log_tail: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.bootstrap = bootstrap
        self.log_file = log_file
        self.log_tail = tuple(log_tail)

    def __str__(self) -> str:
        text = self.message
        if self.bootstrap is not None:
            text += f" [bootstrap {self.bootstrap}]"
        if self.log_tail:
            source = self.log_file if self.log_file is not None else "output"
            lines = "\n".join(f"  | {line}" for line in self.log_tail)
            text += f"\nlast {len(self.log_tail)} lines of {source}:\n{lines}"
        elif self.log_file is not None:
            text += f" (see {self.log_file})"
        return text


class ToolchainError(BrokerError):
    """Java or Maven is missing, too old, or failed to fetch the broker jars.

    Not retriable: something on the machine has to change first.
    """


class BrokerStartError(BrokerError):
    """The broker process exited during start-up, or did not answer in time."""


class BrokerUnavailableError(BrokerError):
    """The broker did not answer a metadata request before the deadline."""

    retriable = True


class TopicError(BrokerError):
    """Kafka refused to create a topic, or the topic never showed up in metadata."""

    def __init__(
        self,
        message: str,
        *,
        topic: str,
        bootstrap: str | None = None,
        retriable: bool = False,
    ) -> None:
        super().__init__(f"topic {topic!r}: {message}", bootstrap=bootstrap)
        self.topic = topic
        self.retriable = retriable


class BrokerAuthError(BrokerError):
    """The broker answers but refuses the connection: wrong credentials, an unknown
    SASL mechanism, or a TLS certificate the client does not trust.

    Not retriable: the settings have to change first.
    """
