"""The data folders agentbus reads at run time: Avro schemas, ClickHouse migrations, Kafka config.

They stay at the repository root (``avro/``, ``infra/clickhouse/``, ``infra/kafka/``)
and ``pyproject.toml`` maps each onto a package of its own, ``agentbus_data.<name>``,
so a wheel carries them and an editable install points at the checkout. Both kinds
of install are found the same way: through the import system.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final, Literal

from streams.errors import StreamsError

__all__ = ["DATA_PACKAGES", "DataFolder", "ResourceError", "data_dir"]

DataFolder = Literal["avro", "clickhouse", "kafka"]

DATA_PACKAGES: Final[dict[DataFolder, str]] = {
    "avro": "avro",
    "clickhouse": "infra/clickhouse",
    "kafka": "infra/kafka",
}
"""Each data package's folder, relative to the repository root (mirrors ``package-dir``)."""


class ResourceError(StreamsError):
    """A data folder agentbus ships is missing: the installation is broken.

    Not retriable: reinstalling agentbus is the fix.
    """


def data_dir(name: DataFolder) -> Path:
    """Return the folder of the data package ``agentbus_data.<name>``.

    The folders hold no ``__init__.py`` (``avro/`` with one would hide the Apache
    ``avro`` library from anything run in the checkout), so they are namespace
    packages; ``importlib.resources.files`` cannot open those on Python 3.11 under
    setuptools' editable finder (its path-hook placeholder is not a directory), which
    is why this reads the package's search locations instead. A checkout whose
    editable install predates the data packages is still served from the source tree.
    """
    package = f"agentbus_data.{name}"
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:  # no agentbus_data at all
        spec = None
    locations = spec.submodule_search_locations if spec is not None else None
    for location in locations or ():
        folder = Path(location)
        if folder.is_dir():
            return folder
    root = Path(__file__).resolve().parents[1]
    # Only in a checkout: next to an installed package, ``avro/`` is the Apache library.
    if (root / "pyproject.toml").is_file() and (root / DATA_PACKAGES[name]).is_dir():
        return root / DATA_PACKAGES[name]
    raise ResourceError(
        f"data package {package} ({DATA_PACKAGES[name]}/ in the source) is not installed; "
        "reinstall agentbus (pip install agentbus, or pip install -e . in a checkout)"
    )
