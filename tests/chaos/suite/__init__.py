"""A reusable chaos scenario on real processes (used by ``test_chaos_suite`` and ``make chaos``).

``python -m tests.chaos.suite --help`` runs one on a broker of its own.
"""

from tests.chaos.suite.fleet import DEFAULT_LAYOUT, Fleet
from tests.chaos.suite.scenario import ChaosPlan, ChaosReport, chaos_settings, run_chaos
from tests.chaos.suite.store_outage import StoreOutage
from tests.chaos.suite.traffic import ODD_KINDS, Traffic

__all__ = [
    "DEFAULT_LAYOUT",
    "ODD_KINDS",
    "ChaosPlan",
    "ChaosReport",
    "Fleet",
    "StoreOutage",
    "Traffic",
    "chaos_settings",
    "run_chaos",
]
