"""Start and stop worker processes (the demo, the tests and the chaos tests use it)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from streams.settings import Settings
from streams.warehouse.gateway import find_gateway

__all__ = ["WorkerProcess", "spawn_worker", "wait_for_gateway"]


class WorkerProcess:
    """A ``agentbus run`` / ``agentbus worker`` child process with its log file."""

    def __init__(
        self, process: subprocess.Popen[bytes], log_file: Path, roles: Sequence[str]
    ) -> None:
        self.process = process
        self.log_file = log_file
        self.roles = list(roles)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``condition`` until true; fail early (with the log) if the worker dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if not self.alive():
                raise RuntimeError(
                    f"worker {self.roles} exited ({self.process.returncode}) "
                    f"while waiting for {what}:\n{self.log_tail()}"
                )
            time.sleep(0.1)
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: the crash a chaos test wants."""
        if self.alive():
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` (Faust can hang in shutdown). Idempotent."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def spawn_worker(
    settings: Settings, roles: Sequence[str] = (), *, log_name: str = "run"
) -> WorkerProcess:
    """Start ``agentbus run`` (no roles) or ``agentbus worker <roles>`` in the background."""
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"{log_name}.log"
    command = [sys.executable, "-m", "streams.cli.main"]
    command += ["worker", *roles] if roles else ["run"]
    with log_file.open("ab") as out:
        process = subprocess.Popen(  # our own interpreter and module
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=settings.child_env(),
            start_new_session=True,
        )
    return WorkerProcess(process, log_file, roles or ["all"])


def wait_for_gateway(worker: WorkerProcess, settings: Settings, timeout: float = 120.0) -> None:
    """Block until the worker's sink serves the query gateway (it is then consuming)."""
    worker.wait_for(
        lambda: find_gateway(settings.data_dir) is not None, timeout, "the query gateway"
    )
