"""Load the shift rules (``wfm.domain.ShiftRules``) from a TOML or YAML file.

Every key is optional; a missing key keeps the default shown. Units are in the key names.
TOML is read with the stdlib ``tomllib``; a file ending in ``.yaml``/``.yml`` is read with
PyYAML's ``safe_load`` and takes the same keys (``opening: {hotline: {mon: "08:00-20:00"}}``;
quote the times).

.. code-block:: toml

    min_shift_h = 4            # shortest shift, hours
    max_shift_h = 10           # longest shift, hours
    shift_step_min = 30        # shift lengths in steps of this many minutes
    start_grid_min = 15        # shifts start on this local grid (minutes; divides 1440)
    max_shifts_per_day = 1     # per local calendar day of the shift's start
    min_rest_h = 11            # rest between two shifts, hours
    max_days_week = 5          # working days per ISO week (an agent's own smaller limit wins)
    max_consecutive_days = 6   # working days in a row, across the week boundary
    lunch_over_h = 6           # shifts longer than this get one lunch
    lunch_min_min = 30         # lunch length, minutes …
    lunch_max_min = 60         # … up to this
    lunch_start_after_h = 3    # lunch starts at least this long after the shift start …
    lunch_start_before_h = 5   # … and at most this long after it
    break_min = 15             # length of one break, minutes
    break_every_h = 4          # one break per full this many paid hours
    min_project_block_h = 1    # a block of work on one project lasts at least this long

    [opening.hotline]          # opening hours of project "hotline", local time
    mon = "08:00-20:00"        # weekdays mon … sun; a missing weekday is closed
    sat = "09:00-14:00"
    fri = "22:00-06:00"        # an end at or before the start runs past midnight

A project without an ``[opening.<project>]`` table is open exactly in the intervals that
have requirement rows. Unknown keys, wrong types and bad values raise ``InputError`` naming
the file and the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from wfm.domain import OpeningHours, ShiftRules
from wfm.errors import InputError
from wfm.grid import parse_hhmm

__all__ = ["WEEKDAYS", "load_rules"]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday keys of an ``[opening.<project>]`` table, Monday first (ISO 1 … 7)."""

_SCALAR_KEYS = tuple(f.name for f in dataclasses.fields(ShiftRules) if f.name != "opening")
# whole-number keys: the fields annotated ``int`` (annotations are strings here)
_INT_KEYS = frozenset(f.name for f in dataclasses.fields(ShiftRules) if f.type in ("int", int))


def load_rules(path: Path) -> ShiftRules:
    """Read a rules TOML or YAML file (see the module docstring for the keys) into
    ``ShiftRules``.

    A missing or unparsable file, an unknown key, a value of the wrong type or a value the
    rules reject raises ``InputError`` naming the file and the key."""
    path = Path(path)
    doc = _load_yaml(path) if path.suffix.lower() in (".yaml", ".yml") else _load_toml(path)
    kwargs: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "opening":
            kwargs["opening"] = _opening(path, value)
        elif key in _SCALAR_KEYS:
            kwargs[key] = _scalar(path, key, value)
        else:
            raise InputError(
                f"{path}: unknown key {key!r}",
                field=key,
                expected="one of " + ", ".join((*_SCALAR_KEYS, "opening")),
            )
    try:
        return ShiftRules(**kwargs)
    except InputError as exc:
        raise InputError(f"{path}: {exc}", field=exc.field, expected=exc.expected) from exc


def _parse_toml(fh: BinaryIO) -> object:
    return tomllib.load(fh)


def _parse_yaml(fh: BinaryIO) -> object:
    return yaml.safe_load(fh)


def _load_toml(path: Path) -> dict[str, Any]:
    return _load(path, "TOML", _parse_toml, tomllib.TOMLDecodeError)


def _load_yaml(path: Path) -> dict[str, Any]:
    return _load(path, "YAML", _parse_yaml, yaml.YAMLError)


def _load(
    path: Path,
    kind: str,
    parse: Callable[[BinaryIO], object],
    syntax_error: type[Exception],
) -> dict[str, Any]:
    """Read and parse a rules file; every failure is an ``InputError`` naming the file."""
    try:
        with path.open("rb") as fh:
            doc = parse(fh)
    except FileNotFoundError as exc:
        raise InputError(
            f"{path}: no such rules file", field="rules", expected=f"a {kind} rules file"
        ) from exc
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read it ({exc})", field="rules", expected=f"a readable {kind} file"
        ) from exc
    except (syntax_error, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not valid {kind} ({exc})", field="rules", expected=f"a {kind} rules file"
        ) from exc
    if doc is None:  # an empty YAML document
        return {}
    if not isinstance(doc, dict) or not all(isinstance(k, str) for k in doc):
        raise InputError(
            f"{path}: the document is not a mapping of rule keys",
            field="rules",
            expected="keys such as min_shift_h = 4",
        )
    return doc


def _scalar(path: Path, key: str, value: object) -> int | float:
    if key in _INT_KEYS:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        expected = "a whole number"
    else:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        expected = "a number"
    raise InputError(f"{path}: {key}: {value!r} is not {expected}", field=key, expected=expected)


def _opening(path: Path, value: object) -> dict[str, OpeningHours | None]:
    if not isinstance(value, dict):
        raise InputError(
            f"{path}: opening: expected tables [opening.<project>]",
            field="opening",
            expected="one table per project",
        )
    out: dict[str, OpeningHours | None] = {}
    for project, days in value.items():
        key = f"opening.{project}"
        if not isinstance(days, dict):
            raise InputError(
                f"{path}: {key}: expected a table of weekdays",
                field=key,
                expected="mon … sun = 'HH:MM-HH:MM'",
            )
        hours: dict[int, tuple[dt.time, dt.time]] = {}
        for day, span in days.items():
            if day not in WEEKDAYS:
                raise InputError(
                    f"{path}: unknown key '{key}.{day}'",
                    field=f"{key}.{day}",
                    expected="one of " + ", ".join(WEEKDAYS),
                )
            hours[WEEKDAYS.index(day) + 1] = _span(path, f"{key}.{day}", span)
        out[project] = OpeningHours(hours)
    return out


def _span(path: Path, key: str, span: object) -> tuple[dt.time, dt.time]:
    parts = span.split("-") if isinstance(span, str) else []
    try:
        if len(parts) != 2:
            raise InputError("bad span")
        return parse_hhmm(parts[0]), parse_hhmm(parts[1])
    except InputError as exc:
        raise InputError(
            f"{path}: {key}: {span!r} is not a span of local times",
            field=key,
            expected="'HH:MM-HH:MM', e.g. '08:00-20:00'",
        ) from exc
