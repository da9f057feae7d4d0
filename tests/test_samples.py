"""The sample generator: determinism, the committed copy, and the documented facts.

The facts are checked from the written files with independent code (pandas, zoneinfo, the
holidays package), not with the generator's own helpers.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd
import pytest

from wfm.domain import OpeningHours
from wfm.services.samples import DEFAULT_SEED, SampleSummary, generate_samples

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "data" / "samples"
BERLIN = ZoneInfo("Europe/Berlin")
PROJECTS = ("bank", "retail", "techsupport", "chat", "outbound")
GOOD_FRIDAY = dt.date(2026, 4, 3)
EASTER_MONDAY = dt.date(2026, 4, 6)
DST_DAY = dt.date(2026, 3, 29)
ANOMALY_DAYS = {
    "bank": dt.date(2026, 2, 17),
    "chat": dt.date(2026, 2, 25),
    "retail": dt.date(2026, 3, 12),
    "techsupport": dt.date(2026, 4, 14),
}
# opening hours as stated in the brief: weekday -> (open hour, close hour); 24 = midnight
OPEN_HOURS: dict[str, dict[int, tuple[int, int]]] = {
    "bank": dict.fromkeys(range(1, 7), (8, 20)),
    "retail": dict.fromkeys(range(1, 8), (7, 22)),
    "techsupport": dict.fromkeys(range(1, 8), (0, 24)),
    "chat": dict.fromkeys(range(1, 6), (8, 22)),
    "outbound": {**dict.fromkeys(range(1, 6), (9, 20)), 6: (10, 16)},
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_samples(tmp_path_factory.mktemp("samples"), seed=DEFAULT_SEED)


@pytest.fixture(scope="module")
def history(generated: SampleSummary) -> pd.DataFrame:
    frame = pd.read_csv(generated.history_csv, dtype={"project": str, "ts": str})
    utc = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    frame["local"] = utc.dt.tz_convert("Europe/Berlin")
    frame["date"] = frame["local"].dt.date
    frame["weekday"] = frame["local"].dt.day_of_week + 1
    return frame


@pytest.fixture(scope="module")
def agents(generated: SampleSummary) -> pd.DataFrame:
    return pd.read_csv(generated.agents_csv, dtype=str, keep_default_na=False)


def _holidays() -> set[dt.date]:
    return set(holidays.country_holidays("DE", subdiv="BE", years=2026))


def _daily(history: pd.DataFrame, project: str) -> pd.DataFrame:
    """Daily call totals of normal days (no holiday, no injected anomaly)."""
    rows = history[history["project"] == project]
    daily = rows.groupby(["date", "weekday"], as_index=False)["calls"].sum()
    bad = _holidays() | set(ANOMALY_DAYS.values())
    normal: pd.DataFrame = daily[~daily["date"].isin(bad)]
    return normal


# ---------------------------------------------------------------------------------------
# determinism and the committed copy


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_two_runs_are_byte_identical(generated: SampleSummary, tmp_path: Path) -> None:
    again = generate_samples(tmp_path / "again", seed=DEFAULT_SEED)
    first, second = _files(generated.out_dir), _files(again.out_dir)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name


def test_another_seed_changes_the_history(generated: SampleSummary, tmp_path: Path) -> None:
    other = generate_samples(tmp_path / "other", seed=DEFAULT_SEED + 1)
    assert other.history_csv.read_bytes() != generated.history_csv.read_bytes()
    assert other.projects_csv.read_bytes() == generated.projects_csv.read_bytes()


def test_committed_samples_equal_a_fresh_generation(generated: SampleSummary) -> None:
    assert COMMITTED.is_dir(), "data/samples is missing: run `wfm samples --out data/samples`"
    committed, fresh = _files(COMMITTED), _files(generated.out_dir)
    assert committed.keys() == fresh.keys()
    for name in fresh:
        assert committed[name] == fresh[name], f"data/samples/{name} drifted from the generator"


def test_summary_matches_the_files(generated: SampleSummary) -> None:
    names = {p.name for p in generated.files}
    assert names == {
        "site.json",
        "projects.csv",
        "kpi_table.csv",
        "opening_hours.csv",
        "history.csv",
        "events.csv",
        "agents.csv",
        "README.md",
    }
    assert names == set(_files(generated.out_dir))

    def lines(path: Path) -> int:
        return len(path.read_text(encoding="utf-8").splitlines()) - 1

    assert generated.n_projects == lines(generated.projects_csv) == 5
    assert generated.n_kpi_rows == lines(generated.kpi_table_csv)
    assert generated.n_opening_rows == lines(generated.opening_hours_csv)
    assert generated.n_history_rows == lines(generated.history_csv)
    assert generated.n_events == lines(generated.events_csv)
    assert generated.n_agents == lines(generated.agents_csv)
    total = sum(p.stat().st_size for p in generated.files)
    assert total < 4_000_000


# ---------------------------------------------------------------------------------------
# site, projects, KPI tables, opening hours


def test_site_json(generated: SampleSummary) -> None:
    import json

    site = json.loads(generated.site_json.read_text(encoding="utf-8"))
    assert site["tz"] == "Europe/Berlin"
    assert (site["country"], site["subdiv"]) == ("DE", "BE")
    assert site["name"]


def test_projects_csv(generated: SampleSummary) -> None:
    text = generated.projects_csv.read_text(encoding="utf-8")
    header = text.splitlines()[0]
    assert header == (
        "project,name,kind,sl_target,answer_within_s,max_abandon_rate,patience_s,concurrency,"
        "billing,rate_eur,bonus_eur_per_point,penalty_eur_per_point,penalty_cap_eur,"
        "contacts_per_week,dials_per_contact,talk_s,wrap_s,attempt_s"
    )
    with generated.projects_csv.open(newline="", encoding="utf-8") as fh:
        p = {row["project"]: row for row in csv.DictReader(fh)}
    assert tuple(p) == PROJECTS

    def column(name: str, projects: tuple[str, ...] = PROJECTS) -> list[str]:
        return [p[project][name] for project in projects]

    assert column("kind") == ["inbound", "inbound", "inbound", "chat", "outbound"]
    assert column("billing") == ["per_hour", "per_contact", "per_seat", "per_contact", "leasing"]
    inbound = ("bank", "retail", "techsupport", "chat")
    assert [float(v) for v in column("sl_target", inbound)] == [0.8, 0.9, 0.8, 0.8]
    # the threshold is in seconds, not minutes
    assert [float(v) for v in column("answer_within_s", inbound)] == [20, 30, 60, 60]
    assert [float(v) for v in column("max_abandon_rate", inbound[:3])] == [0.05, 0.04, 0.08]
    assert [float(v) for v in column("patience_s", inbound[:3])] == [180, 120, 300]
    assert p["chat"]["concurrency"] == "2"
    out = p["outbound"]
    assert out["sl_target"] == out["answer_within_s"] == out["max_abandon_rate"] == ""
    outbound_values = [
        float(out[c]) for c in ("dials_per_contact", "talk_s", "wrap_s", "attempt_s")
    ]
    assert outbound_values == [2.8, 240, 15, 120]
    assert float(out["contacts_per_week"]) > 0
    rates = {project: float(row["rate_eur"]) for project, row in p.items()}
    assert 28 <= rates["bank"] <= 35
    assert 2 <= rates["retail"] <= 5
    assert 4000 <= rates["techsupport"] <= 5000
    assert 2 <= rates["chat"] <= 5
    assert 20 <= rates["outbound"] <= 28


def test_kpi_tables(generated: SampleSummary) -> None:
    kpi = pd.read_csv(generated.kpi_table_csv)
    assert set(kpi["project"]) == {"bank", "retail", "techsupport", "chat"}
    targets = {"bank": 0.8, "retail": 0.9, "techsupport": 0.8, "chat": 0.8}
    for project, rows in kpi.groupby("project"):
        assert rows["sl_at_least"].is_monotonic_increasing
        assert rows["coefficient"].is_monotonic_increasing
        at_target = rows[np.isclose(rows["sl_at_least"], targets[str(project)])]
        assert at_target["coefficient"].tolist() == [1.0]
        assert rows["coefficient"].min() < 1.0 < rows["coefficient"].max()


def test_opening_hours_csv(generated: SampleSummary) -> None:
    oh = pd.read_csv(generated.opening_hours_csv, dtype=str)
    assert list(oh.columns) == ["project", "weekday", "open", "close"]
    for project, days in OPEN_HOURS.items():
        rows = oh[oh["project"] == project]
        assert sorted(int(d) for d in rows["weekday"]) == sorted(days)
        for _, row in rows.iterrows():
            opens, closes = days[int(row["weekday"])]
            assert row["open"] == f"{opens:02d}:00"
            assert row["close"] == f"{closes % 24:02d}:00"


def test_all_day_opening_means_open_all_day() -> None:
    """00:00–00:00 (techsupport) is open the whole day and only that day."""
    hours = OpeningHours({1: (dt.time(0, 0), dt.time(0, 0))})
    monday = dt.datetime(2026, 1, 5)
    slots = [monday + dt.timedelta(minutes=15 * i) for i in range(96)]
    assert all(hours.is_open(t) for t in slots)
    assert not any(hours.is_open(t + dt.timedelta(days=1)) for t in slots)


# ---------------------------------------------------------------------------------------
# history


def test_history_values_are_clean(generated: SampleSummary, history: pd.DataFrame) -> None:
    raw = pd.read_csv(generated.history_csv, dtype=str, keep_default_na=False)
    assert list(raw.columns) == ["project", "ts", "calls", "aht_s"]
    assert (raw != "").all().all()
    assert raw["calls"].str.fullmatch(r"\d+").all()
    assert raw["aht_s"].str.fullmatch(r"\d+\.\d").all()
    assert pd.api.types.is_integer_dtype(history["calls"])
    assert (history["calls"] >= 0).all()
    assert np.isfinite(history["aht_s"]).all()
    assert (history["aht_s"] > 0).all()
    assert set(history["project"]) == set(PROJECTS)
    assert not history.duplicated(["project", "ts"]).any()


def test_history_spans_16_weeks(history: pd.DataFrame) -> None:
    first, last = history["local"].min(), history["local"].max()
    assert first.date() == dt.date(2026, 1, 5)
    assert last.date() == dt.date(2026, 4, 26)
    assert (last.date() - first.date()).days + 1 >= 12 * 7
    minutes = history["local"].dt.minute
    assert (minutes % 15 == 0).all()
    assert (history["local"].dt.second == 0).all()


def test_offsets_follow_berlin_dst(history: pd.DataFrame) -> None:
    offsets = history["ts"].str[-6:]
    assert set(offsets) == {"+01:00", "+02:00"}
    before = history["date"] < DST_DAY
    after = history["date"] > DST_DAY
    assert (offsets[before] == "+01:00").all()
    assert (offsets[after] == "+02:00").all()
    # every written timestamp is the Berlin wall clock of its instant
    expected = [t.isoformat() for t in history["local"]]
    assert history["ts"].tolist() == expected
    assert history["ts"].iloc[0] == "2026-01-05T08:00:00+01:00"


def test_dst_day_has_92_quarter_hours(history: pd.DataFrame) -> None:
    start = dt.datetime(2026, 3, 29, tzinfo=BERLIN)
    end = dt.datetime(2026, 3, 30, tzinfo=BERLIN)
    quarter_hours = (end.astimezone(dt.UTC) - start.astimezone(dt.UTC)) / dt.timedelta(minutes=15)
    assert quarter_hours == 92
    tech = history[(history["project"] == "techsupport") & (history["date"] == DST_DAY)]
    assert len(tech) == 92
    assert not (tech["local"].dt.hour == 2).any()  # 02:00–02:59 does not exist that day
    assert tech["local"].is_monotonic_increasing
    assert tech["local"].is_unique


def test_rows_only_when_open(history: pd.DataFrame) -> None:
    hours = history["local"].dt.hour
    for project, days in OPEN_HOURS.items():
        rows = history["project"] == project
        opens = history["weekday"].map(lambda d, days=days: days.get(d, (0, 0))[0])
        closes = history["weekday"].map(lambda d, days=days: days.get(d, (0, 0))[1])
        inside = (hours >= opens) & (hours < closes)
        assert inside[rows].all(), project
    # a full ordinary day has every open quarter-hour
    tuesday = dt.date(2026, 1, 13)
    counts = history[history["date"] == tuesday].groupby("project").size().to_dict()
    assert counts == {"bank": 48, "retail": 60, "techsupport": 96, "chat": 56, "outbound": 44}


def test_holidays(history: pd.DataFrame) -> None:
    holis = _holidays()
    assert {GOOD_FRIDAY, EASTER_MONDAY, dt.date(2026, 3, 8)} <= holis
    on_holiday = history["date"].isin(holis)
    for project in ("bank", "chat", "outbound"):
        assert not (on_holiday & (history["project"] == project)).any(), project
    for project, factor in (("retail", 0.4), ("techsupport", 0.7)):
        daily = history[history["project"] == project].groupby("date")["calls"].sum()
        fridays = [d for d in daily.index if d.isoweekday() == 5 and d not in holis]
        ratio = daily[GOOD_FRIDAY] / daily[fridays].mean()
        assert factor * 0.75 < ratio < factor * 1.25, (project, ratio)


def test_anomalies(generated: SampleSummary, history: pd.DataFrame) -> None:
    def day_total(project: str, day: dt.date) -> tuple[float, float]:
        daily = history[history["project"] == project].groupby("date")["calls"].sum()
        same = [
            d
            for d in daily.index
            if d.isoweekday() == day.isoweekday() and d != day and d not in _holidays()
        ]
        return float(daily[day]), float(daily[same].mean())

    # retail campaign day: +60 %
    got, usual = day_total("retail", ANOMALY_DAYS["retail"])
    assert 1.4 < got / usual < 1.8
    # bank outage 13:00–15:00 with zero calls, then a spike
    bank = history[(history["project"] == "bank") & (history["date"] == ANOMALY_DAYS["bank"])]
    hour = bank["local"].dt.hour
    assert (bank.loc[hour.isin([13, 14]), "calls"] == 0).all()
    assert len(bank) == 48  # rows are present: an outage, not a closure
    # techsupport incident: more calls than usual
    got, usual = day_total("techsupport", ANOMALY_DAYS["techsupport"])
    assert got / usual > 1.2
    # chat: the whole day is missing (a data gap)
    chat_day = (history["project"] == "chat") & (history["date"] == ANOMALY_DAYS["chat"])
    assert not chat_day.any()
    events = pd.read_csv(generated.events_csv, dtype=str, keep_default_na=False)
    assert list(events.columns) == ["date", "project", "kind", "uplift", "note"]
    assert set(events["kind"]) <= {"holiday", "closure", "campaign", "outage", "incident"}
    listed = set(zip(events["date"], events["project"], strict=True))
    for project, day in ANOMALY_DAYS.items():
        assert (day.isoformat(), project) in listed
    for day in (GOOD_FRIDAY, EASTER_MONDAY):
        assert (day.isoformat(), "") in listed
        assert (day.isoformat(), "bank") in listed


def test_volumes_and_weekday_ratios(history: pd.DataFrame) -> None:
    weekday_mean = {
        "bank": (2200, 2800),
        "retail": (3000, 4000),
        "techsupport": (500, 700),
        "chat": (1000, 1400),
        "outbound": (400, 500),
    }
    means: dict[str, pd.Series] = {}
    for project, (lo, hi) in weekday_mean.items():
        daily = _daily(history, project)
        by_weekday = daily.groupby("weekday")["calls"].mean()
        means[project] = by_weekday
        assert lo < by_weekday.loc[1:5].mean() < hi, project
    # designed weekday factors (README): Saturday / Sunday relative to the Mon–Fri mean
    bank, retail, tech = means["bank"], means["retail"], means["techsupport"]
    assert 0.35 < bank[6] / bank.loc[1:5].mean() < 0.48
    assert 7 not in bank.index
    assert 0.52 < retail[7] / retail.loc[1:5].mean() < 0.70
    assert retail[7] < retail[6] < retail.loc[1:5].mean()
    assert 0.33 < tech[7] / tech.loc[1:5].mean() < 0.47
    assert bank[1] > bank[5]  # Monday is the busiest bank day
    assert set(means["chat"].index) == {1, 2, 3, 4, 5}
    assert set(means["outbound"].index) == {1, 2, 3, 4, 5, 6}


def test_handle_times(history: pd.DataFrame) -> None:
    expected = {"bank": 240, "retail": 180, "techsupport": 600, "chat": 420, "outbound": 255}
    for project, aht in expected.items():
        rows = history[history["project"] == project]
        weighted = (rows["calls"] * rows["aht_s"]).sum() / rows["calls"].sum()
        assert 0.9 * aht < weighted < 1.1 * aht, project


def test_inbound_intraday_double_peak(history: pd.DataFrame) -> None:
    bank = history[history["project"] == "bank"]
    by_hour = bank.groupby(bank["local"].dt.hour)["calls"].mean()
    assert by_hour[10] > by_hour[12] < by_hour[14]
    assert by_hour[10] > 1.5 * by_hour[19]


# ---------------------------------------------------------------------------------------
# agents


def test_agents(agents: pd.DataFrame) -> None:
    assert list(agents.columns) == [
        "agent",
        "skills",
        "min_hours_week",
        "max_hours_week",
        "max_days_week",
        "earliest_start",
        "latest_end",
        "days_off",
        "preferred_start",
        "grade",
        "hourly_cost_eur",
    ]
    assert 140 <= len(agents) <= 160
    assert agents["agent"].str.fullmatch(r"A\d{3}").all()
    assert agents["agent"].is_unique
    skills = agents["skills"].str.split(";")
    assert skills.map(len).between(1, 3).all()
    assert skills.map(lambda s: len(set(s)) == len(s)).all()
    assert set().union(*skills.map(set)) == set(PROJECTS)
    for project in PROJECTS:
        holders = skills.map(lambda s, p=project: p in s).sum()
        assert holders >= 10, project
    assert set(agents["grade"]) == {"junior", "standard", "senior"}
    cost = agents["hourly_cost_eur"].astype(float)
    assert cost.between(17, 24).all()
    lo, hi = agents["min_hours_week"].astype(float), agents["max_hours_week"].astype(float)
    assert (lo <= hi).all()
    assert ((lo == 38) & (hi == 40)).sum() > len(agents) / 3  # plenty of full-timers
    assert (hi <= 20).any()  # some students
    assert agents["max_days_week"].astype(int).between(1, 7).all()
    time_re = re.compile(r"(\d\d:\d\d)?")
    for column in ("earliest_start", "latest_end", "preferred_start"):
        assert agents[column].map(lambda v: time_re.fullmatch(v) is not None).all()
        assert (agents[column] != "").any(), column
    plan_week = {dt.date(2026, 4, 27) + dt.timedelta(days=i) for i in range(7)}
    days_off = agents["days_off"][agents["days_off"] != ""]
    assert len(days_off) > 0
    for cell in days_off:
        assert {dt.date.fromisoformat(d) for d in cell.split(";")} <= plan_week


def test_agent_capacity_is_plausible(agents: pd.DataFrame, history: pd.DataFrame) -> None:
    """Weekly contracted hours cover the last week's raw workload with some slack."""
    last_week = history[history["date"] >= dt.date(2026, 4, 20)]
    workload_h = (last_week["calls"] * last_week["aht_s"]).sum() / 3600
    capacity_h = agents["max_hours_week"].astype(float).sum()
    assert 1.05 * workload_h < capacity_h < 2.0 * workload_h


def test_readme_documents_the_facts(generated: SampleSummary) -> None:
    text = generated.readme.read_text(encoding="utf-8")
    assert "wfm samples --out data/samples --seed 20260105" in text
    for fact in ("Europe/Berlin", "2026-03-29", "92", "2026-04-03", "00:00", "events.csv"):
        assert fact in text
