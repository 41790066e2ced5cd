"""Turning a model's reply into the agent's output model, or a `ContractViolation`."""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from agents.contracts._schema import loc_path
from agents.contracts.errors import ContractViolation

__all__ = ["parse_output", "text_field"]

M = TypeVar("M", bound=BaseModel)

# Chat models like to wrap JSON in a Markdown code fence even when told not to.
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(?P<body>.*?)\n?```$", re.DOTALL)


def text_field(model: type[BaseModel]) -> str | None:
    """The field bare prose fills, if `model` is text-shaped, else None.

    A model is text-shaped when its only required field is a `str` (`TextOutput.answer`,
    `TextInput.text`): a plain-prose reply or request then means that field, so agents
    without a structured contract keep working with providers that answer in prose.
    """
    required = [(name, f) for name, f in model.model_fields.items() if f.is_required()]
    if len(required) == 1 and required[0][1].annotation is str:
        name, field = required[0]
        return field.alias or name
    return None


def parse_output(
    output_model: type[M], text: str, *, agent: str | None = None, model: str | None = None
) -> M:
    """`text` validated as `output_model`; raises `ContractViolation` naming the field.

    `text` is JSON (optionally inside one Markdown code fence); for a text-shaped model
    (see `text_field`) bare prose is accepted too. Blank text is always a violation.
    `agent` and `model` (the LLM that wrote `text`) are context for the violation.
    """
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced is not None:
        body = fenced.group("body").strip()
    contract = output_model.__name__
    if not body:
        raise ContractViolation(
            contract=contract,
            path="",
            detail="empty output",
            output=text,
            agent=agent,
            model=model,
        )
    prose_field = text_field(output_model)
    try:
        if prose_field is not None and body[0] not in "{[":
            return output_model.model_validate({prose_field: body})
        return output_model.model_validate_json(body)
    except ValidationError as exc:
        violations = tuple((loc_path(e["loc"]), e["msg"]) for e in exc.errors())
        path, detail = violations[0]
        raise ContractViolation(
            contract=contract,
            path=path,
            detail=detail,
            violations=violations,
            output=text,
            agent=agent,
            model=model,
        ) from None
