"""Where and how the local broker runs, and the files one instance owns.

Pure data: nothing here touches the disk or starts anything.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["BrokerPaths", "LocalKafkaConfig", "SaslSslListener", "ScramUser"]

_CONTROLLER_PORT_OFFSET = 1000


@dataclass(frozen=True)
class ScramUser:
    """A SCRAM user the broker knows from its first start (created at format time)."""

    name: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        # The StorageTool's --add-scram syntax is [name=...,...]: keep names plain.
        if not self.name or any(c in self.name for c in ',=[]"\\ '):
            raise ValueError(f'SCRAM user names must be plain (no ,=[]" or spaces): {self.name!r}')
        if not self.password:
            raise ValueError(f"SCRAM user {self.name!r} needs a password")


@dataclass(frozen=True)
class SaslSslListener:
    """A SASL_SSL client listener (TLS + SCRAM), beside or instead of PLAINTEXT.

    The users are written into the KRaft metadata when the storage is formatted,
    so they only take effect on a fresh data directory. When PLAINTEXT is off the
    broker talks to itself over this listener as the first user.
    """

    port: int
    keystore: Path
    """PEM file holding the server's unencrypted PKCS#8 private key and its certificate
    chain; the certificate must name ``host`` (an IP SAN for an address)."""
    cafile: Path
    """PEM CA that signed the keystore's certificate: the broker's own truststore."""
    users: tuple[ScramUser, ...]
    mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    keep_plaintext: bool = True
    """Also open the PLAINTEXT listener on ``LocalKafkaConfig.port``."""

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"SASL_SSL port must be in 1..65535, got {self.port}")
        if not self.users:
            raise ValueError("a SASL_SSL listener needs at least one SCRAM user")
        names = [user.name for user in self.users]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate SCRAM user names in {names}")


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
    sasl_ssl: SaslSslListener | None = None
    """An authenticated, encrypted client listener; ``None``: PLAINTEXT only."""

    def __post_init__(self) -> None:
        for name, value in (("port", self.port), ("controller_port", self.controller_port)):
            if value is not None and not 0 < value < 65536:
                raise ValueError(f"{name} must be in 1..65535, got {value}")
        if self.resolved_controller_port == self.port:
            raise ValueError(f"controller_port must differ from port {self.port}")
        if self.sasl_ssl is not None and self.sasl_ssl.port in (
            self.port,
            self.resolved_controller_port,
        ):
            raise ValueError(f"the SASL_SSL port {self.sasl_ssl.port} must differ from the others")
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
    def plaintext(self) -> bool:
        """Whether the PLAINTEXT listener is open."""
        return self.sasl_ssl is None or self.sasl_ssl.keep_plaintext

    @property
    def bootstrap(self) -> str:
        """Client bootstrap address, e.g. ``127.0.0.1:9092``: PLAINTEXT when open, else SASL_SSL."""
        if self.sasl_ssl is not None and not self.sasl_ssl.keep_plaintext:
            return self.sasl_ssl_bootstrap
        return _hostport(self.host, self.port)

    @property
    def sasl_ssl_bootstrap(self) -> str:
        """Bootstrap address of the SASL_SSL listener (empty if there is none)."""
        return "" if self.sasl_ssl is None else _hostport(self.host, self.sasl_ssl.port)

    @property
    def client_ports(self) -> tuple[int, ...]:
        """Every port this broker listens on."""
        ports = [self.port] if self.plaintext else []
        if self.sasl_ssl is not None:
            ports.append(self.sasl_ssl.port)
        return (*ports, self.resolved_controller_port)

    def instance_properties(self) -> dict[str, str]:
        """The ``server.properties`` keys that depend on this config.

        The controller listener stays PLAINTEXT on ``host`` (loopback by default):
        only this JVM talks to it.
        """
        controller = _hostport(self.host, self.resolved_controller_port)
        advertised = [f"PLAINTEXT://{_hostport(self.host, self.port)}"] if self.plaintext else []
        props = {
            "listeners": "",
            "advertised.listeners": "",
            "controller.quorum.bootstrap.servers": controller,
            "log.dirs": str(BrokerPaths.under(self.data_dir).storage),
        }
        listener = self.sasl_ssl
        if listener is not None:
            advertised.append(f"SASL_SSL://{self.sasl_ssl_bootstrap}")
            props.update(_sasl_ssl_properties(listener))
        props["listeners"] = ",".join([*advertised, f"CONTROLLER://{controller}"])
        props["advertised.listeners"] = ",".join(advertised)
        return props


def _sasl_ssl_properties(listener: SaslSslListener) -> dict[str, str]:
    mechanism = listener.mechanism
    props = {
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
        "SASL_SSL:SASL_SSL",
        "sasl.enabled.mechanisms": mechanism,
        # PEM files straight from the test's (or operator's) CA: no JKS conversion.
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": str(listener.keystore),
        "listener.name.sasl_ssl.ssl.truststore.type": "PEM",
        "listener.name.sasl_ssl.ssl.truststore.location": str(listener.cafile),
    }
    # The listener needs its JAAS entry whether or not brokers talk over it: without
    # one Kafka refuses to start ("Could not find a 'KafkaServer' … entry").
    broker = listener.users[0]
    props[f"listener.name.sasl_ssl.{mechanism.lower()}.sasl.jaas.config"] = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{broker.name}" password="{_jaas_quote(broker.password)}";'
    )
    if not listener.keep_plaintext:
        props["inter.broker.listener.name"] = "SASL_SSL"
        props["sasl.mechanism.inter.broker.protocol"] = mechanism
    return props


def _jaas_quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


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
