"""File helpers shared by the services (private): atomic CSV writes, ISO timestamps, and how
a frame's rows are named in messages (CSV lines or row positions)."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd

from wfm.errors import InputError

__all__ = ["RowSource", "csv_record_lines", "iso_text", "write_csv_atomic", "write_text_atomic"]


def iso_text(ts: pd.Series) -> pd.Series:
    """ISO-8601 text with the UTC offset (``2026-04-27T08:00:00+02:00``)."""
    text = ts.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    iso: pd.Series = text.str[:-2] + ":" + text.str[-2:]
    return iso


def write_csv_atomic(
    frame: pd.DataFrame, path: Path, *, expected: str = "a writable file path"
) -> Path:
    """Write ``frame`` as CSV (numbers with 10 significant digits) to a temporary file beside
    ``path``, then rename it over ``path``: an interrupted run never leaves half a file, nor
    spoils an older one. A path that cannot be written raises ``InputError`` (field ``out``)."""

    def write(fh: TextIO) -> None:
        frame.to_csv(fh, index=False, float_format="%.10g", lineterminator="\n")

    return _write_atomic(write, Path(path), expected)


def write_text_atomic(text: str, path: Path, *, expected: str = "a writable file path") -> Path:
    """Write ``text`` (UTF-8) like ``write_csv_atomic``: a temporary file, then a rename."""
    return _write_atomic(lambda fh: fh.write(text), Path(path), expected)


def _write_atomic(write: Callable[[TextIO], object], path: Path, expected: str) -> Path:
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600: the usual mode
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(
                f"out: cannot write {path} ({exc.strerror or exc})",
                field="out",
                expected=expected,
            ) from exc
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class RowSource:
    """How a frame's rows are named in messages: ``schedule.csv line 7`` for a file (the CSV
    line of each row position), ``schedule row 5`` for an in-memory frame."""

    name: str
    lines: Sequence[int] | None = None

    def number(self, pos: int) -> int:
        return pos if self.lines is None else int(self.lines[pos])

    def place(self, pos: int) -> str:
        word = "row" if self.lines is None else "line"
        return f"{self.name} {word} {self.number(pos)}"

    def error(self, pos: int, column: str, detail: str, expected: str) -> InputError:
        return InputError(
            f"{self.place(pos)}, column {column!r}: {detail}; expected {expected}",
            field=column,
            row=self.number(pos),
            expected=expected,
        )


def csv_record_lines(path: Path, rows: int) -> list[int]:
    """The line on which each data record of a CSV starts (header = line 1), as
    ``contracts.read_frame_csv`` numbers them; one record per line if the layout is odd."""
    starts: list[int] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        previous = 0
        for record in reader:
            if record:
                starts.append(previous + 1)
            previous = reader.line_num
    lines = starts[1:]
    return lines if len(lines) == rows else list(range(2, rows + 2))
