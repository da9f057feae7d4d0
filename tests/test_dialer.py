"""The predictive-dialer simulation (``wfm.sim.simulate_dialer``), its service and ``wfm dialer``.

Invariants are checked on the per-dial table and the frames: outcomes add up, an agent is on
one line at a time, a connected pick-up reaches its agent within 2 s, progressive pacing never
drops, more aggressive pacing drops more, and the adaptive controller holds its target.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run

from wfm.errors import InputError
from wfm.services.dialer import load_campaign, run_campaign
from wfm.sim import (
    OUTCOMES,
    Campaign,
    DialerReport,
    Pacing,
    campaign_from_mapping,
    parse_pacing,
    simulate_dialer,
)

CAMPAIGN = Path(__file__).resolve().parent / "data" / "campaign.json"
BASE: dict[str, Any] = json.loads(CAMPAIGN.read_text())
COUNTS = (
    "dials",
    "no_answer",
    "machines",
    "live",
    "connected",
    "right_party",
    "dropped",
    "amd_false_positives",
    "abandoned_uk",
)


def campaign(**changes: object) -> Campaign:
    return campaign_from_mapping(BASE | changes)


def simulate(pacing: str, *, days: int = 3, agents: int = 20, seed: int = 7) -> DialerReport:
    return simulate_dialer(campaign(), agents=agents, pacing=pacing, days=days, seed=seed)


@pytest.fixture(scope="module")
def reports() -> dict[str, DialerReport]:
    pacings = ("preview", "progressive", "fixed:1.2", "fixed:3", "adaptive:0.025")
    return {p: simulate(p) for p in pacings}


def outcome(r: DialerReport, *names: str) -> pd.Series:
    return r.calls["outcome"].isin(names)


# --------------------------------------------------------------------------------------------
# invariants


@pytest.mark.parametrize(
    "pacing", ["preview", "progressive", "fixed:1.2", "fixed:3", "adaptive:0.025"]
)
def test_outcomes_are_conserved(reports: dict[str, DialerReport], pacing: str) -> None:
    r = reports[pacing]
    assert r.calls["outcome"].notna().all()  # every dial reached an outcome
    for frame in (r.days, r.intervals):
        assert (frame["dials"] == frame["no_answer"] + frame["machines"] + frame["live"]).all()
        live = frame["connected"] + frame["dropped"] + frame["amd_false_positives"]
        assert (frame["live"] == live).all()
        assert (frame["abandoned_uk"] == frame["dropped"] + frame["amd_false_positives"]).all()
        assert (frame["right_party"] <= frame["connected"]).all()
        assert (frame["busy_s"] <= frame["staffed_s"] + 1e-6).all()
        assert np.allclose(frame["busy_s"] + frame["idle_s"], frame["staffed_s"])
    # the intervals add up to the days, and the days to the dial table
    by_date = r.intervals.groupby("date")[list(COUNTS)].sum()
    days = r.days.set_index("date")[list(COUNTS)]
    pd.testing.assert_frame_equal(by_date, days, check_names=False)
    assert np.allclose(r.intervals.groupby("date")["busy_s"].sum(), r.days["busy_s"])
    assert r.totals.dials == len(r.calls)
    assert r.totals.live == int(outcome(r, *OUTCOMES[4:]).sum())
    assert r.totals.right_party == int(outcome(r, "right_party").sum())
    # agents × window: 20 agents × 11 h a day
    assert (r.days["staffed_s"] == 20 * 11 * 3600).all()
    t = r.totals
    records = t.records_completed + t.records_exhausted + t.records_pending
    assert records + t.records_untouched == BASE["records"]


@pytest.mark.parametrize("pacing", ["preview", "progressive", "fixed:3", "adaptive:0.025"])
def test_no_agent_is_on_two_lines(reports: dict[str, DialerReport], pacing: str) -> None:
    calls = reports[pacing].calls
    on = calls[calls["agent"] >= 0].sort_values(["agent", "agent_start_s"])
    assert on["agent"].between(0, 19).all()
    assert (on["agent_end_s"] >= on["agent_start_s"]).all()
    same = on["agent"].to_numpy()[1:] == on["agent"].to_numpy()[:-1]
    gap = on["agent_start_s"].to_numpy()[1:] - on["agent_end_s"].to_numpy()[:-1]
    assert (gap[same] >= -1e-9).all()
    # exactly the calls put through have an agent
    through = outcome(reports[pacing], "machine_to_agent", "right_party", "wrong_party")
    if pacing != "preview":  # a preview agent is on every line from its dial
        assert ((calls["agent"] >= 0) == through).all()


@pytest.mark.parametrize("pacing", ["progressive", "fixed:3", "adaptive:0.025"])
def test_connected_calls_reach_an_agent_within_2_s(
    reports: dict[str, DialerReport], pacing: str
) -> None:
    r = reports[pacing]
    calls = r.calls[outcome(r, "machine_to_agent", "right_party", "wrong_party")]
    wait = calls["agent_start_s"] - calls["answer_s"]
    assert wait.between(0.0, 2.0).all()
    if pacing == "fixed:3":
        assert (wait > 0).any()  # some waited for an agent to free up


def test_a_drop_happens_only_when_every_agent_is_busy(reports: dict[str, DialerReport]) -> None:
    r = reports["fixed:3"]
    calls = r.calls
    on = calls[calls["agent"] >= 0]
    starts = np.sort(on["agent_start_s"].to_numpy())
    ends = np.sort(on["agent_end_s"].to_numpy())
    dropped = calls.loc[outcome(r, "dropped", "machine_dropped"), "answer_s"].to_numpy()
    assert dropped.size > 0
    busy = np.searchsorted(starts, dropped, side="right") - np.searchsorted(
        ends, dropped, side="right"
    )
    assert (busy == r.agents).all()


def test_ringing_respects_the_timeout_and_the_window(reports: dict[str, DialerReport]) -> None:
    r = reports["adaptive:0.025"]
    calls = r.calls
    answered = calls["answer_s"].notna()
    assert ((calls["answer_s"] - calls["dial_s"])[answered] < BASE["ring_timeout_s"]).all()
    assert (answered == ~outcome(r, "no_answer")).all()
    local = (r.origin + pd.to_timedelta(calls["dial_s"], unit="s")).dt.tz_convert(BASE["tz"])
    minutes = local.dt.hour * 60 + local.dt.minute
    assert minutes.between(9 * 60, 20 * 60 - 1).all()


def test_records_follow_attempts_and_retry_delay(reports: dict[str, DialerReport]) -> None:
    calls = reports["adaptive:0.025"].calls.sort_values(["record", "attempt"])
    assert calls["attempt"].max() <= BASE["max_attempts"]
    first = calls.groupby("record")["attempt"].transform("min")
    assert (first == 1).all()
    rec = calls["record"].to_numpy()
    same = rec[1:] == rec[:-1]
    assert (np.diff(calls["attempt"].to_numpy())[same] == 1).all()
    gap = np.diff(calls["dial_s"].to_numpy())[same]
    assert (gap >= BASE["retry_delay_min"] * 60.0).all()
    # no dial after a right-party contact
    contact = (calls["outcome"] == "right_party").to_numpy()
    assert not (contact[:-1] & same).any()


# --------------------------------------------------------------------------------------------
# pacing


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("pacing", ["preview", "progressive"])
def test_one_line_per_free_agent_never_drops(pacing: str, seed: int) -> None:
    # many live pick-ups and a slow AMD: the hardest case for a ratio of 1
    c = campaign(answer_rate=0.9, machine_rate=0.1, amd_accuracy=0.5)
    r = simulate_dialer(c, agents=5, pacing=pacing, days=2, seed=seed)
    assert r.totals.dropped == 0
    assert not outcome(r, "dropped", "machine_dropped").any()
    assert (r.calls["dial_ratio"] == 1.0).all()
    if pacing == "preview":  # no AMD: nobody is hung up on
        assert r.totals.amd_false_positives == 0
        assert not outcome(r, "machine_detected").any()


def test_a_higher_fixed_ratio_drops_more(reports: dict[str, DialerReport]) -> None:
    low, high = reports["fixed:1.2"].totals, reports["fixed:3"].totals
    assert high.dropped > 10 * max(low.dropped, 1)
    assert high.abandon_rate_us > low.abandon_rate_us
    assert high.occupancy > low.occupancy  # what the drops buy
    assert reports["progressive"].totals.dropped == 0


@pytest.mark.parametrize("target", [0.015, 0.025, 0.04])
def test_the_adaptive_controller_holds_its_target_over_30_days(target: float) -> None:
    r = simulate(f"adaptive:{target}", days=30, seed=11)
    # the controller works on the UK definition (AMD false positives count as abandoned)
    assert abs(r.uk.overall - target) <= 0.01
    assert abs(r.uk.mean - target) <= 0.01
    # the US rule's rolling 30 days on the last day is the whole run
    assert r.days["abandon_rate_us_30d"].iloc[-1] == pytest.approx(r.us.overall)
    assert r.us.overall <= r.uk.overall
    assert r.calls["dial_ratio"].min() >= 1.0 and r.calls["dial_ratio"].max() <= 10.0
    assert r.uk.days == 30 and r.us.days == 30


def test_compliance_summary_matches_the_days(reports: dict[str, DialerReport]) -> None:
    r = reports["fixed:3"]
    uk = r.days["abandon_rate_uk"]
    assert r.uk.mean == pytest.approx(uk.mean())
    assert r.uk.worst == pytest.approx(uk.max())
    assert r.uk.worst_date == r.days["date"].iloc[int(uk.to_numpy().argmax())]
    assert r.uk.p95 == pytest.approx(float(np.percentile(uk, 95)))
    assert r.uk.days_over == int((uk > 0.03).sum())
    us = r.days["dropped"].cumsum() / r.days["live"].cumsum()  # fewer than 30 days
    assert np.allclose(r.days["abandon_rate_us_30d"], us)


def test_the_us_rule_rolls_over_30_days() -> None:
    r = simulate("fixed:2", days=35, agents=5, seed=3)
    d = r.days
    last = d.iloc[5:35]
    assert d["abandon_rate_us_30d"].iloc[-1] == pytest.approx(
        last["dropped"].sum() / last["live"].sum()
    )


# --------------------------------------------------------------------------------------------
# determinism, lists, time zones


def test_same_seed_same_frames() -> None:
    a = simulate("adaptive:0.025", days=2, seed=5)
    b = simulate("adaptive:0.025", days=2, seed=5)
    for name in ("days", "intervals", "calls"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.totals == b.totals and a.us == b.us and a.uk == b.uk
    c = simulate("adaptive:0.025", days=2, seed=6)
    assert not c.days["dials"].equals(a.days["dials"])


def test_more_numbers_are_drawn_when_the_guess_is_short(monkeypatch: pytest.MonkeyPatch) -> None:
    from wfm.sim import _dialer

    monkeypatch.setattr(_dialer, "_initial_dials", lambda *args: 100)
    r = simulate("fixed:2", days=1, agents=5, seed=2)
    assert r.totals.dials > 1000
    d = r.days
    assert (d["dials"] == d["no_answer"] + d["machines"] + d["live"]).all()


def test_a_short_list_runs_dry() -> None:
    c = campaign(records=300, max_attempts=3, retry_delay_min=30)
    r = simulate_dialer(c, agents=10, pacing="adaptive:0.025", days=3, seed=1)
    t = r.totals
    assert t.records_untouched == 0
    assert t.records_completed + t.records_exhausted + t.records_pending == 300
    assert t.dials <= 300 * 3
    assert t.records_pending == 0  # three days are enough to finish every record
    assert r.days["dials"].iloc[-1] < r.days["dials"].iloc[0]


def test_a_dst_day_has_the_real_window_length() -> None:
    # Europe/London springs forward at 01:00 on 2026-03-29: 00:30–03:30 is 2 hours long
    c = campaign(start_date="2026-03-28", window_start="00:30", window_end="03:30")
    r = simulate_dialer(c, agents=4, pacing="progressive", days=2, seed=1)
    assert list(r.days["staffed_s"]) == [4 * 3 * 3600, 4 * 2 * 3600]
    day2 = r.intervals[r.intervals["date"] == dt.date(2026, 3, 29)]
    assert len(day2) == 8
    assert day2["ts"].iloc[0].isoformat() == "2026-03-29T00:30:00+00:00"
    assert day2["ts"].iloc[-1].isoformat() == "2026-03-29T03:15:00+01:00"


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "text",
    ["", "fast", "fixed", "fixed:", "fixed:x", "fixed:0.5", "fixed:11", "adaptive", "adaptive:0",
     "adaptive:0.7", "adaptive:nan", "progressive:2", "preview:1"],
)  # fmt: skip
def test_bad_pacing_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="pacing") as info:
        parse_pacing(text)
    assert info.value.field == "pacing"


def test_pacing_round_trips() -> None:
    for text in ("preview", "progressive", "fixed:1.5", "adaptive:0.025"):
        assert str(parse_pacing(text)) == text
    assert parse_pacing(" Adaptive:0.03 ") == Pacing(mode="adaptive", target=0.03)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("records", 0),
        ("records", "many"),
        ("records", True),
        ("max_attempts", 1.5),
        ("answer_rate", 1.5),
        ("machine_rate", -0.1),
        ("right_party_rate", "high"),
        ("amd_accuracy", float("nan")),
        ("amd_false_positive_rate", 2),
        ("talk_s", 0),
        ("wrap_s", -1),
        ("answer_time_s", 0),
        ("ring_timeout_s", 10),
        ("connect_within_s", 3),
        ("talk_dist", "normal"),
        ("wrap_cv", 0),
        ("answer_time_dist", 1),
        ("window_start", "25:00"),
        ("window_start", 9),
        ("window_end", "08:00"),
        ("retry_delay_min", -5),
        ("tz", "Mars/Olympus"),
        ("start_date", "2026-02-30"),
        ("name", ""),
    ],
)
def test_bad_campaign_fields_are_named(key: str, value: object) -> None:
    with pytest.raises(InputError) as info:
        campaign(**{key: value})
    assert info.value.field == key
    assert str(info.value).startswith(key)


def test_unknown_and_missing_campaign_keys_are_named() -> None:
    with pytest.raises(InputError, match="dial_rate") as info:
        campaign(dial_rate=2)
    assert info.value.field == "dial_rate"
    data = dict(BASE)
    del data["talk_s"]
    with pytest.raises(InputError, match="talk_s: missing") as info:
        campaign_from_mapping(data)
    assert info.value.field == "talk_s"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"agents": 0}, "agents"), ({"days": 0}, "days"), ({"seed": -1}, "seed"),
     ({"pacing": "turbo"}, "pacing")],
)  # fmt: skip
def test_bad_run_arguments_are_named(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"agents": 3, "pacing": "progressive", "days": 1, "seed": 1} | kwargs
    with pytest.raises(InputError) as info:
        simulate_dialer(campaign(), **args)
    assert info.value.field == field


# --------------------------------------------------------------------------------------------
# the service


def _toml(data: dict[str, Any]) -> str:
    lines = []
    for key, value in data.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def test_run_campaign_writes_the_csvs_and_reads_toml(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_campaign(CAMPAIGN, agents=6, pacing="fixed:2", days=2, seed=4, out_dir=out)
    assert r.files == (out / "days.csv", out / "intervals.csv")
    assert sorted(p.name for p in out.iterdir()) == ["days.csv", "intervals.csv"]  # no temp
    days = pd.read_csv(out / "days.csv")
    assert list(days["date"]) == ["2026-03-02", "2026-03-03"]
    assert list(days["dials"]) == list(r.days["dials"])
    intervals = pd.read_csv(out / "intervals.csv")
    assert len(intervals) == 2 * 44
    assert intervals["ts"].iloc[0] == "2026-03-02T09:00:00+00:00"
    assert intervals["dials"].sum() == r.totals.dials
    # the same campaign as TOML gives the same report
    toml = tmp_path / "campaign.toml"
    toml.write_text(_toml(BASE))
    assert load_campaign(toml) == load_campaign(CAMPAIGN)
    again = run_campaign(toml, agents=6, pacing="fixed:2", days=2, seed=4, out_dir=None)
    pd.testing.assert_frame_equal(again.days, r.days)
    assert again.files == ()


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("c.yaml", "records: 1\n", ".json nor .toml"),
        ("c.json", '{"records": 1,', "line 1"),
        ("c.json", "[1, 2]", "not an object"),
        ("c.toml", "records = \n", "campaign"),
    ],
)
def test_bad_campaign_files(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=needle) as info:
        load_campaign(path)
    assert info.value.field == "campaign"
    with pytest.raises(InputError, match="cannot read"):
        load_campaign(tmp_path / "missing.json")


# --------------------------------------------------------------------------------------------
# the command line


ARGS = ["dialer", "--campaign", str(CAMPAIGN), "--agents", "8", "--days", "3", "--seed", "1"]


def test_cli_prints_the_compliance_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run([*ARGS, "--pacing", "fixed:2.5", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert "US 30-day" in out and "UK 24 h" in out and "days over" in out
    assert "fixed:2.5" in out and "insurance renewals" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert (tmp_path / "days.csv").is_file() and (tmp_path / "intervals.csv").is_file()


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*ARGS, "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["pacing"] == "adaptive:0.025"  # the default
    assert data["agents"] == 8 and data["days"] == 3
    assert set(data["compliance"]) == {"us", "uk"}
    uk = data["compliance"]["uk"]
    assert uk["days"] == 3 and uk["limit"] == 0.03
    assert math.isclose(uk["mean"], sum(d["abandon_rate_uk"] for d in data["daily"]) / 3)
    assert [d["date"] for d in data["daily"]] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert data["totals"]["dials"] == sum(d["dials"] for d in data["daily"])
    assert data["files"] == []


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--pacing", "fixed:0.5"], "pacing"),
        (["--pacing", "turbo"], "pacing"),
        (["--agents", "0"], "agents"),
        (["--days", "0"], "days"),
        (["--agents", "many"], "--agents"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    argv = list(ARGS)
    if extra[0] in argv:
        argv[argv.index(extra[0]) + 1] = extra[1]
    else:
        argv += extra
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]


def test_cli_bad_campaign_field_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(BASE | {"ring_timeout_s": 8}))
    code, out, err = run(["dialer", "--campaign", str(path), "--agents", "3"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "ring_timeout_s" in err
    code, _, err = run(["dialer", "--campaign", str(tmp_path / "no.json"), "--agents", "3"], capsys)
    assert code == 2 and "campaign" in err
