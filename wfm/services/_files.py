"""File helpers shared by the services (private): atomic CSV writes, ISO timestamps."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from wfm.errors import InputError

__all__ = ["iso_text", "write_csv_atomic"]


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
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600: the usual mode
            frame.to_csv(fh, index=False, float_format="%.10g", lineterminator="\n")
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
