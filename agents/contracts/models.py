"""The generic contract every agent has unless it declares its own: text in, text out."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["TextInput", "TextOutput"]


class TextInput(BaseModel):
    """A request in the user's own words: what an agent gets straight from the gateway."""

    text: str


class TextOutput(BaseModel):
    """A prose answer; a bare (non-JSON) model reply is accepted as its `answer`."""

    answer: str
