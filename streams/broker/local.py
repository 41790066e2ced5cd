"""A single-node Apache Kafka 4.x broker (KRaft, combined mode) run by the project.

Everything an instance owns lives under ``<data_dir>/kafka``: the storage the
broker formats once, the generated ``server.properties``, logs, the pid file and
the cluster id. The JVM is detached from the caller, so ``agentbus up`` can return
while Kafka keeps running; any later process finds it again through the pid file.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shlex
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.broker import _process, _properties, jars
from streams.broker._admin import cluster_answers
from streams.broker._filelock import file_lock
from streams.broker.config import BrokerPaths, LocalKafkaConfig, ScramUser
from streams.broker.errors import BrokerError, BrokerStartError

# LocalKafkaConfig and BrokerPaths live in config.py; re-exported as part of this API.
__all__ = ["BrokerPaths", "BrokerStatus", "LocalKafka", "LocalKafkaConfig"]

_JVM_FLAGS = (
    # The flags of Kafka's kafka-run-class.sh: short pauses, no GUI toolkit.
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)


@dataclass(frozen=True)
class BrokerStatus:
    """A snapshot of one local broker."""

    running: bool
    pid: int | None
    bootstrap: str
    data_dir: Path
    log_file: Path


class LocalKafka:
    """Starts, finds and stops the local broker of one data directory.

    ``start`` and ``stop`` are idempotent and serialised across processes by a lock
    file, so a test session and a CLI may both call them. Both block; from async
    code call them through ``asyncio.to_thread``.
    """

    def __init__(self, config: LocalKafkaConfig) -> None:
        self.config = config
        self.paths = BrokerPaths.under(config.data_dir)

    @property
    def bootstrap(self) -> str:
        """Client bootstrap address, e.g. ``127.0.0.1:9092``."""
        return self.config.bootstrap

    def jar_cache_dir(self) -> Path:
        """The folder holding (or about to hold) the broker's jars."""
        if self.config.jar_cache_dir is not None:
            return self.config.jar_cache_dir
        return jars.default_jar_cache(jars.kafka_version(jars.infra_dir() / "pom.xml"))

    def ensure_jars(self) -> list[Path]:
        """Return the broker's jars, running Maven once if the cache is not filled."""
        return jars.ensure_jars(
            jars.infra_dir() / "pom.xml", self.jar_cache_dir(), mvn=self.config.mvn
        )

    def render_properties(self) -> str:
        """Return the ``server.properties`` text this instance runs with."""
        base = (jars.infra_dir() / "server.properties").read_text(encoding="utf-8")
        return _properties.render(base, self.config.instance_properties())

    def client_options(self, user: ScramUser | None = None) -> dict[str, Any]:
        """aiokafka options reaching :attr:`bootstrap`: SASL_SSL as ``user`` (default the
        first) when PLAINTEXT is off or a user is given, else nothing to add."""
        listener = self.config.sasl_ssl
        if listener is None or (user is None and listener.keep_plaintext):
            return {"bootstrap_servers": self.bootstrap}
        user = user or listener.users[0]
        return {
            "bootstrap_servers": self.config.sasl_ssl_bootstrap,
            "security_protocol": "SASL_SSL",
            "ssl_context": ssl.create_default_context(cafile=str(listener.cafile)),
            "sasl_mechanism": listener.mechanism,
            "sasl_plain_username": user.name,
            "sasl_plain_password": user.password,
        }

    def cluster_id(self) -> str:
        """Return this data directory's cluster id, generating it on first use."""
        path = self.paths.cluster_id
        if path.is_file():
            return path.read_text().strip()
        cluster_id = _properties.new_cluster_id()
        _write_atomic(path, cluster_id + "\n")
        return cluster_id

    def java_command(self, java: str, main: str, *args: str) -> list[str]:
        """Return the JVM command line running ``main`` with the broker classpath."""
        infra = jars.infra_dir()
        return [
            java,
            *shlex.split(self.config.heap),
            *_JVM_FLAGS,
            f"-Dlog4j2.configurationFile={infra / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.paths.logs}",
            "-cp",
            str(self.jar_cache_dir() / "*"),
            main,
            *args,
        ]

    def format_storage(self) -> None:
        """Format the KRaft storage as a standalone controller quorum.

        Safe to repeat (``-g`` skips formatted directories); the cluster id is
        generated once and kept in the data directory. ``start`` calls it when the
        storage is not formatted yet, so calling it yourself is rarely needed.
        """
        with file_lock(self.paths.lock):
            pid = self._live_pid()
            if pid is not None:
                raise BrokerError(
                    f"broker {pid} is running on {self.paths.storage}; stop it before formatting",
                    bootstrap=self.bootstrap,
                )
            self._format(self._prepare())

    def _format(self, java: str) -> None:
        command = self.java_command(
            java, "kafka.tools.StorageTool", "format", "--standalone",
            "-t", self.cluster_id(), "-c", str(self.paths.properties), "-g",
            *self._scram_arguments(),
        )  # fmt: skip
        try:
            done = subprocess.run(
                command,
                cwd=self.paths.root,
                env=java_env(),
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerStartError(
                f"formatting {self.paths.storage} took more than {exc.timeout}s",
                log_file=self.paths.log_file,
            ) from exc
        if done.returncode != 0:
            raise BrokerStartError(
                f"formatting {self.paths.storage} with kafka.tools.StorageTool failed "
                f"(exit {done.returncode})",
                log_tail=(done.stdout + done.stderr).splitlines()[-20:],
            )

    def _scram_arguments(self) -> list[str]:
        """``--add-scram`` per user, as salted credentials: no password on a command line."""
        listener = self.config.sasl_ssl
        if listener is None:
            return []
        arguments = []
        for user in listener.users:
            arguments += ["--add-scram", scram_credential(listener.mechanism, user)]
        return arguments

    def start(self, timeout: float = 90.0) -> None:
        """Make sure the broker runs and answers metadata requests.

        Does nothing if this data directory's broker already answers. Otherwise
        fetches jars (first time only), formats the storage (first time only),
        spawns the JVM and waits up to ``timeout`` seconds, counted from the spawn,
        for it to answer. Raises :class:`BrokerStartError` with the end of the log
        if the process dies or stays silent; a broker it spawned is then stopped.
        """
        _require_no_running_loop("start")
        with file_lock(self.paths.lock):
            pid = self._live_pid()
            spawned = pid is None
            if pid is None:
                pid = self._spawn()
            else:
                self._check_same_settings(pid)
            try:
                asyncio.run(self._await_ready(pid, timeout))
            except BrokerStartError:
                if spawned:
                    _process.terminate(pid, str(self.paths.properties), 30.0)
                    self.paths.pid_file.unlink(missing_ok=True)
                raise

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after ``timeout`` s. Idempotent."""
        with file_lock(self.paths.lock):
            pid = self._live_pid()
            if pid is not None:
                marker = str(self.paths.properties)
                _process.terminate(pid, marker, timeout)
                if _process.is_ours(pid, marker):
                    raise BrokerError(
                        f"broker process {pid} survived SIGKILL", bootstrap=self.bootstrap
                    )
            self.paths.pid_file.unlink(missing_ok=True)

    def status(self) -> BrokerStatus:
        """Return whether this data directory's broker process is alive (not whether it answers)."""
        pid = self._live_pid()
        return BrokerStatus(
            running=pid is not None,
            pid=pid,
            bootstrap=self.bootstrap,
            data_dir=self.config.data_dir,
            log_file=self.paths.log_file,
        )

    # -- internals ---------------------------------------------------------------

    def _prepare(self) -> str:
        """Check Java, fetch jars, write the generated properties; return the java path."""
        java = jars.require_java(self.config.java)
        self.ensure_jars()
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        _write_atomic(
            self.paths.properties, self.render_properties(), encoding=_properties.ENCODING
        )
        if self.config.sasl_ssl is not None and not self.config.sasl_ssl.keep_plaintext:
            # The broker's own SCRAM password sits in its JAAS line.
            self.paths.properties.chmod(0o600)
        return java

    def _spawn(self) -> int:
        for port in self.config.client_ports:
            if _port_in_use(self.config.host, port):
                raise BrokerStartError(
                    f"{self.config.host}:{port} is already in use by another process; "
                    "stop it or choose other ports in LocalKafkaConfig",
                    bootstrap=self.bootstrap,
                )
        java = self._prepare()
        if not (self.paths.storage / "meta.properties").is_file():
            self._format(java)
        # Truncated per spawn: it only holds JVM-level output of the current run.
        self.paths.console_log.unlink(missing_ok=True)
        pid = _process.spawn_detached(
            self.java_command(java, "kafka.Kafka", str(self.paths.properties)),
            console_log=self.paths.console_log,
            cwd=self.paths.root,
            env=java_env(),
        )
        _write_atomic(self.paths.pid_file, f"{pid}\n")
        return pid

    def _live_pid(self) -> int | None:
        try:
            pid = int(self.paths.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _process.is_ours(pid, str(self.paths.properties)) else None

    def _check_same_settings(self, pid: int) -> None:
        # The running broker read the generated file at its start; if this config
        # renders differently (other ports), its clients would knock on the wrong door.
        written = self.paths.properties.read_text(encoding=_properties.ENCODING)
        if written != self.render_properties():
            raise BrokerError(
                f"broker {pid} of {self.paths.root} runs with other settings than this "
                "config (ports?); stop it first",
                bootstrap=self.bootstrap,
            )

    async def _await_ready(self, pid: int, patience: float) -> None:
        deadline = time.monotonic() + patience
        marker = str(self.paths.properties)
        while True:
            if not _process.is_ours(pid, marker):
                raise self._start_failure(f"broker process {pid} exited during start-up")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._start_failure(f"broker process {pid} did not answer in {patience:g}s")
            if await cluster_answers(
                self.bootstrap, min(remaining, 5.0), options=self.client_options()
            ):
                return
            await asyncio.sleep(0.2)

    def _start_failure(self, message: str) -> BrokerStartError:
        # JVM-level failures (bad flags, class version) only reach the console log;
        # Kafka's own fatal errors only reach server.log.
        console = _process.tail(self.paths.console_log)
        source = self.paths.console_log if console else self.paths.log_file
        return BrokerStartError(
            message,
            bootstrap=self.bootstrap,
            log_file=source,
            log_tail=console or _process.tail(self.paths.log_file),
        )


def _require_no_running_loop(method: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise BrokerError(
        f"LocalKafka.{method}() blocks; from async code call it via asyncio.to_thread"
    )


def _port_in_use(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def java_env() -> dict[str, str]:
    """Our environment with a UTF-8 locale: the JVM encodes file names and decodes its
    arguments with the locale's charset, so under ``LANG=C`` a data directory such as
    ``/tmp/données`` could be neither passed nor opened."""
    return {**os.environ, "LC_ALL": "C.UTF-8"}


def _write_atomic(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` so readers see the old or the new file, never half of one.

    Characters ``encoding`` lacks become ``\\uXXXX`` (Java's escape); only comments
    can hold them, since property values arrive escaped already.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(text, encoding=encoding, errors="backslashreplace")
    staging.replace(path)


_SCRAM_ITERATIONS = 8192


def scram_credential(mechanism: str, user: ScramUser, salt: bytes | None = None) -> str:
    """The StorageTool's salted ``--add-scram`` value for ``user`` (RFC 5802 SaltedPassword)."""
    digest = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac(digest, user.password.encode(), salt, _SCRAM_ITERATIONS)
    return (
        f"{mechanism}=[name={user.name},iterations={_SCRAM_ITERATIONS},"
        f'salt="{base64.b64encode(salt).decode()}",'
        f'saltedpassword="{base64.b64encode(salted).decode()}"]'
    )
