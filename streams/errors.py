"""The root of every error ``streams`` raises, and what a caller may do about it.

Each subpackage keeps its own ``errors`` module (codec, broker, warehouse, roles),
every class there derives from :class:`StreamsError`, and ``retriable`` is a class
attribute (aiokafka's ``errors.py`` is the model): ``True`` when the same call may
succeed later (a broker that is restarting, a store that is briefly away), ``False``
when something has to change first. Callers branch on the class and on
``retriable``, never on the message text.
"""

from __future__ import annotations

__all__ = ["StreamsError"]


class StreamsError(Exception):
    """Root of every error raised by the ``streams`` package."""

    retriable: bool = False
