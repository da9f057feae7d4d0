"""Tests of wfm.contracts: every check names frame, column, row and expected value."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from wfm.contracts import (
    DEMAND,
    HISTORY,
    KPIS,
    REQUIREMENTS,
    SCHEDULE,
    Column,
    FrameSchema,
    Order,
    read_frame_csv,
    validate,
    validate_demand,
    validate_history,
    validate_kpis,
    validate_requirements,
    validate_schedule,
)
from wfm.errors import FrameError, InputError

BERLIN = "Europe/Berlin"
STR_DTYPE = pd.Series(["x"]).dtype  # pandas' default text dtype (str on pandas 3)


def quarter_hours(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="15min", tz=BERLIN)


@pytest.fixture
def history() -> pd.DataFrame:
    ts = quarter_hours("2026-03-02 09:00", 4)
    return pd.DataFrame(
        {
            "project": ["bank"] * 4 + ["shop"] * 4,
            "ts": ts.append(ts),
            "calls": [10, 12, 9, 0, 3, 4, 5, 6],
            "aht_s": [180.0, 175.0, 190.0, 0.0, 240.0, 250.0, 230.0, 245.0],
            "source": ["acd"] * 8,
        }
    )


@pytest.fixture
def demand(history: pd.DataFrame) -> pd.DataFrame:
    calls = history["calls"].astype(float)
    return history.drop(columns="source").assign(
        calls_lo_95=calls * 0.6,
        calls_lo_80=calls * 0.8,
        calls_hi_80=calls * 1.2,
        calls_hi_95=calls * 1.5,
    )


@pytest.fixture
def requirements() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project": ["bank", "bank", "dial"],
            "ts": quarter_hours("2026-03-02 09:00", 3),
            "agents": [4.0, 5.0, 3.0],
            "load_erl": [3.2, 4.1, 2.5],
            "sl": [0.83, 0.81, np.nan],
            "model": ["erlang_c", "erlang_c", "outbound"],
            "sl_target": [0.8, 0.8, np.nan],
            "answer_within_s": [20, 20, np.nan],
        }
    )


@pytest.fixture
def schedule() -> pd.DataFrame:
    t = quarter_hours("2026-03-02 08:00", 40)
    return pd.DataFrame(
        {
            "agent": ["a1", "a1", "a1", "a2"],
            "start": [t[0], t[16], t[17], t[4]],
            "end": [t[16], t[17], t[32], t[36]],
            "activity": ["work", "break", "work", "training"],
            "project": ["bank", None, "bank", ""],
        }
    )


@pytest.fixture
def kpis() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project": ["bank", "bank"],
            "ts": quarter_hours("2026-03-02 09:00", 2),
            "offered": [10.0, 0.0],
            "answered": [9.5, 0.0],
            "abandoned": [0.5, 0.0],
            "sl": [0.82, np.nan],
            "asa_s": [12.0, np.nan],
            "occupancy": [0.85, np.nan],
            "sl_lo": [0.78, np.nan],
            "sl_hi": [0.86, np.nan],
        }
    )


def frame_error(frame: pd.DataFrame, schema: FrameSchema, **kwargs: Any) -> FrameError:
    with pytest.raises(FrameError) as info:
        validate(frame, schema, **kwargs)
    return info.value


# --------------------------------------------------------------------------------- valid


def test_valid_history_comes_back_canonical(history: pd.DataFrame) -> None:
    before = history.copy()
    out = validate_history(history)
    assert isinstance(out["ts"].dtype, pd.DatetimeTZDtype)
    assert str(out["ts"].dt.tz) == BERLIN
    assert out["calls"].dtype == np.float64
    assert out["aht_s"].dtype == np.float64
    assert out["project"].dtype == STR_DTYPE
    assert list(out.columns) == list(history.columns)  # extra column kept, order kept
    assert out["source"].tolist() == ["acd"] * 8
    pd.testing.assert_frame_equal(history, before)  # input untouched


def test_valid_demand_requirements_schedule_kpis(
    demand: pd.DataFrame,
    requirements: pd.DataFrame,
    schedule: pd.DataFrame,
    kpis: pd.DataFrame,
) -> None:
    assert validate_demand(demand)["calls_hi_95"].dtype == np.float64
    req = validate_requirements(requirements)
    assert req["agents"].dtype == np.int64
    assert req["agents"].tolist() == [4, 5, 3]
    assert req["answer_within_s"].dtype == np.float64
    sched = validate_schedule(schedule)
    assert sched["activity"].dtype == STR_DTYPE
    assert sched["project"].isna().tolist() == [False, True, False, True]
    assert isinstance(sched["end"].dtype, pd.DatetimeTZDtype)
    out = validate_kpis(kpis)
    assert out["sl_lo"].dtype == np.float64


@pytest.mark.parametrize("schema", [HISTORY, DEMAND, REQUIREMENTS, SCHEDULE, KPIS])
def test_empty_frames_with_the_columns_are_valid(schema: FrameSchema) -> None:
    empty = pd.DataFrame({name: [] for name in schema.required})
    out = validate(empty, schema)
    assert len(out) == 0
    for col in schema.columns:
        if not col.required:
            continue
        if col.kind == "ts":
            assert isinstance(out[col.name].dtype, pd.DatetimeTZDtype)
        elif col.kind == "float":
            assert out[col.name].dtype == np.float64
        elif col.kind == "int":
            assert out[col.name].dtype == np.int64


def test_tz_argument_converts_to_site_zone(history: pd.DataFrame) -> None:
    utc = history.assign(ts=history["ts"].dt.tz_convert("UTC"))
    out = validate_history(utc, tz=BERLIN)
    assert str(out["ts"].dt.tz) == BERLIN
    assert (out["ts"] == history["ts"]).all()


def test_iso_strings_with_offsets_are_parsed(history: pd.DataFrame) -> None:
    text = history.assign(ts=[t.isoformat() for t in history["ts"]])
    out = validate_history(text, tz=BERLIN)
    assert (out["ts"] == history["ts"]).all()


def test_repeated_index_labels_are_fine(history: pd.DataFrame) -> None:
    out = validate_history(history.set_axis([0] * len(history)))
    assert out["calls"].tolist() == history["calls"].astype(float).tolist()


# ---------------------------------------------------------------------------- the checks


def test_message_names_frame_column_row_keys_and_expected() -> None:
    ts = quarter_hours("2026-03-02 05:00", 20)
    calls = [5.0] * 20
    calls[17] = -3.0
    frame = pd.DataFrame({"project": "bank", "ts": ts, "calls": calls, "aht_s": 200.0})
    err = frame_error(frame, HISTORY)
    assert str(err) == (
        "history: column 'calls' row 17 (project=bank, ts=2026-03-02 09:15:00+01:00): "
        "-3.0 is below 0; expected a number >= 0"
    )
    assert err.field == "calls"
    assert err.row == 17
    assert err.expected == "a number >= 0"
    assert isinstance(err, InputError)


def test_missing_required_column(history: pd.DataFrame) -> None:
    err = frame_error(history.drop(columns="aht_s"), HISTORY)
    assert err.field == "aht_s"
    assert err.row is None
    assert "history: missing required column 'aht_s'" in str(err)


@pytest.mark.parametrize(
    ("value", "problem"),
    [("many", "'many' is not a number"), (np.nan, "missing"), (np.inf, "inf is not finite")],
)
def test_bad_numbers(history: pd.DataFrame, value: object, problem: str) -> None:
    calls = history["calls"].astype(object)
    calls.iloc[5] = value
    err = frame_error(history.assign(calls=calls), HISTORY)
    assert err.field == "calls"
    assert err.row == 5
    assert problem in str(err)
    assert "history: column 'calls' row 5 (project=shop, ts=2026-03-02 09:15:00+01:00)" in str(err)


def test_naive_timestamps(history: pd.DataFrame) -> None:
    err = frame_error(history.assign(ts=history["ts"].dt.tz_localize(None)), HISTORY)
    assert err.field == "ts"
    assert err.row == 0
    assert "tz-aware" in str(err)
    assert err.expected is not None
    assert "tz-aware" in err.expected


def test_naive_strings_without_tz(history: pd.DataFrame) -> None:
    text = history.assign(ts=["2026-03-02 09:00"] + [t.isoformat() for t in history["ts"][1:]])
    err = frame_error(text, HISTORY)
    assert err.field == "ts"
    assert err.row == 0
    assert "no UTC offset" in str(err)


def test_missing_key_text(history: pd.DataFrame) -> None:
    projects = history["project"].astype(object)
    projects.iloc[2] = "  "
    err = frame_error(history.assign(project=projects), HISTORY)
    assert err.field == "project"
    assert err.row == 2
    assert "value is missing" in str(err)


def test_duplicate_keys_name_both_rows(history: pd.DataFrame) -> None:
    doubled = pd.concat([history, history.iloc[[6]]], ignore_index=True)
    err = frame_error(doubled, HISTORY)
    assert str(err) == (
        "history: rows 6 and 8 have the same key (project=shop, ts=2026-03-02 09:30:00+01:00); "
        "expected one row per (project, ts)"
    )
    assert err.row == 8
    assert err.field == "project, ts"


def test_same_instant_in_another_zone_is_a_duplicate(history: pd.DataFrame) -> None:
    extra = history.iloc[[1]].assign(ts=history["ts"].iloc[[1]].dt.tz_convert("UTC"))
    both = pd.concat([history.assign(ts=history["ts"].dt.tz_convert("UTC")), extra])
    err = frame_error(both.reset_index(drop=True), HISTORY)
    assert "rows 1 and 8" in str(err)


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        ("calls_lo_95", 9.0, "calls_lo_95=9.0 is above calls_lo_80=8.0"),
        ("calls_hi_80", 9.0, "calls=10.0 is above calls_hi_80=9.0"),
        ("calls_hi_95", 11.0, "calls_hi_80=12.0 is above calls_hi_95=11.0"),
    ],
)
def test_demand_bounds_are_ordered(
    demand: pd.DataFrame, column: str, value: float, text: str
) -> None:
    bad = demand.copy()
    bad.loc[0, column] = value
    err = frame_error(bad, DEMAND)
    assert err.row == 0
    assert text in str(err)
    assert err.expected == "calls_lo_95 <= calls_lo_80 <= calls <= calls_hi_80 <= calls_hi_95"


def test_demand_bounds_non_negative(demand: pd.DataFrame) -> None:
    bad = demand.copy()
    bad.loc[3, "calls_lo_95"] = -0.5
    err = frame_error(bad, DEMAND)
    assert err.field == "calls_lo_95"
    assert err.row == 3
    assert "-0.5 is below 0" in str(err)


@pytest.mark.parametrize("shift_min", [0, -15])  # end equal to start, end before start
def test_schedule_end_after_start(schedule: pd.DataFrame, shift_min: int) -> None:
    ends = list(schedule["end"])
    ends[2] = schedule["start"].iloc[2] + pd.Timedelta(minutes=shift_min)
    err = frame_error(schedule.assign(end=ends), SCHEDULE)
    assert err.field == "end"
    assert err.row == 2
    assert "is not after start" in str(err)
    assert "schedule: column 'end' row 2 (agent=a1, start=2026-03-02 12:15:00+01:00)" in str(err)


def test_schedule_activity_allowed(schedule: pd.DataFrame) -> None:
    bad = schedule.assign(activity=["work", "break", "nap", "training"])
    err = frame_error(bad, SCHEDULE)
    assert err.field == "activity"
    assert err.row == 2
    assert "'nap' is not an allowed value" in str(err)
    assert err.expected == "one of work, break, lunch, training, off"


@pytest.mark.parametrize(
    ("value", "problem"),
    [(2.5, "2.5 is not a whole number"), (-1.0, "-1 is below 0")],
)
def test_requirements_agents_integral_non_negative(
    requirements: pd.DataFrame, value: float, problem: str
) -> None:
    bad = requirements.copy()
    bad.loc[1, "agents"] = value
    err = frame_error(bad, REQUIREMENTS)
    assert err.field == "agents"
    assert err.row == 1
    assert problem in str(err)
    assert err.expected == "an integer >= 0"


@pytest.mark.parametrize("value", [0.0, 1.0, 1.5, -0.2])
def test_requirements_sl_target_open_interval(requirements: pd.DataFrame, value: float) -> None:
    bad = requirements.copy()
    bad.loc[0, "sl_target"] = value
    err = frame_error(bad, REQUIREMENTS)
    assert err.field == "sl_target"
    assert err.row == 0
    assert err.expected == "a number in (0, 1)"


@pytest.mark.parametrize(("column", "value"), [("sl", 1.01), ("sl", -0.1), ("occupancy", 1.2)])
def test_kpis_shares_in_unit_interval(kpis: pd.DataFrame, column: str, value: float) -> None:
    bad = kpis.copy()
    bad.loc[0, column] = value
    err = frame_error(bad, KPIS)
    assert err.field == column
    assert err.row == 0
    assert err.expected == "a number in [0, 1]"


def test_kpis_interval_bounds_ordered(kpis: pd.DataFrame) -> None:
    err = frame_error(kpis.assign(sl_lo=[0.9, np.nan]), KPIS)
    assert err.field == "sl_hi"
    assert "sl_lo=0.9 is above sl_hi=0.86" in str(err)


def test_schema_definition_is_checked() -> None:
    with pytest.raises(InputError):
        FrameSchema("x", ("k",), (Column("v", "float"),))
    with pytest.raises(InputError):
        FrameSchema("x", (), (Column("v", "float"),), orders=(Order(("v", "w")),))
    assert HISTORY.column("calls").expected == "a number >= 0"


# ------------------------------------------------------------------------------------- CSV


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "frame.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_mixed_offsets_across_dst(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "project,ts,calls,aht_s\n"
        "bank,2026-03-29T01:45:00+01:00,4,180\n"
        "bank,2026-03-29T03:00:00+02:00,5,181\n"
        "bank,2026-10-25T02:45:00+02:00,6,182\n"
        "bank,2026-10-25T02:00:00+01:00,7,183\n",
    )
    out = read_frame_csv(path, HISTORY, tz=BERLIN)
    ts = out["ts"]
    assert str(ts.dt.tz) == BERLIN
    assert ts.iloc[1] - ts.iloc[0] == pd.Timedelta(minutes=15)
    assert ts.iloc[3] - ts.iloc[2] == pd.Timedelta(minutes=15)
    assert ts.iloc[3].utcoffset() == dt.timedelta(hours=1)
    assert out["calls"].tolist() == [4.0, 5.0, 6.0, 7.0]
    assert out["project"].dtype == STR_DTYPE


def test_csv_naive_times_localized_with_tz(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "project,ts,calls,aht_s\n"
        "bank,2026-10-25 01:45,1,100\n"
        "bank,2026-10-25 02:00,1,100\n"
        "bank,2026-10-25 02:00,1,100\n"
        "bank,2026-10-25 02:15,1,100\n",
    )
    out = read_frame_csv(path, HISTORY, tz=BERLIN)
    assert [t.utcoffset() for t in out["ts"]] == [dt.timedelta(hours=h) for h in (2, 2, 1, 1)]
    with pytest.raises(FrameError) as info:
        read_frame_csv(path, HISTORY)
    assert info.value.row == 2
    assert "line 2" in str(info.value)


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "project,ts,calls,aht_s\n"
        "bank,2026-03-02T09:00+01:00,4,180\n"
        "bank,2026-03-02T09:15+01:00,5,180\n"
        "bank,2026-03-02T09:30+01:00,-3,180\n",
    )
    with pytest.raises(FrameError) as info:
        read_frame_csv(path, HISTORY, tz=BERLIN)
    assert str(info.value) == (
        "history: column 'calls' line 4 (project=bank, ts=2026-03-02 09:30:00+01:00): "
        "-3.0 is below 0; expected a number >= 0"
    )
    assert info.value.row == 4


def test_csv_line_numbers_survive_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "project,ts,calls,aht_s,note\n"
        'bank,2026-03-02T09:00+01:00,4,180,"two\nlines"\n'
        "\n"
        "bank,2026-03-02T09:15+01:00,x,180,\n",
    )
    with pytest.raises(FrameError) as info:
        read_frame_csv(path, HISTORY)
    assert info.value.row == 5
    assert "line 5" in str(info.value)
    assert "'x' is not a number" in str(info.value)


def test_csv_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "agent,start,end,activity,project\n"
        "a1,2026-03-02T08:00+01:00,2026-03-02T12:00+01:00,work,bank\n"
        "a1,2026-03-02T12:00+01:00,2026-03-02T12:15+01:00,break,\n"
        "a1,2026-03-02T08:00+01:00,2026-03-02T12:00+01:00,work,shop\n",
    )
    with pytest.raises(FrameError) as info:
        read_frame_csv(path, SCHEDULE)
    assert "lines 2 and 4 have the same key" in str(info.value)
    assert info.value.row == 4


def test_csv_empty_with_header_is_valid(tmp_path: Path) -> None:
    path = write(tmp_path, "project,ts,calls,aht_s\n")
    out = read_frame_csv(path, HISTORY, tz=BERLIN)
    assert len(out) == 0
    assert isinstance(out["ts"].dtype, pd.DatetimeTZDtype)


def test_csv_missing_or_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError) as info:
        read_frame_csv(missing, HISTORY)
    assert str(missing) in str(info.value)
    assert info.value.field == "path"
    empty = write(tmp_path, "")
    with pytest.raises(InputError) as info:
        read_frame_csv(empty, HISTORY)
    assert str(empty) in str(info.value)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage\x00\n\x90\x91")
    with pytest.raises(InputError) as info:
        read_frame_csv(binary, HISTORY)
    assert str(binary) in str(info.value)
