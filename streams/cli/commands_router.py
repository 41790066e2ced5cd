"""``router train`` and ``router eval``: the star hub's trained classifier.

Training reads every agent's declared ``examples`` and, unless told not to, the routed
history in ClickHouse: requests whose task ended ``ok`` and not degraded, i.e. answered
by the agent they were routed to. Evaluation is on a held-out set the model never saw.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from agents.reference_eval import REFERENCE_EVAL
from agents.routing import (
    Evaluation,
    KeywordClassifier,
    LabelledText,
    LearnedClassifier,
    RouterModel,
    RouterModelError,
    declared_examples,
    evaluate,
    latest_model_path,
    train_model,
)
from agents.system import AgentSystem
from streams.cli.context import CliContext, fail, pass_cli
from streams.settings import Settings
from streams.system_loader import DEFAULT_SYSTEM, load_system
from streams.warehouse import WarehouseError
from streams.warehouse.access import Reader, open_reader

__all__ = ["HISTORY_SQL", "render_evaluation", "routed_history", "router"]

console = Console()

HISTORY_SQL = """
SELECT t.input AS input, r.agent AS agent
FROM (
    SELECT task_id, input FROM agentbus.tasks FINAL
    WHERE producer = 'router' AND routing_confidence >= {min_confidence:Float64}
) AS t
INNER JOIN (
    SELECT task_id, agent FROM agentbus.results FINAL
    WHERE status = 'ok' AND answered_by IS NULL
) AS r ON r.task_id = t.task_id
ORDER BY t.task_id
LIMIT {limit:UInt64}
"""
"""Routed requests answered ``ok`` by the agent they were routed to (not a fallback)."""


def _system(settings: Settings) -> AgentSystem:
    return load_system(settings.system or DEFAULT_SYSTEM)


def _routable(system: AgentSystem) -> list[str]:
    """The agents star traffic can be routed to: those with examples, keywords or
    override rules, and the default. Agents only flows run (a pipeline stage, a mesh
    member) would add empty rows and columns to every table."""
    return [
        spec.name
        for spec in system.agents
        if spec.examples
        or spec.keywords
        or spec.route_overrides
        or spec.name == system.default_agent
    ]


def _held_out(settings: Settings, eval_file: Path | None) -> list[LabelledText]:
    """The held-out set: ``--eval-file`` (JSON lines of {"text", "agent"}), else the
    reference set for the reference system."""
    if eval_file is not None:
        pairs: list[LabelledText] = []
        for number, line in enumerate(eval_file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                pairs.append((str(row["text"]), str(row["agent"])))
            except (ValueError, KeyError, TypeError) as exc:
                fail(f"{eval_file}:{number}: not a JSON object with 'text' and 'agent' ({exc})")
        return pairs
    if (settings.system or DEFAULT_SYSTEM) == DEFAULT_SYSTEM:
        return list(REFERENCE_EVAL)
    return []


def routed_history(
    reader: Reader, system: AgentSystem, min_confidence: float, limit: int
) -> list[LabelledText]:
    """(input, agent) of routed requests answered ok by their own agent; agents the system
    no longer has are left out."""
    result = reader.query(HISTORY_SQL, {"min_confidence": min_confidence, "limit": limit})
    return [(str(text), str(agent)) for text, agent in result.rows if str(agent) in system]


def _history(
    settings: Settings, system: AgentSystem, min_confidence: float, limit: int
) -> list[LabelledText]:
    hint = "use --no-history to train on the declared examples only"
    try:
        reader = open_reader(
            settings.clickhouse_dsn, settings.data_dir, settings.clickhouse_cluster
        )
    except WarehouseError as exc:
        fail(f"routed history: {exc} ({hint})")
    try:
        return routed_history(reader, system, min_confidence, limit)
    except WarehouseError as exc:
        fail(f"routed history: {exc} ({hint})")
    finally:
        reader.close()


@click.group()
def router() -> None:
    """The star hub's trained classifier: train it, measure it."""


@router.command("train")
@click.option(
    "--from-history/--no-history",
    default=True,
    show_default=True,
    help="Also learn from routed requests in ClickHouse answered ok by their agent.",
)
@click.option(
    "--min-confidence",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Use only history routed with at least this confidence.",
)
@click.option(
    "--history-limit",
    type=click.IntRange(min=0),
    default=100_000,
    show_default=True,
    help="Most routed requests read from the history.",
)
@click.option(
    "--estimator",
    type=click.Choice(["svm", "logreg"]),
    default="svm",
    show_default=True,
    help="Calibrated linear SVM, or logistic regression (bench/router_bench.py compares them).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Artifact file. Default: <data dir>/router/<system>/<version>.joblib, where "
    "the router finds the newest.",
)
@click.option(
    "--eval-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help='Held-out set, JSON lines {"text": ..., "agent": ...}. Default: the '
    "reference set for the reference system.",
)
@pass_cli
def train(
    state: CliContext,
    from_history: bool,
    min_confidence: float,
    history_limit: int,
    estimator: str,
    out: Path | None,
    eval_file: Path | None,
) -> None:
    """Train the router on the agents' declared examples (and routed history), measure it
    on the held-out set, and write it as a versioned artifact the router picks up on start."""
    settings = state.settings()
    system = _system(settings)
    sources = {"declared": declared_examples(system)}
    if from_history:
        sources["history"] = _history(settings, system, min_confidence, history_limit)
    held_out = _held_out(settings, eval_file)
    kind = "held-out"
    if not held_out:
        # No held-out set of its own: measure on a fifth of the declared examples, kept
        # out of a first fit; the artifact is then fitted on everything.
        held_out = [pair for pair in sources["declared"] if _fifth(pair[0])]
        kind = "split"
    try:
        model = _fit(sources, system, estimator, exclude=[text for text, _ in held_out])
        learned = LearnedClassifier(system, model, min_confidence=settings.router_min_confidence)
        measured = evaluate(learned, held_out, _routable(system)) if held_out else None
        if kind == "split":
            model = _fit(sources, system, estimator, exclude=())
    except RouterModelError as exc:
        fail(str(exc))
    if measured is not None:
        model = model.with_evaluation(measured.accuracy, measured.total)
    path = model.write(out) if out else model.save(settings.data_dir / "router")
    info = model.info
    console.print(f"model      {info.version}")
    console.print(
        f"examples   {info.examples} ({_counts(info.sources)}; per agent {_counts(info.per_agent)})"
    )
    if info.held_out_excluded:
        console.print(f"excluded   {info.held_out_excluded} held-out texts found in the history")
    if measured is not None:
        keywords = evaluate(KeywordClassifier(system), held_out, _routable(system))
        where = "requests" if kind == "held-out" else "declared examples kept out of a first fit"
        console.print(
            f"{kind:<10} accuracy {measured.accuracy:.3f} on {measured.total} {where} "
            f"(keywords: {keywords.accuracy:.3f})"
        )
    else:
        console.print("held-out   none (give --eval-file to measure)")
    console.print(f"written    {path}")


def _fifth(text: str) -> bool:
    """A stable fifth of all texts (by content hash), the same on every run."""
    return hashlib.sha256(text.encode()).digest()[0] % 5 == 0


def _fit(
    sources: dict[str, list[LabelledText]],
    system: AgentSystem,
    estimator: str,
    *,
    exclude: list[str] | tuple[()],
) -> RouterModel:
    return train_model(
        sources,
        system=system.name,
        estimator="logreg" if estimator == "logreg" else "svm",
        exclude=exclude,
    )


def _counts(counts: object) -> str:
    assert isinstance(counts, dict)
    return ", ".join(f"{key} {value}" for key, value in counts.items())


def _load(settings: Settings, system: AgentSystem, path: Path | None) -> RouterModel:
    found = (
        path
        or settings.router_model
        or latest_model_path(settings.data_dir / "router", system.name)
    )
    if found is None:
        fail(
            f"no trained router model for system {system.name!r} under "
            f"{settings.data_dir / 'router'}: run `agentbus router train` first"
        )
    try:
        return RouterModel.load(found)
    except RouterModelError as exc:
        fail(str(exc))


@router.command("eval")
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Artifact to measure. Default: AGENTBUS_ROUTER_MODEL, else the newest trained.",
)
@click.option(
    "--eval-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help='Held-out set, JSON lines {"text": ..., "agent": ...}. Default: the reference '
    "set for the reference system.",
)
@click.option("--show-errors", is_flag=True, help="List every misrouted request.")
@pass_cli
def eval_(
    state: CliContext, model_path: Path | None, eval_file: Path | None, show_errors: bool
) -> None:
    """Measure the trained model and the keyword baseline side by side on the held-out
    set: accuracy, per-agent precision, recall and F1, and both confusion matrices."""
    settings = state.settings()
    system = _system(settings)
    held_out = _held_out(settings, eval_file)
    if not held_out:
        fail("no held-out set for this system: give --eval-file (JSON lines text/agent)")
    model = _load(settings, system, model_path)
    try:
        learned = LearnedClassifier(system, model, min_confidence=settings.router_min_confidence)
    except RouterModelError as exc:
        fail(str(exc))
    results = {
        f"model {model.version}": evaluate(learned, held_out, _routable(system)),
        "keywords": evaluate(KeywordClassifier(system), held_out, _routable(system)),
    }
    for table in render_evaluation(results):
        console.print(table)
    if show_errors:
        for name, result in results.items():
            console.print(f"[bold]{name}[/]: {len(result.misrouted)} misrouted")
            for text, expected, routed in result.misrouted:
                console.print(f"  {expected} → {routed}: {text!r}")


def render_evaluation(results: dict[str, Evaluation]) -> list[Table]:
    """A summary table (accuracy and per-agent precision/recall/F1, classifiers side by
    side) and one confusion matrix per classifier (rows: expected, columns: routed)."""
    names = list(results)
    first = results[names[0]]
    summary = Table("agent", "requests", title=f"held-out set: {first.total} requests")
    for name in names:
        summary.add_column(f"{name}\nP / R / F1", justify="right")
    for agent in first.agents:
        cells = []
        for name in names:
            score = results[name].per_agent.get(agent)
            cells.append(
                "-"
                if score is None
                else f"{score.precision:.2f} / {score.recall:.2f} / {score.f1:.2f}"
            )
        summary.add_row(agent, str(first.per_agent[agent].support), *cells)
    summary.add_row(
        "[bold]accuracy[/]",
        str(first.total),
        *(f"[bold]{results[n].accuracy:.3f}[/]" for n in names),
    )
    tables = [summary]
    for name in names:
        result = results[name]
        matrix = Table(
            "expected \\ routed", *result.agents, title=f"confusion: {name}", title_justify="left"
        )
        for agent, row in zip(result.agents, result.confusion, strict=True):
            matrix.add_row(
                agent,
                *(
                    f"[green]{n}[/]" if i == j else (f"[red]{n}[/]" if n else "·")
                    for j, n in enumerate(row)
                    for i in [result.agents.index(agent)]
                ),
            )
        tables.append(matrix)
    return tables
