"""The package list, the one thing pyproject.toml cannot say here.

A ``packages.find`` table finds the code packages but not the data packages that
``[tool.setuptools.package-dir]`` maps onto ``avro/`` and ``infra/`` (see
``streams/resources.py``), and a hand-written list would miss the next subpackage:
so the code packages are found and the data packages are the ones that
``[tool.setuptools.package-data]`` names.
"""

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

_config = tomllib.loads((Path(__file__).parent / "pyproject.toml").read_text(encoding="utf-8"))
_data_packages = [name for name in _config["tool"]["setuptools"]["package-data"] if name != "*"]

setup(packages=[*find_packages(include=["agents*", "streams*"]), *_data_packages])
