"""Schemas of the long-format frames passed between stages, and their validators (leaf layer).

::

    frame          keys                 values
    history        project, ts          calls, aht_s
    demand         project, ts          calls, aht_s, calls_lo_95 <= calls_lo_80 <= calls
                                        <= calls_hi_80 <= calls_hi_95
    requirements   project, ts          agents, load_erl, sl, model, sl_target, answer_within_s
    schedule       agent, start, end    activity (work, break, lunch, training, off), project
    kpis           project, ts          offered, answered, abandoned, sl, asa_s, occupancy
                                        (each optionally with ``_lo``/``_hi`` bounds)

A schema is declarative (``FrameSchema`` of ``Column`` s plus ``Order`` s between columns);
``validate`` checks a frame against it and returns a cleaned copy with canonical dtypes
(timestamps tz-aware ``datetime64``, numbers ``float64``/``int64``, text pandas' default string
dtype), extra columns kept. The first problem raises ``FrameError`` naming the frame, the
column, the row (0-based position; the CSV line for ``read_frame_csv``), the row's keys and the
expected value::

    history: column 'calls' row 17 (project=bank, ts=2026-03-02 09:15:00+01:00): -3.0 is
    below 0; expected a number >= 0
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import pandas as pd

from wfm.errors import FrameError, InputError
from wfm.grid import _BadTime, _parse_site_time, check_tz

__all__ = [
    "ACTIVITIES",
    "CALL_HISTORY",
    "DEMAND",
    "HISTORY",
    "KPIS",
    "REQUIREMENTS",
    "SCHEDULE",
    "Column",
    "ColumnKind",
    "FrameSchema",
    "Order",
    "read_frame_csv",
    "validate",
    "validate_demand",
    "validate_history",
    "validate_kpis",
    "validate_requirements",
    "validate_schedule",
]

ColumnKind = Literal["str", "ts", "float", "int"]

ACTIVITIES: tuple[str, ...] = ("work", "break", "lunch", "training", "off")
"""The activities a schedule segment may have."""

# pandas' default dtype for text: ``str`` on pandas >= 3, ``object`` on pandas 2.
_STR_DTYPE = pd.Series(["x"]).dtype


def _num(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Column:
    """One column of a frame schema.

    ``min_value``/``max_value`` bound numbers (inclusive unless ``min_exclusive``/
    ``max_exclusive``); ``allowed`` restricts text to a set of values; ``nullable`` admits
    missing values (``None``, ``NaN``, ``NaT``, empty text)."""

    name: str
    kind: ColumnKind
    required: bool = True
    min_value: float | None = None
    max_value: float | None = None
    nullable: bool = False
    min_exclusive: bool = False
    max_exclusive: bool = False
    allowed: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("str", "ts", "float", "int"):
            raise InputError(
                f"column {self.name!r}: unknown kind {self.kind!r}",
                field="kind",
                expected="one of str, ts, float, int",
            )

    @property
    def expected(self) -> str:
        """What a valid value looks like, in words (used in error messages)."""
        if self.kind == "ts":
            return "tz-aware timestamps"
        if self.kind == "str":
            if self.allowed is not None:
                return "one of " + ", ".join(self.allowed)
            return "a non-empty text"
        noun = "an integer" if self.kind == "int" else "a number"
        lo, hi = self.min_value, self.max_value
        if lo is not None and hi is not None:
            left = "(" if self.min_exclusive else "["
            right = ")" if self.max_exclusive else "]"
            return f"{noun} in {left}{_num(lo)}, {_num(hi)}{right}"
        if lo is not None:
            return f"{noun} {'>' if self.min_exclusive else '>='} {_num(lo)}"
        if hi is not None:
            return f"{noun} {'<' if self.max_exclusive else '<='} {_num(hi)}"
        return noun


@dataclass(frozen=True)
class Order:
    """Columns whose values must be non-decreasing from left to right within each row
    (strictly increasing if ``strict``). Columns absent from a frame are skipped; missing
    values are not compared."""

    columns: tuple[str, ...]
    strict: bool = False

    @property
    def expected(self) -> str:
        return (" < " if self.strict else " <= ").join(self.columns)


@dataclass(frozen=True)
class FrameSchema:
    """A long-format frame: its name, key columns (unique together), columns and orders."""

    name: str
    keys: tuple[str, ...]
    columns: tuple[Column, ...]
    orders: tuple[Order, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise InputError(
                f"schema {self.name}: a column is listed twice",
                field="columns",
                expected="distinct column names",
            )
        for key in self.keys:
            if key not in names:
                raise InputError(
                    f"schema {self.name}: key {key!r} is not a column",
                    field="keys",
                    expected="keys among the columns",
                )
        for order in self.orders:
            for name in order.columns:
                if name not in names:
                    raise InputError(
                        f"schema {self.name}: ordered column {name!r} is not a column",
                        field="orders",
                        expected="ordered columns among the columns",
                    )

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns, in schema order."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        """The column called ``name`` (``KeyError`` if there is none)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


# --------------------------------------------------------------------------------------------
# the frames of DESIGN.md

HISTORY = FrameSchema(
    name="history",
    keys=("project", "ts"),
    columns=(
        Column("project", "str"),
        Column("ts", "ts"),
        Column("calls", "float", min_value=0.0),
        Column("aht_s", "float", min_value=0.0),
    ),
)
"""Observed contacts per project and interval start: ``calls`` offered, ``aht_s`` handle time."""

CALL_HISTORY = FrameSchema(
    name="history",
    keys=("project", "ts"),
    columns=(
        Column("project", "str"),
        Column("ts", "ts"),
        Column("calls", "float", min_value=0.0),
        Column("aht_s", "float", min_value=0.0, required=False, nullable=True),
    ),
)
"""History for forecasting: like ``HISTORY`` but ``aht_s`` may be absent (calls only)."""

_BOUNDS = ("calls_lo_95", "calls_lo_80", "calls", "calls_hi_80", "calls_hi_95")

DEMAND = FrameSchema(
    name="demand",
    keys=("project", "ts"),
    columns=(
        *HISTORY.columns,
        *(Column(b, "float", min_value=0.0) for b in _BOUNDS if b != "calls"),
    ),
    orders=(Order(_BOUNDS),),
)
"""Forecast contacts per project and interval start, with 80 % and 95 % prediction bounds."""

REQUIREMENTS = FrameSchema(
    name="requirements",
    keys=("project", "ts"),
    columns=(
        Column("project", "str"),
        Column("ts", "ts"),
        Column("agents", "int", min_value=0.0),
        Column("load_erl", "float", min_value=0.0),
        # sl, sl_target and answer_within_s are missing on outbound rows (no service target)
        Column("sl", "float", min_value=0.0, max_value=1.0, nullable=True),
        Column("model", "str"),
        Column(
            "sl_target",
            "float",
            min_value=0.0,
            max_value=1.0,
            min_exclusive=True,
            max_exclusive=True,
            nullable=True,
        ),
        Column("answer_within_s", "float", min_value=0.0, nullable=True),
    ),
)
"""Minimal agents per project and interval start meeting the project's targets."""

SCHEDULE = FrameSchema(
    name="schedule",
    keys=("agent", "start", "end"),
    columns=(
        Column("agent", "str"),
        Column("start", "ts"),
        Column("end", "ts"),
        Column("activity", "str", allowed=ACTIVITIES),
        Column("project", "str", nullable=True),
    ),
    orders=(Order(("start", "end"), strict=True),),
)
"""Agent segments ``[start, end)`` with an activity and (for work) a project."""

_KPI_VALUES = (
    Column("offered", "float", min_value=0.0),
    Column("answered", "float", min_value=0.0),
    Column("abandoned", "float", min_value=0.0),
    # sl, asa_s and occupancy are undefined (missing) in an interval with nothing offered
    Column("sl", "float", min_value=0.0, max_value=1.0, nullable=True),
    Column("asa_s", "float", min_value=0.0, nullable=True),
    Column("occupancy", "float", min_value=0.0, max_value=1.0, nullable=True),
)

KPIS = FrameSchema(
    name="kpis",
    keys=("project", "ts"),
    columns=(
        Column("project", "str"),
        Column("ts", "ts"),
        *_KPI_VALUES,
        *(
            Column(
                f"{c.name}{suffix}",
                c.kind,
                required=False,
                min_value=c.min_value,
                max_value=c.max_value,
                nullable=True,
            )
            for c in _KPI_VALUES
            for suffix in ("_lo", "_hi")
        ),
    ),
    orders=tuple(Order((f"{c.name}_lo", f"{c.name}_hi")) for c in _KPI_VALUES),
)
"""Simulated KPIs per project and interval start, with optional confidence bounds."""


# --------------------------------------------------------------------------------------------
# validation


def _is_missing(v: object) -> bool:
    if v is None or v is pd.NaT or v is pd.NA:
        return True
    if isinstance(v, float | np.floating):
        return bool(np.isnan(v))
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, np.datetime64):
        return bool(np.isnat(v))
    return False


def _fmt(v: object) -> str:
    """A value as it appears in a message."""
    if _is_missing(v):
        return "missing"
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return repr(float(v))
    if isinstance(v, str):
        return repr(v)
    return str(v)


def _fmt_key(v: object) -> str:
    return v if isinstance(v, str) else _fmt(v)


@dataclass(frozen=True)
class _Rows:
    """How rows are named in messages: 0-based positions, or CSV line numbers."""

    word: str = "row"
    numbers: Sequence[int] | None = None

    def number(self, pos: int) -> int:
        return pos if self.numbers is None else int(self.numbers[pos])


class _Checker:
    def __init__(self, frame: pd.DataFrame, schema: FrameSchema, rows: _Rows) -> None:
        self.out = frame
        self.schema = schema
        self.rows = rows

    def _where(self, pos: int, skip: str | None = None) -> str:
        keys = [k for k in self.schema.keys if k in self.out.columns and k != skip]
        context = ", ".join(f"{k}={_fmt_key(self.out[k].iloc[pos])}" for k in keys)
        return f"{self.rows.word} {self.rows.number(pos)}" + (f" ({context})" if context else "")

    def fail(self, column: str, pos: int, problem: str, expected: str) -> NoReturn:
        raise FrameError(
            f"{self.schema.name}: column '{column}' {self._where(pos, skip=column)}: "
            f"{problem}; expected {expected}",
            field=column,
            row=self.rows.number(pos),
            expected=expected,
        )

    # ---------------------------------------------------------------------- per column

    def text(self, col: Column) -> pd.Series[Any]:
        raw = self.out[col.name].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(raw, skipna=False) == "string":
            # all text (the CSV case): check vectorised, report the first bad row
            stripped = pd.Series(raw, index=self.out.index, dtype=object).str.strip()
            missing = (stripped == "").to_numpy()
            if missing.any() and not col.nullable:
                self.fail(col.name, int(np.argmax(missing)), "value is missing", col.expected)
            if col.allowed is not None:
                bad = ~stripped.isin(list(col.allowed)).to_numpy() & ~missing
                if bad.any():
                    pos = int(np.argmax(bad))
                    text = str(stripped.iloc[pos])
                    self.fail(col.name, pos, f"{text!r} is not an allowed value", col.expected)
            cleaned_s = stripped.where(~missing, None)
            return pd.Series(cleaned_s, index=self.out.index, dtype=_STR_DTYPE, name=col.name)
        cleaned: list[str | None] = []
        for pos, v in enumerate(raw):
            if _is_missing(v):
                if not col.nullable:
                    self.fail(col.name, pos, "value is missing", col.expected)
                cleaned.append(None)
                continue
            text = str(v).strip()
            if col.allowed is not None and text not in col.allowed:
                self.fail(col.name, pos, f"{text!r} is not an allowed value", col.expected)
            cleaned.append(text)
        return pd.Series(cleaned, index=self.out.index, dtype=_STR_DTYPE, name=col.name)

    def number(self, col: Column) -> pd.Series[Any]:
        values = self.out[col.name]
        raw = values.to_numpy(dtype=object)
        if values.dtype == bool:
            values = values.astype(np.float64)
        num = np.asarray(pd.to_numeric(values, errors="coerce"), dtype=np.float64)
        expected = col.expected

        def show(x: np.float64) -> str:  # integer columns show whole numbers as integers
            if col.kind == "int" and np.isfinite(x) and x == np.round(x):
                return str(int(x))
            return _fmt(x)

        for bad in np.flatnonzero(~np.isfinite(num)):
            pos = int(bad)
            if _is_missing(raw[pos]):
                if col.nullable:
                    continue
                self.fail(col.name, pos, "value is missing", expected)
            if np.isnan(num[pos]):
                self.fail(col.name, pos, f"{_fmt(raw[pos])} is not a number", expected)
            self.fail(col.name, pos, f"{_fmt(num[pos])} is not finite", expected)
        finite = np.isfinite(num)
        if col.kind == "int":
            whole = ~finite | (num == np.round(num))
            if not whole.all():
                pos = int(np.flatnonzero(~whole)[0])
                self.fail(col.name, pos, f"{_fmt(num[pos])} is not a whole number", expected)
        if col.min_value is not None:
            low = num <= col.min_value if col.min_exclusive else num < col.min_value
            if (low & finite).any():
                pos = int(np.flatnonzero(low & finite)[0])
                word = "not above" if col.min_exclusive else "below"
                self.fail(
                    col.name, pos, f"{show(num[pos])} is {word} {_num(col.min_value)}", expected
                )
        if col.max_value is not None:
            high = num >= col.max_value if col.max_exclusive else num > col.max_value
            if (high & finite).any():
                pos = int(np.flatnonzero(high & finite)[0])
                word = "not below" if col.max_exclusive else "above"
                self.fail(
                    col.name, pos, f"{show(num[pos])} is {word} {_num(col.max_value)}", expected
                )
        if col.kind == "int":
            if finite.all():
                return pd.Series(num.astype(np.int64), index=self.out.index, name=col.name)
            return pd.Series(num, index=self.out.index, name=col.name).astype("Int64")
        return pd.Series(num, index=self.out.index, name=col.name)

    def timestamps(self, col: Column, tz: str | None, naive_tz: str | None) -> pd.Series[Any]:
        values = self.out[col.name]
        if isinstance(values.dtype, pd.DatetimeTZDtype) and tz is None:
            parsed = values
        else:
            try:
                idx = _parse_site_time(values.reset_index(drop=True), tz or "UTC", naive_tz)
            except _BadTime as bad:
                self.fail(col.name, bad.pos, bad.problem, bad.expected)
            parsed = pd.Series(idx, index=self.out.index, name=col.name)
        if not col.nullable:
            missing = np.flatnonzero(np.asarray(parsed.isna()))
            if missing.size:
                self.fail(col.name, int(missing[0]), "value is missing", col.expected)
        return parsed

    # ---------------------------------------------------------------------- across columns

    def order(self, order: Order) -> None:
        present = [c for c in order.columns if c in self.out.columns]
        first: tuple[int, str, str] | None = None
        for a, b in itertools.pairwise(present):
            left, right = self.out[a], self.out[b]
            ok = (left < right) if order.strict else (left <= right)
            bad = np.asarray(~ok & left.notna() & right.notna(), dtype=bool)
            if bad.any():
                pos = int(np.flatnonzero(bad)[0])
                if first is None or pos < first[0]:
                    first = (pos, a, b)
        if first is None:
            return
        pos, a, b = first
        va, vb = self.out[a].iloc[pos], self.out[b].iloc[pos]
        if self.schema.column(a).kind == "ts":
            word = "is not after" if order.strict else "is before"
            problem = f"{b} {_fmt(vb)} {word} {a} {_fmt(va)}"
        else:
            word = "is not below" if order.strict else "is above"
            problem = f"{a}={_fmt(va)} {word} {b}={_fmt(vb)}"
        self.fail(b, pos, problem, order.expected)

    def unique_keys(self) -> None:
        keys = list(self.schema.keys)
        dup = np.asarray(self.out.duplicated(subset=keys, keep="first"), dtype=bool)
        if not dup.any():
            return
        later = int(np.flatnonzero(dup)[0])
        same = np.ones(len(self.out), dtype=bool)
        for k in keys:
            same &= np.asarray(self.out[k].eq(self.out[k].iloc[later]), dtype=bool)
        earlier = int(np.flatnonzero(same)[0])
        context = ", ".join(f"{k}={_fmt_key(self.out[k].iloc[later])}" for k in keys)
        words = f"{self.rows.word}s {self.rows.number(earlier)} and {self.rows.number(later)}"
        expected = f"one row per ({', '.join(keys)})"
        raise FrameError(
            f"{self.schema.name}: {words} have the same key ({context}); expected {expected}",
            field=", ".join(keys),
            row=self.rows.number(later),
            expected=expected,
        )


def _validate(
    frame: pd.DataFrame,
    schema: FrameSchema,
    *,
    tz: str | None,
    naive_tz: str | None,
    rows: _Rows,
) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise FrameError(
            f"{schema.name}: got {type(frame).__name__}, not a DataFrame",
            field=schema.name,
            expected="a pandas DataFrame",
        )
    if tz is not None:
        check_tz(tz)
    if frame.columns.has_duplicates:
        name = str(frame.columns[frame.columns.duplicated()][0])
        raise FrameError(
            f"{schema.name}: column '{name}' appears twice; expected distinct column names",
            field=name,
            expected="distinct column names",
        )
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        raise FrameError(
            f"{schema.name}: missing required column '{missing[0]}'; expected columns "
            + ", ".join(schema.required),
            field=missing[0],
            expected="columns " + ", ".join(schema.required),
        )
    check = _Checker(frame.copy(), schema, rows)
    present = [c for c in schema.columns if c.name in frame.columns]
    # keys first, so that later messages show clean key values
    present.sort(key=lambda c: c.name not in schema.keys)
    for col in present:
        if col.kind == "str":
            cleaned = check.text(col)
        elif col.kind == "ts":
            cleaned = check.timestamps(col, tz, naive_tz)
        else:
            cleaned = check.number(col)
        check.out[col.name] = cleaned.array  # positional: the index may repeat labels
    for order in schema.orders:
        check.order(order)
    check.unique_keys()
    return check.out


def validate(frame: pd.DataFrame, schema: FrameSchema, *, tz: str | None = None) -> pd.DataFrame:
    """Check ``frame`` against ``schema``; return a cleaned copy with canonical dtypes.

    Timestamp columns come back tz-aware: converted to ``tz`` if given; otherwise tz-aware
    ``datetime64`` columns are kept as they are and other values (ISO-8601 strings with
    offsets, aware datetimes) are parsed to UTC. Naive timestamps are an error (see
    ``read_frame_csv`` for localizing naive CSV times). Numbers become ``float64`` (``int64``
    for integer columns), text pandas' default string dtype. Extra columns are kept; the
    index is kept. Raises ``FrameError`` at the first problem, naming the frame, the column,
    the row (0-based position) with its key values, and the expected value.
    """
    return _validate(frame, schema, tz=tz, naive_tz=None, rows=_Rows())


def validate_history(frame: pd.DataFrame, *, tz: str | None = None) -> pd.DataFrame:
    """``validate(frame, HISTORY, tz=tz)``."""
    return validate(frame, HISTORY, tz=tz)


def validate_demand(frame: pd.DataFrame, *, tz: str | None = None) -> pd.DataFrame:
    """``validate(frame, DEMAND, tz=tz)``."""
    return validate(frame, DEMAND, tz=tz)


def validate_requirements(frame: pd.DataFrame, *, tz: str | None = None) -> pd.DataFrame:
    """``validate(frame, REQUIREMENTS, tz=tz)``."""
    return validate(frame, REQUIREMENTS, tz=tz)


def validate_schedule(frame: pd.DataFrame, *, tz: str | None = None) -> pd.DataFrame:
    """``validate(frame, SCHEDULE, tz=tz)``."""
    return validate(frame, SCHEDULE, tz=tz)


def validate_kpis(frame: pd.DataFrame, *, tz: str | None = None) -> pd.DataFrame:
    """``validate(frame, KPIS, tz=tz)``."""
    return validate(frame, KPIS, tz=tz)


# --------------------------------------------------------------------------------------------
# CSV

_ENCODING = "utf-8-sig"  # tolerates the byte-order mark spreadsheet programs write


def _record_lines(path: Path) -> list[int]:
    """The line number on which each data record of a CSV starts (header = line 1)."""
    starts: list[int] = []
    with path.open(newline="", encoding=_ENCODING) as fh:
        reader = csv.reader(fh)
        previous = 0
        for record in reader:
            if record:  # blank lines come back as [] and are skipped, as pandas does
                starts.append(previous + 1)
            previous = reader.line_num
    return starts[1:]


def _unreadable(path: Path, why: str) -> InputError:
    return InputError(
        f"{path}: {why}", field="path", row=None, expected="a readable CSV file with a header"
    )


def read_frame_csv(
    path: str | os.PathLike[str], schema: FrameSchema, *, tz: str | None = None
) -> pd.DataFrame:
    """Read a CSV file and validate it against ``schema``.

    Timestamp columns hold ISO-8601 strings; with an offset (which may change across a DST
    change) they are converted to ``tz``; without one they are local times in ``tz``
    (ambiguous ones resolved from row order where possible, nonexistent ones an error) and
    an error if ``tz`` is not given. Without ``tz`` the timestamps come back in UTC. Only
    empty fields are missing values. Errors name the CSV line (header = line 1, first data row
    = line 2); a missing or unreadable file raises ``InputError`` naming the path.
    """
    p = Path(path)
    if tz is not None:
        check_tz(tz)
    if not p.is_file():
        raise _unreadable(p, "no such file")
    try:
        frame = pd.read_csv(
            p,
            dtype={c.name: str for c in schema.columns},
            keep_default_na=False,
            na_values=[""],
            encoding=_ENCODING,
        )
        lines = _record_lines(p)
    except pd.errors.EmptyDataError as exc:
        raise _unreadable(p, "the file is empty") from exc
    except (OSError, UnicodeError, pd.errors.ParserError, csv.Error) as exc:
        raise _unreadable(p, f"cannot read it as CSV ({exc})") from exc
    if len(lines) != len(frame):  # unusual layout: fall back to one record per line
        lines = list(range(2, len(frame) + 2))
    return _validate(frame, schema, tz=tz, naive_tz=tz, rows=_Rows("line", lines))
