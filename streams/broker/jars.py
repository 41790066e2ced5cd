"""The toolchain behind the local broker: the ``infra/kafka`` folder, Java and the jars.

Kafka runs from its Maven artifacts rather than the distribution tarball: Maven
resolves them once into a cache directory, and a marker file holding the hash of
the pom makes later calls free. Editing the pom invalidates the cache.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from streams.broker._filelock import file_lock
from streams.broker.errors import ToolchainError

MIN_JAVA = 17
_MARKER = ".agentbus-complete"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def infra_dir() -> Path:
    """Return the repository's ``infra/kafka`` folder (pom, server and log4j config).

    The package is installed editable, so the folder sits two levels above this one.
    """
    folder = Path(__file__).resolve().parents[2] / "infra" / "kafka"
    if not (folder / "pom.xml").is_file():
        raise ToolchainError(
            f"{folder} with pom.xml, server.properties and log4j2.properties is missing; "
            "streams.broker needs an editable install of the agentbus repository "
            "(pip install -e .)"
        )
    return folder


def kafka_version(pom: Path) -> str:
    """Return the ``kafka.version`` property declared in ``pom``."""
    node = ET.parse(pom).getroot().find("m:properties/m:kafka.version", _POM_NS)
    if node is None or not (node.text or "").strip():
        raise ToolchainError(f"{pom} declares no <kafka.version> property")
    return (node.text or "").strip()


def default_jar_cache(version: str) -> Path:
    """Return ``~/.cache/agentbus/kafka-<version>/lib``, shared by every data dir."""
    return Path.home() / ".cache" / "agentbus" / f"kafka-{version}" / "lib"


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _jars(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jar"))


def ensure_jars(pom: Path, cache_dir: Path, *, mvn: str = "mvn") -> list[Path]:
    """Return the broker's jars in ``cache_dir``, fetching them with Maven if needed.

    Maven runs once per pom content; a second process waiting on the lock finds the
    marker and returns without running it.
    """
    digest = _pom_digest(pom)
    if _complete(cache_dir, digest):
        return _jars(cache_dir)
    with file_lock(cache_dir / ".lock"):
        if not _complete(cache_dir, digest):
            _fetch(pom, cache_dir, mvn=mvn)
            # Written last: its presence means every jar is in place.
            (cache_dir / _MARKER).write_text(digest + "\n")
    return _jars(cache_dir)


def _complete(cache_dir: Path, digest: str) -> bool:
    marker = cache_dir / _MARKER
    return marker.is_file() and marker.read_text().strip() == digest and bool(_jars(cache_dir))


def _fetch(pom: Path, cache_dir: Path, *, mvn: str) -> None:
    executable = shutil.which(mvn)
    if executable is None:
        raise ToolchainError(
            f"Maven ({mvn!r}) is not on PATH; it is needed once to fetch the Kafka jars "
            f"into {cache_dir}. Install Maven 3.8+ (apt-get install maven)."
        )
    # Fetch into a staging folder first so an interrupted run never leaves a
    # half-filled cache that looks complete, and stale jars from an older pom (a
    # second SLF4J binding, say) never end up on the classpath.
    staging = cache_dir / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        executable, "-q", "-B", "-Dstyle.color=never", "-f", str(pom),
        "dependency:copy-dependencies", f"-DoutputDirectory={staging}",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, cwd=cache_dir, capture_output=True, text=True, timeout=900, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(
            f"Maven did not finish fetching the Kafka jars in {exc.timeout}s"
        ) from exc
    if done.returncode != 0 or not _jars(staging):
        tail = (done.stdout + done.stderr).splitlines()[-20:]
        raise ToolchainError(
            f"Maven failed to fetch the Kafka jars (exit {done.returncode}): {' '.join(command)}",
            log_tail=tail,
        )
    for old in _jars(cache_dir):
        old.unlink()
    for jar in _jars(staging):
        jar.rename(cache_dir / jar.name)
    shutil.rmtree(staging, ignore_errors=True)


def require_java(java: str = "java") -> str:
    """Return the path of a Java >= 17 executable, or raise :class:`ToolchainError`."""
    executable = shutil.which(java)
    if executable is None:
        raise ToolchainError(
            f"Java ({java!r}) is not on PATH; Kafka 4 needs Java {MIN_JAVA}+ "
            "(apt-get install openjdk-17-jre-headless)."
        )
    done = subprocess.run(
        [executable, "-version"], capture_output=True, text=True, timeout=60, check=False
    )
    match = _JAVA_VERSION.search(done.stderr + done.stdout)
    if match is None:
        raise ToolchainError(f"could not read the version of {executable}: {done.stderr.strip()}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_392" style
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise ToolchainError(f"{executable} is Java {major}; Kafka 4 brokers need Java {MIN_JAVA}+")
    return executable
