"""Regenerate ``infra/kafka/jars.lock`` from the pom: the one step that needs Maven.

Maven resolves ``pom.xml`` once, on a developer's machine, and the lock records
what it copied: the pom's sha256 on top, then one ``group:artifact:version[:classifier]
sha256`` line per jar. With the lock ``agentbus up`` needs neither Maven nor a
resolver: it downloads the listed files from Maven Central and checks each against
its digest (:func:`streams.broker.jars.fetch_locked`). After editing the pom::

    python -m streams.broker.lockfile --update

``--check`` (no Maven, no network) exits 1 when the lock no longer matches the pom.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from streams.broker._jarlock import JarLock, LockedJar, file_sha256, lock_path, pom_sha256
from streams.broker.errors import ToolchainError
from streams.broker.jars import infra_dir, maven_copy

__all__ = ["main", "resolve_with_maven"]


def resolve_with_maven(pom: Path, *, mvn: str = "mvn") -> JarLock:
    """Resolve ``pom`` with Maven (once) and return the lock of what it copied."""
    with tempfile.TemporaryDirectory(prefix="agentbus-lock-") as scratch:
        output = Path(scratch) / "repository"
        maven_copy(pom, output, mvn=mvn, repository_layout=True)
        jars = [_locked(path.relative_to(output), path) for path in output.rglob("*.jar")]
    return JarLock(pom_sha256(pom), tuple(sorted(jars)))


def _locked(relative: Path, path: Path) -> LockedJar:
    *group, artifact, version, name = relative.parts
    stem = f"{artifact}-{version}"
    if not group or not name.startswith(stem) or not name.endswith(".jar"):
        raise ToolchainError(f"unexpected file in Maven's repository layout: {relative}")
    classifier = name[len(stem) : -len(".jar")].removeprefix("-")
    return LockedJar(".".join(group), artifact, version, classifier, file_sha256(path))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m streams.broker.lockfile [--update | --check] [--pom PATH]``."""
    parser = argparse.ArgumentParser(
        prog="python -m streams.broker.lockfile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--update", action="store_true", help="resolve the pom with Maven")
    action.add_argument("--check", action="store_true", help="exit 1 if the lock is stale")
    parser.add_argument("--pom", type=Path, help="default: the installed infra/kafka/pom.xml")
    parser.add_argument("--mvn", default="mvn", help="Maven executable (default: mvn)")
    args = parser.parse_args(argv)
    try:
        pom = args.pom if args.pom is not None else infra_dir() / "pom.xml"
        target = lock_path(pom)
        if args.update:
            lock = resolve_with_maven(pom, mvn=args.mvn)
            target.write_text(lock.render(), encoding="utf-8")
            print(f"{target}: {len(lock.jars)} jars")
            return 0
        current = JarLock.read(target) if target.is_file() else None
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if current is None or current.pom_sha256 != pom_sha256(pom):
        print(f"{target} does not match {pom}; run with --update", file=sys.stderr)
        return 1
    print(f"{target} matches {pom} ({len(current.jars)} jars)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
