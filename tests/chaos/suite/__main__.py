"""``python -m tests.chaos.suite``: one chaos run on a dedicated broker; prints the report.

Exits 1 if a request is missing, has more than one outcome, or an odd event is
unaccounted for.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from streams.broker import LocalKafka, LocalKafkaConfig
from streams.broker.ports import free_ports
from tests.chaos.suite.scenario import ChaosPlan, chaos_settings, run_chaos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.suite", description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=15.0, help="requests per second")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--outage", type=float, default=30.0, help="store outage, seconds")
    parser.add_argument("--odd-share", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Reconnect chatter while the broker restarts, and one line per gateway query.
    for noisy in ("aiokafka", "httpx"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    plan = ChaosPlan(
        requests=args.requests,
        rate=args.rate,
        kills=args.kills,
        outage_s=args.outage,
        odd_share=args.odd_share,
        seed=args.seed,
    )
    root = Path(tempfile.mkdtemp(prefix="agentbus-chaos-"))
    port, controller = free_ports(2)
    config = LocalKafkaConfig(data_dir=root / "broker", port=port, controller_port=controller)
    broker = LocalKafka(config)
    broker.start()
    try:
        report = run_chaos(plan, broker, chaos_settings(broker.bootstrap, root / "agentbus", plan))
    finally:
        broker.stop()
    print("\n".join(report.lines()))
    ok = not report.missing and not report.multi and not report.odd_unaccounted
    if not args.keep and ok:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"kept {root}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
