"""Importing the client must not import faust (finding 6 of issue 6): faust's import
writes FAUST_DATADIR into the importing program's environment from its argv."""

from __future__ import annotations

import subprocess
import sys


def _imports_in_fresh_interpreter(module: str) -> tuple[bool, str | None]:
    code = (
        "import os, sys\n"
        f"import {module}\n"
        "print('faust' in sys.modules)\n"
        "print(os.environ.get('FAUST_DATADIR'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "--some-user-flag"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in __import__("os").environ.items() if k != "FAUST_DATADIR"},
    ).stdout.split()
    return out[0] == "True", None if out[1] == "None" else out[1]


def test_importing_the_client_leaves_faust_and_the_environment_alone() -> None:
    faust_loaded, datadir = _imports_in_fresh_interpreter("streams.client")
    assert not faust_loaded
    assert datadir is None


def test_the_codec_settings_and_kafka_options_do_not_import_faust() -> None:
    for module in ("streams.codec", "streams.settings", "streams.kafka_options"):
        faust_loaded, datadir = _imports_in_fresh_interpreter(module)
        assert not faust_loaded, module
        assert datadir is None, module
