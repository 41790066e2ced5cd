"""Token estimates for when a provider does not count tokens itself."""

from __future__ import annotations

__all__ = ["estimate_tokens"]

_CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with BPE tokenizers


def estimate_tokens(text: str) -> int:
    """Approximate token count of `text`: about one token per four characters, 0 if empty."""
    if not text:
        return 0
    return max(1, round(len(text) / _CHARS_PER_TOKEN))
