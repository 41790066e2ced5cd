"""Routing accuracy and cost per request of the keyword and the trained classifiers.

Run from the repository root::

    .venv/bin/python -m bench.router_bench [--requests 2000]

Prints, per classifier, accuracy on the hand-written held-out set (`agents.reference_eval`)
and on the templated workload (`reference_workload`), and µs per `decide` call (median
and p95 over single calls on workload texts). Both trained estimators are measured: the
router uses the calibrated SVM (`agents.routing.model`). Figures vary with the machine and
its load: compare rows of one run, not across runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

from agents import fintech_system, reference_workload
from agents.reference_eval import REFERENCE_EVAL
from agents.routing import (
    Classifier,
    KeywordClassifier,
    LearnedClassifier,
    declared_examples,
    evaluate,
    train_model,
)


def _micros(classifier: Classifier, texts: list[str]) -> tuple[float, float]:
    samples = []
    for text in texts:
        start = time.perf_counter_ns()
        classifier.decide(text)
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed decide() calls")
    args = parser.parse_args()

    system = fintech_system()
    workload = reference_workload(args.requests, seed=17)
    texts = [r["input"] for r in workload]
    templated = [(r["input"], r["metadata"]["expected_agent"]) for r in workload]
    classifiers: dict[str, Classifier] = {"keywords": KeywordClassifier(system)}
    for estimator in ("svm", "logreg"):
        start = time.perf_counter()
        model = train_model(
            {"declared": declared_examples(system)}, system=system.name, estimator=estimator
        )
        fit_s = time.perf_counter() - start
        print(f"trained {estimator}: {model.info.examples} examples in {fit_s:.1f}s")
        classifiers[f"model ({estimator})"] = LearnedClassifier(system, model)

    print(
        f"\n{'classifier':<16} {'held-out':>9} {'templated':>10} {'µs median':>10} {'µs p95':>8}"
    )
    for name, classifier in classifiers.items():
        held_out = evaluate(classifier, REFERENCE_EVAL, system.names).accuracy
        on_templates = evaluate(classifier, templated, system.names).accuracy
        classifier.decide(texts[0])  # warm caches outside the timing
        median, p95 = _micros(classifier, texts)
        print(f"{name:<16} {held_out:>9.3f} {on_templates:>10.3f} {median:>10.1f} {p95:>8.1f}")
    print(f"\nheld-out: {len(REFERENCE_EVAL)} hand-written requests; templated: {len(templated)}")


if __name__ == "__main__":
    main()
