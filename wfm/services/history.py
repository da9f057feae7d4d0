"""History uploads: a project's contact history as CSV text, checked row by row and stored.

The CSV has the history frame's columns (``ts, calls, aht_s``, and optionally ``project``,
which must then be the project uploaded to). Timestamps are ISO-8601, with an offset or as
local times of the site's zone. The first problem raises ``FrameError``/``InputError``
naming the column (``field``) and the CSV line (``row``; the header is line 1), e.g.
``upload.csv: column 'calls' line 5 (ts=…): -3.0 is below 0; expected a number >= 0``.
Nothing is stored unless every row is valid.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from wfm import contracts
from wfm.db import repositories as repo
from wfm.errors import InputError
from wfm.services._db import read_only, transaction

__all__ = ["HistoryUploadResult", "upload_history"]


def _schema(name: str, project: str, with_project: bool) -> contracts.FrameSchema:
    """HISTORY for an upload to ``project``: a ``project`` column, if present, may only
    name ``project``; without it the rows are keyed by ``ts`` alone."""
    if with_project:
        columns = tuple(
            replace(c, allowed=(project,)) if c.name == "project" else c
            for c in contracts.HISTORY.columns
        )
        return replace(contracts.HISTORY, name=name, columns=columns)
    columns = tuple(c for c in contracts.HISTORY.columns if c.name != "project")
    return replace(contracts.HISTORY, name=name, keys=("ts",), columns=columns)


@dataclass(frozen=True, slots=True)
class HistoryUploadResult:
    """A stored upload: its id, the project, the rows stored and the first and last
    interval start (UTC)."""

    upload_id: int
    project: str
    rows: int
    first_ts: dt.datetime | None
    last_ts: dt.datetime | None


def _name(source: str | None) -> str:
    name = Path(source or "upload.csv").name
    return name or "upload.csv"


def upload_history(
    engine: sa.Engine, *, project: str, data: bytes, tz: str, source: str | None = None
) -> HistoryUploadResult:
    """Check the CSV ``data`` (UTF-8) row by row and store it as one upload of ``project`` 's
    history, in one transaction. ``tz`` is the site's zone (for times without an offset);
    ``source`` names the upload (e.g. the file name) in messages and in the database."""
    name = _name(source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: byte {exc.start} is not UTF-8 text",
            field="file",
            expected="a UTF-8 CSV file with a header line",
        ) from exc
    with read_only(engine) as s:
        repo.get_project(s, project=project)  # an unknown project is a 404, not a bad row
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:  # read_frame_csv names the problem below
        header = []
    schema = _schema(name, project, "project" in [h.strip() for h in header])
    with tempfile.TemporaryDirectory(prefix="wfm-upload-") as folder:
        path = Path(folder) / "upload.csv"
        path.write_bytes(data)
        try:
            frame = contracts.read_frame_csv(path, schema, tz=tz)
        except InputError as exc:
            if exc.field == "path":  # empty or not CSV: name the upload, not the temp file
                message = str(exc).replace(str(path), name)
                raise InputError(
                    message, field="file", expected="a CSV file with a header line"
                ) from exc
            raise
    if frame.empty:
        raise InputError(f"{name}: no rows", field="file", expected="at least one data row")
    if "project" not in frame.columns:
        frame = frame.assign(project=project)
    frame = frame[["project", "ts", "calls", "aht_s"]].reset_index(drop=True)
    with transaction(engine) as s:
        upload = repo.add_history_upload(s, project=project, frame=frame, source=name)
        assert upload.id is not None
        ts = pd.DatetimeIndex(frame["ts"]).tz_convert("UTC")
        return HistoryUploadResult(
            upload_id=upload.id,
            project=project,
            rows=len(frame),
            first_ts=ts.min().to_pydatetime(),
            last_ts=ts.max().to_pydatetime(),
        )
