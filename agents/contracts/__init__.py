"""Agent contracts: typed inputs and outputs, checked where agents meet.

Each agent declares an `input_model` and `output_model` (pydantic; `TextInput` and
`TextOutput` by default). Output is validated with `parse_output` before it leaves the
agent; a violation is a `ContractViolation` (a retriable `MalformedOutput`). An
`AgentSystem` declares `Edge`s, producer output feeding consumer input, and
`check_system` verifies each one structurally and by example (`render_output` makes the
examples, and lets the simulated provider answer in valid structured output).
"""

from agents.contracts.check import EdgeReport, check_edge, check_system, format_reports, main_check
from agents.contracts.compat import Mismatch, compare_schemas
from agents.contracts.edge import Edge
from agents.contracts.errors import ContractViolation
from agents.contracts.models import TextInput, TextOutput
from agents.contracts.parse import parse_output, text_field
from agents.contracts.render import Fill, render_output

__all__ = [
    "ContractViolation",
    "Edge",
    "EdgeReport",
    "Fill",
    "Mismatch",
    "TextInput",
    "TextOutput",
    "check_edge",
    "check_system",
    "compare_schemas",
    "format_reports",
    "main_check",
    "parse_output",
    "render_output",
    "text_field",
]
