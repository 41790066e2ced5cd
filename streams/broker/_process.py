"""Detached broker processes: spawn, recognise, and end them by pid.

The broker outlives the Python process that started it (``agentbus up`` returns
while Kafka keeps running), so it is tracked through a pid file and recognised by
its command line, never by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil


def spawn_detached(
    command: Sequence[str], *, console_log: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> int:
    """Start ``command`` in its own session with output appended to ``console_log``.

    Returns the pid. A daemon thread waits on the child so that, when it exits while
    this process still runs, it is reaped at once (no zombie that looks alive) and
    the ``Popen`` object is never collected while the child lives (which would warn).
    """
    console_log.parent.mkdir(parents=True, exist_ok=True)
    with console_log.open("ab") as out:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the caller's terminal must not reach Kafka
            close_fds=True,
        )
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    return process.pid


def is_ours(pid: int, marker: str) -> bool:
    """Whether ``pid`` is a live process whose command line contains ``marker``.

    The marker (the generated properties path) guards against pid reuse and against
    a broker of another data directory.

    A live JVM's ``/proc/<pid>/cmdline`` can read empty for a moment (seen during
    start-up on a loaded machine); an empty answer is asked again for up to
    ``_EMPTY_CMDLINE_PATIENCE`` s, or a starting broker would pass for dead and be
    left running unowned.
    """
    deadline = time.monotonic() + _EMPTY_CMDLINE_PATIENCE
    try:
        process = psutil.Process(pid)
        while True:
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
            cmdline = process.cmdline()
            if cmdline or time.monotonic() >= deadline:
                return marker in cmdline
            time.sleep(0.05)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


_EMPTY_CMDLINE_PATIENCE = 5.0


def wait_gone(pid: int, marker: str, timeout: float) -> bool:
    """Wait until ``pid`` is no longer our process; return whether it went."""
    deadline = time.monotonic() + timeout
    while is_ours(pid, marker):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def terminate(pid: int, marker: str, timeout: float) -> None:
    """SIGTERM ``pid`` (Kafka then flushes and closes its logs), SIGKILL after ``timeout``."""
    if not is_ours(pid, marker):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if wait_gone(pid, marker, timeout):
        return
    # The session id equals the pid (start_new_session), so this also reaches any
    # helper the JVM may have forked.
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_gone(pid, marker, 10.0)


def tail(path: Path, lines: int = 20) -> list[str]:
    """Return the last ``lines`` lines of ``path`` (empty if it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read()
    except FileNotFoundError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]
