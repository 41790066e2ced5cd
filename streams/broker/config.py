"""Where and how the local broker runs, and the files one instance owns.

Pure data: nothing here touches the disk or starts anything.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BrokerPaths", "LocalKafkaConfig"]

_CONTROLLER_PORT_OFFSET = 1000


@dataclass(frozen=True)
class LocalKafkaConfig:
    """Where and how the local broker runs. Frozen: it enters once, at the edge."""

    data_dir: Path
    """Root data directory; the broker uses ``data_dir / "kafka"`` only."""
    host: str = "127.0.0.1"
    """Interface both listeners bind to, and the address advertised to clients."""
    port: int = 9092
    """Client (PLAINTEXT) listener port."""
    controller_port: int | None = None
    """KRaft controller listener port; ``None`` means ``port + 1000``."""
    jar_cache_dir: Path | None = None
    """Where Maven puts the jars; ``None`` means ``~/.cache/agentbus/kafka-<version>/lib``."""
    heap: str = "-Xms256m -Xmx1g"
    """JVM heap options, split like a shell would."""
    java: str = "java"
    """Java executable (name on PATH or path); must be Java 17+."""
    mvn: str = "mvn"
    """Maven executable, only used for the one-time jar fetch."""

    def __post_init__(self) -> None:
        for name, value in (("port", self.port), ("controller_port", self.controller_port)):
            if value is not None and not 0 < value < 65536:
                raise ValueError(f"{name} must be in 1..65535, got {value}")
        if self.resolved_controller_port == self.port:
            raise ValueError(f"controller_port must differ from port {self.port}")
        if not 0 < self.resolved_controller_port < 65536:
            raise ValueError(
                f"default controller port {self.resolved_controller_port} (port + "
                f"{_CONTROLLER_PORT_OFFSET}) is out of range; set controller_port"
            )
        shlex.split(self.heap)  # fail now, not when the JVM is spawned

    @property
    def resolved_controller_port(self) -> int:
        """The controller port actually used."""
        if self.controller_port is not None:
            return self.controller_port
        return self.port + _CONTROLLER_PORT_OFFSET

    @property
    def bootstrap(self) -> str:
        """Client bootstrap address, e.g. ``127.0.0.1:9092``."""
        return _hostport(self.host, self.port)

    def instance_properties(self) -> dict[str, str]:
        """The ``server.properties`` keys that depend on this config."""
        controller = _hostport(self.host, self.resolved_controller_port)
        return {
            "listeners": f"PLAINTEXT://{self.bootstrap},CONTROLLER://{controller}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap}",
            "controller.quorum.bootstrap.servers": controller,
            "log.dirs": str(BrokerPaths.under(self.data_dir).storage),
        }


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class BrokerPaths:
    """The files and folders of one broker instance."""

    root: Path
    storage: Path
    logs: Path
    log_file: Path
    console_log: Path
    properties: Path
    cluster_id: Path
    pid_file: Path
    lock: Path

    @classmethod
    def under(cls, data_dir: Path) -> BrokerPaths:
        """Return the layout below ``data_dir / "kafka"``."""
        root = data_dir / "kafka"
        logs = root / "logs"
        return cls(
            root=root,
            storage=root / "storage",
            logs=logs,
            log_file=logs / "server.log",
            console_log=logs / "console.log",
            properties=root / "server.properties",
            cluster_id=root / "cluster.id",
            pid_file=root / "broker.pid",
            lock=root / ".lock",
        )
