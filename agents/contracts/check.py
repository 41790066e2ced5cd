"""`agentbus contracts check`: does every edge of a system still fit?

An edge fits when the producer's output model satisfies the consumer's input model, at
the consumer field the edge names (`Edge.into`) or as the whole input. Two checks run:
the structural one (`compare_schemas`, rules in `agents.contracts.compat`) and one by
example: outputs of the producer rendered from a few seed texts are parsed as the
producer would, sent as `model_dump_json()`, and validated by the consumer's input
model, which also exercises validators no schema shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from agents.contracts._schema import accepted_schema, loc_path, wire_schema
from agents.contracts.compat import Mismatch, compare_schemas
from agents.contracts.edge import Edge
from agents.contracts.parse import parse_output
from agents.contracts.render import Fill, render_output
from agents.errors import AgentError

if TYPE_CHECKING:
    from agents.spec import AgentSpec
    from agents.system import AgentSystem

__all__ = ["EdgeReport", "check_edge", "check_system", "format_reports", "main_check"]

# Seed texts for example outputs: short and long, one sentence and several, so list
# lengths, optional fields and sentence-derived strings all vary.
_EXAMPLES: tuple[tuple[Fill, str], ...] = (
    ("full", "Two card payments to the same merchant look duplicated. Both are pending."),
    ("minimal", "Nothing unusual was found."),
    ("seeded", "The March statement is ready. Groceries rose 12%. Rent was unchanged."),
    ("seeded", "A wire of 310.00 EUR to ACME Supplies Ltd was sent from a new device."),
    ("seeded", "Your card is frozen. A specialist will review the disputed charge."),
    ("seeded", "Quarterly revenue grew; card fees fell; two refunds are still open."),
)


@dataclass(frozen=True, slots=True)
class EdgeReport:
    """The verdict on one edge: fits when there are no mismatches."""

    edge: Edge
    producer_model: str
    """The producer's output model, e.g. `TransactionAnalysis`."""
    consumer_model: str
    """The consumer's input model, with the field the edge feeds: `ReportRequest.analysis`."""
    mismatches: tuple[Mismatch, ...]
    examples: int
    """Example outputs validated by the consumer."""

    @property
    def ok(self) -> bool:
        """True when the producer's output satisfies the consumer's input."""
        return not self.mismatches


def check_system(system: AgentSystem) -> list[EdgeReport]:
    """One report per edge of `system`, in declaration order."""
    return [check_edge(system, edge) for edge in system.edges]


def check_edge(system: AgentSystem, edge: Edge) -> EdgeReport:
    """Check one edge of `system`, structurally and by example."""
    producer, consumer = system.get(edge.producer), system.get(edge.consumer)
    consumer_model = consumer.input_model.__name__
    field_key = _field_key(consumer.input_model, edge.into)
    consumer_schema = accepted_schema(consumer.input_model)
    if field_key is not None:
        consumer_model += f".{edge.into}"
        # The field's schema, keeping the input's `$defs` so its refs still resolve.
        consumer_schema = {
            **consumer_schema["properties"][field_key],
            "$defs": consumer_schema.get("$defs", {}),
        }
    mismatches = compare_schemas(
        wire_schema(producer.output_model), consumer_schema, path=field_key or ""
    )
    found, examples = _by_example(producer, consumer, field_key)
    seen = {m.path for m in mismatches}
    # An example failing where the schema check already complained adds nothing.
    mismatches += [m for m in found if m.path not in seen]
    return EdgeReport(
        edge=edge,
        producer_model=producer.output_model.__name__,
        consumer_model=consumer_model,
        mismatches=tuple(mismatches),
        examples=examples,
    )


def format_reports(reports: Iterable[EdgeReport]) -> str:
    """A readable verdict: one line per edge, and a diff per mismatch of a broken one.

    In a diff, `-` is what the consumer expects and `+` what the producer sends.
    """
    reports = list(reports)
    if not reports:
        return "contracts: the system declares no edges; nothing to check"
    broken = sum(not report.ok for report in reports)
    lines = [
        f"contracts: {len(reports)} edge(s) checked, "
        + (f"{broken} broken" if broken else "all hold")
    ]
    for report in reports:
        edge = report.edge
        mark = "✓" if report.ok else "✗"
        lines.append(
            f"{mark} {edge.label}: {report.producer_model} → {report.consumer_model}"
            + (f"  ({edge.description})" if edge.description else "")
        )
        width = max(len(edge.producer), len(edge.consumer)) + len(" expects:")
        for mismatch in report.mismatches:
            lines.append(f"    {mismatch.path or '(whole output)'}: {mismatch.problem}")
            lines.append(f"      - {f'{edge.consumer} expects:':<{width}} {mismatch.expected}")
            lines.append(f"      + {f'{edge.producer} sends:':<{width}} {mismatch.found}")
    return "\n".join(lines)


def main_check(system: AgentSystem) -> tuple[bool, str]:
    """Everything `agentbus contracts check` does but print: (all edges hold, report)."""
    reports = check_system(system)
    return all(report.ok for report in reports), format_reports(reports)


def _field_key(model: type[BaseModel], into: str | None) -> str | None:
    """The JSON key of the consumer field `into`, or None for the whole input."""
    if into is None:
        return None
    field = model.model_fields[into]
    return field.alias or into


def _by_example(
    producer: AgentSpec, consumer: AgentSpec, field_key: str | None
) -> tuple[list[Mismatch], int]:
    found: dict[str, Mismatch] = {}
    checked = 0
    for fill, seed in _EXAMPLES:
        try:
            sent = parse_output(
                producer.output_model,
                render_output(producer.output_model, seed, fill=fill),
                agent=producer.name,
            ).model_dump(mode="json")
            document: Any = sent
            if field_key is not None:
                # The consumer's other fields as a valid request would have them.
                document = json.loads(render_output(consumer.input_model, seed, fill=fill))
                document[field_key] = sent
        except AgentError as exc:  # a model the sim cannot fill is a broken contract too
            found.setdefault("", Mismatch("", "cannot render example", "valid output", str(exc)))
            continue
        checked += 1
        try:
            consumer.input_model.model_validate_json(json.dumps(document))
        except ValidationError as exc:
            for error in exc.errors():
                path = _generic(loc_path(error["loc"]))
                value = json.dumps(_at(document, error["loc"]), ensure_ascii=False)
                found.setdefault(
                    path, Mismatch(path, "example rejected", error["msg"], value, "example")
                )
    return list(found.values()), checked


def _generic(path: str) -> str:
    """`analysis.flagged[0].amount` → `analysis.flagged[].amount`, as schema paths read."""
    out: list[str] = []
    depth = 0
    for char in path:
        if char == "[":
            depth += 1
            out.append("[]")
        elif char == "]":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def _at(document: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        try:
            document = document[part]
        except (KeyError, IndexError, TypeError):
            return None
    return document
