"""Reading step outputs as data, and what a step result says about its step."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["as_object", "result_fields"]


def as_object(output: str | None) -> dict[str, Any]:
    """A step's output as a JSON object; prose (or any non-object) as ``{"answer": …}``."""
    if not output:
        return {}
    try:
        value = json.loads(output)
    except ValueError:
        return {"answer": output}
    return value if isinstance(value, dict) else {"answer": value}


def result_fields(result: dict[str, Any]) -> dict[str, Any]:
    """The ``WorkflowEvent`` fields a step's ``AgentResult`` fills."""
    return {
        "status": result["status"],
        "output": result.get("output"),
        "model": result.get("model"),
        "attempts": int(result.get("attempts") or 0),
        "input_tokens": int(result.get("input_tokens") or 0),
        "output_tokens": int(result.get("output_tokens") or 0),
        "cost_usd": float(result.get("cost_usd") or 0.0),
    }
