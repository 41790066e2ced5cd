"""Expand a panel's SQL the way Grafana and the ClickHouse plugin do, so the same SQL
runs without Grafana: in tests against chdb, and in ``agentbus report``.

Three passes, in the plugin's order:

1. ``$__conditionalAll(condition, $var)`` (the plugin's front end,
   ``CHDatasource.applyConditionalAll``): ``1=1`` when ``var`` is All (or empty), else
   the condition.
2. Template variables (Grafana's template service): ``$var``, ``${var}``,
   ``${var:format}``, and the globals ``$__interval``, ``$__interval_ms``, ``$__from``,
   ``$__to``, ``$__range_s``. A multi-value variable without a format becomes
   ``'a','b'`` (the plugin's own formatter).
3. Backend macros (the plugin's ``pkg/macros/macros.go``): ``$__timeFilter(col)``,
   ``$__timeFilter_ms(col)``, ``$__dateFilter(col)``, ``$__dateTimeFilter(d, t)`` /
   ``$__dt``, ``$__timeInterval(col)``, ``$__timeInterval_ms(col)``, ``$__interval_s``,
   ``$__fromTime``, ``$__toTime``, ``$__fromTime_ms``, ``$__toTime_ms``.

An unknown ``$__`` macro raises :class:`MacroError` instead of reaching ClickHouse.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from streams.dashboards.errors import MacroError

__all__ = ["ALL", "Selection", "TimeRange", "auto_interval", "expand", "parse_duration"]

ALL: Final = "$__all"
"""The value Grafana stores for a variable set to All."""


@dataclass(frozen=True)
class Selection:
    """A variable's current value: chosen ``values``, or All (then every one of ``options``)."""

    values: tuple[str, ...] = (ALL,)
    options: tuple[str, ...] = ()

    @property
    def is_all(self) -> bool:
        return not self.values or self.values == (ALL,)

    def effective(self) -> tuple[str, ...]:
        """What the template service substitutes: every option when All is selected."""
        return self.options if self.is_all else self.values


@dataclass(frozen=True)
class TimeRange:
    """The dashboard's time picker: ``[start, end]`` in UTC."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def last(cls, span: dt.timedelta, now: dt.datetime | None = None) -> TimeRange:
        end = now or dt.datetime.now(dt.UTC)
        return cls(end - span, end)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta:
    """``"15m"``, ``"1h"``, ``"7d"`` as Grafana writes them."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h, 7d)")
    return dt.timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])


# Grafana's rangeutil.roundInterval steps, in seconds: an interval is rounded to the
# nearest "nice" one so buckets line up with clock time.
_NICE: Final = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600,
                7200, 10800, 21600, 43200, 86400, 604800)  # fmt: skip


def auto_interval(time_range: TimeRange, max_points: int = 200, minimum_s: int = 1) -> int:
    """The ``$__interval`` Grafana picks for a panel ``max_points`` wide, in seconds."""
    raw = max(time_range.seconds / max(max_points, 1), minimum_s)
    for step in _NICE:
        if step >= raw:
            return step
    return int(math.ceil(raw / 604800) * 604800)


def expand(
    sql: str,
    *,
    time_range: TimeRange,
    interval_s: int,
    variables: Mapping[str, Selection] | None = None,
) -> str:
    """``sql`` as ClickHouse receives it from the plugin."""
    variables = variables or {}
    sql = _conditional_all(sql, variables)
    sql = _template(sql, variables, time_range, interval_s)
    return _backend_macros(sql, time_range, max(interval_s, 1))


# --- 1. $__conditionalAll --------------------------------------------------------------

_CONDITIONAL: Final = "$__conditionalAll("
_VAR_IN_ARG = re.compile(r"(?<=\$\{)\w+(?=[}:])|(?<=\$)\w+")


def _conditional_all(sql: str, variables: Mapping[str, Selection]) -> str:
    # Right to left, as the plugin does, so nested uses resolve inner first.
    index = sql.rfind(_CONDITIONAL)
    while index != -1:
        open_at = index + len(_CONDITIONAL) - 1
        args, close_at = _call_args(sql, open_at)
        if len(args) != 2:
            raise MacroError(f"$__conditionalAll takes 2 arguments, got {len(args)}")
        phrase = args[0]
        name = _VAR_IN_ARG.search(args[1].strip())
        if name:
            selection = variables.get(name[0])
            if selection is None or selection.is_all:
                phrase = "1=1"
        sql = sql[:index] + phrase + sql[close_at + 1 :]
        index = sql.rfind(_CONDITIONAL)
    return sql


def _call_args(sql: str, open_at: int) -> tuple[list[str], int]:
    """Arguments of the call whose ``(`` is at ``open_at``, split at top-level commas,
    and the index of its ``)``; quotes are respected."""
    depth, start, args, quote = 0, open_at + 1, [], ""
    for i in range(open_at, len(sql)):
        char = sql[i]
        if quote:
            if char == quote and sql[i - 1] != "\\":
                quote = ""
            continue
        if char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[start:i])
                return args, i
        elif char == "," and depth == 1:
            args.append(sql[start:i])
            start = i + 1
    raise MacroError(f"unbalanced parentheses after {sql[max(0, open_at - 20) : open_at + 1]!r}")


# --- 2. template variables -------------------------------------------------------------

# Grafana's variable syntax: $name, [[name]] / [[name:format]], ${name} / ${name:format}.
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}")


def _format(values: Sequence[str], fmt: str | None, multi: bool) -> str:
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if fmt == "sqlstring":
        return ",".join("'" + v.replace("'", "''") + "'" for v in values)
    if fmt in ("csv", "raw"):
        return ",".join(values)
    if fmt == "pipe":
        return "|".join(values)
    if fmt is None:
        # The plugin's formatter: arrays become 'a','b'; one value goes in as it is.
        return "'" + "','".join(values) + "'" if multi else (values[0] if values else "")
    raise MacroError(f"unsupported variable format :{fmt}")


def _template(
    sql: str, variables: Mapping[str, Selection], time_range: TimeRange, interval_s: int
) -> str:
    start_ms = int(time_range.start.timestamp() * 1000)
    end_ms = int(time_range.end.timestamp() * 1000)
    globals_ = {
        "__interval": f"{interval_s}s",
        "__interval_ms": str(interval_s * 1000),
        "__from": str(start_ms),
        "__to": str(end_ms),
        "__range_s": str(int(time_range.seconds)),
    }

    def replace(match: re.Match[str]) -> str:
        name = match[1] or match[2] or match[4]
        fmt = match[3] or match[5]
        if name in globals_:
            return globals_[name]
        selection = variables.get(name)
        if selection is None:
            return match[0]  # not a variable (a backend macro such as $__timeFilter)
        values = selection.effective()
        return _format(values, fmt, multi=len(values) != 1 or selection.is_all)

    return _VARIABLE.sub(replace, sql)


# --- 3. backend macros -----------------------------------------------------------------


def _datetime(moment: dt.datetime) -> str:
    return f"toDateTime({int(moment.timestamp())})"


def _datetime64(moment: dt.datetime) -> str:
    return f"fromUnixTimestamp64Milli({int(moment.timestamp() * 1000)})"


def _date(moment: dt.datetime) -> str:
    return f"toDate('{moment.astimezone(dt.UTC):%Y-%m-%d}')"


def _between(column: str, low: str, high: str) -> str:
    return f"{column} >= {low} AND {column} <= {high}"


_Macro = Callable[[list[str], TimeRange, int], str]


def _one(name: str, build: Callable[[str, TimeRange, int], str]) -> _Macro:
    def macro(args: list[str], time_range: TimeRange, interval_s: int) -> str:
        if len(args) != 1:
            raise MacroError(f"$__{name} takes 1 argument, got {len(args)}")
        return build(args[0], time_range, interval_s)

    return macro


def _date_time_filter(args: list[str], r: TimeRange, _: int) -> str:
    if len(args) != 2:
        raise MacroError(f"$__dateTimeFilter takes 2 arguments, got {len(args)}")
    dates = _between(args[0], _date(r.start), _date(r.end))
    times = _between(args[1], _datetime(r.start), _datetime(r.end))
    return f"({dates}) AND ({times})"


_MACROS: Final[dict[str, _Macro]] = {
    "fromTime": lambda _a, r, _i: _datetime(r.start),
    "toTime": lambda _a, r, _i: _datetime(r.end),
    "fromTime_ms": lambda _a, r, _i: _datetime64(r.start),
    "toTime_ms": lambda _a, r, _i: _datetime64(r.end),
    "timeFilter": _one(
        "timeFilter", lambda c, r, _i: _between(c, _datetime(r.start), _datetime(r.end))
    ),
    "timeFilter_ms": _one(
        "timeFilter_ms", lambda c, r, _i: _between(c, _datetime64(r.start), _datetime64(r.end))
    ),
    "dateFilter": _one("dateFilter", lambda c, r, _i: _between(c, _date(r.start), _date(r.end))),
    "dateTimeFilter": _date_time_filter,
    "dt": _date_time_filter,
    "timeInterval": _one(
        "timeInterval",
        lambda c, _r, i: f"toStartOfInterval(toDateTime({c}), INTERVAL {i} second)",
    ),
    "timeInterval_ms": _one(
        "timeInterval_ms",
        lambda c, _r, i: (
            f"toStartOfInterval(toDateTime64({c}, 3), INTERVAL {i * 1000} millisecond)"
        ),
    ),
    "interval_s": lambda _a, _r, i: str(i),
}

_MACRO_NAME = re.compile(r"\$__(\w+)")


def _backend_macros(sql: str, time_range: TimeRange, interval_s: int) -> str:
    out, position = [], 0
    for match in _MACRO_NAME.finditer(sql):
        if match.start() < position:
            continue  # inside the arguments of a macro already expanded
        name = match[1]
        macro = _MACROS.get(name)
        if macro is None:
            raise MacroError(f"unknown macro $__{name} (the ClickHouse plugin has no such macro)")
        args: list[str] = []
        end = match.end()
        if end < len(sql) and sql[end] == "(":
            raw_args, close_at = _call_args(sql, end)
            args = [a.strip() for a in raw_args if a.strip()]
            end = close_at + 1
        out.append(sql[position : match.start()])
        out.append(macro(args, time_range, interval_s))
        position = end
    out.append(sql[position:])
    return "".join(out)
