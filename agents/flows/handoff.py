"""Hand one agent's output to the next agent as its input, checked against its contract."""

from __future__ import annotations

from pydantic import BaseModel

from agents.contracts.parse import parse_output, text_field

__all__ = ["handoff"]


def handoff(output: str, to_model: type[BaseModel], *, agent: str | None = None) -> str:
    """The input text for an agent whose input model is ``to_model``, made of ``output``.

    A text-shaped input (one ``text`` field) takes the output as it is; a structured one
    must validate: raises `ContractViolation` naming the field that does not fit.
    """
    if text_field(to_model) is not None:
        return output
    return parse_output(to_model, output, agent=agent).model_dump_json()
