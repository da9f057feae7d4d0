"""Outbound dialer service: simulate a predictive-dialer campaign from a campaign file
(``wfm dialer``) and report abandonment compliance (US and UK rules) per day.

The engine is ``wfm.sim.simulate_dialer`` (its module docstring has the model, the pacing
policies and the adaptive controller's rule).

**The campaign file** is a JSON object (``.json``) or a TOML document (``.toml``) with these
top-level keys; shares are in [0, 1], times in seconds unless the key says otherwise.

Required:

- ``records``: list size (records to call); ``max_attempts``: dials per record at most;
- ``answer_rate``: probability a dialled number picks up (person or machine) given enough
  ringing; ``answer_time_s``: mean time from the dial to the pick-up;
- ``ring_timeout_s``: ringing before giving up (at least 15; a later pick-up is a no answer);
- ``machine_rate``: share of pick-ups that are answering machines;
- ``amd_accuracy``: share of machines AMD recognises (the line is hung up);
  ``amd_false_positive_rate``: share of live people AMD takes for machines (hung up on);
- ``right_party_rate``: share of live pick-ups that are the right person;
- ``talk_s``, ``wrap_s``: mean talk and wrap time of a right-party contact;
- ``window_start``, ``window_end``: the daily calling window, local ``"HH:MM"``;
- ``retry_delay_min``: minutes from an unsuccessful outcome to the record's next dial.

Optional (default): ``name`` ("campaign"); ``answer_time_dist``, ``talk_dist``,
``wrap_dist`` ("exponential" or "lognormal"; default exponential) with ``answer_time_cv``,
``talk_cv``, ``wrap_cv`` (coefficients of variation of the lognormal, 1.0);
``wrong_party_s`` (20: agent time on a live wrong party); ``machine_agent_s`` (8: agent time
on a machine AMD missed); ``connect_within_s`` (2: a live pick-up with no agent by then is
dropped; at most 2); ``tz`` ("UTC": the zone of the window); ``start_date`` ("2026-01-05":
the first simulated day, ``"YYYY-MM-DD"``).

Unknown or missing keys and bad values raise ``InputError`` naming the key.

**Outputs**: ``run_campaign`` returns a ``DialerReport``; given ``out_dir`` it also writes
``days.csv`` (one row per day) and ``intervals.csv`` (one row per 15-minute interval of the
calling windows, ``ts`` ISO-8601 with its UTC offset), each atomically (a temporary file
renamed over the target).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from wfm.errors import InputError
from wfm.services._files import iso_text, write_csv_atomic
from wfm.sim import (
    ABANDON_LIMIT,
    OUTCOMES,
    Campaign,
    DialerReport,
    DialerTotals,
    Pacing,
    RuleCompliance,
    campaign_from_mapping,
    parse_pacing,
    simulate_dialer,
)

__all__ = [
    "ABANDON_LIMIT",
    "OUTCOMES",
    "Campaign",
    "DialerReport",
    "DialerTotals",
    "Pacing",
    "RuleCompliance",
    "load_campaign",
    "parse_pacing",
    "run_campaign",
    "write_dialer_csvs",
]


def load_campaign(path: Path) -> Campaign:
    """Read a campaign file (``.json`` or ``.toml``, see the module docstring)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise InputError(
            f"campaign: {path.name} is neither .json nor .toml",
            field="campaign",
            expected="a .json or .toml campaign file",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(
            f"campaign: cannot read {path} ({reason})",
            field="campaign",
            expected="a readable campaign file",
        ) from exc
    data: object
    try:
        data = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"campaign: {path.name} line {exc.lineno}: {exc.msg}",
            field="campaign",
            row=exc.lineno,
            expected="a JSON object",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"campaign: {path.name}: {exc}", field="campaign", expected="a TOML document"
        ) from exc
    if not isinstance(data, Mapping):
        raise InputError(
            f"campaign: {path.name} is not an object of keys",
            field="campaign",
            expected="a JSON object or TOML table of campaign keys",
        )
    return campaign_from_mapping(data)


def run_campaign(
    campaign_path: Path,
    *,
    agents: int,
    pacing: str,
    days: int,
    seed: int,
    out_dir: Path | None = None,
) -> DialerReport:
    """Simulate the campaign of ``campaign_path`` for ``days`` days with ``agents`` agents and
    the ``pacing`` policy (``preview``, ``progressive``, ``fixed:R`` or ``adaptive:TARGET``);
    deterministic for a ``seed``. With ``out_dir``, writes ``days.csv`` and ``intervals.csv``
    there (``DialerReport.files``). Bad input raises ``InputError`` naming the field."""
    policy = parse_pacing(pacing)  # before reading anything: cheap checks first
    campaign = load_campaign(campaign_path)
    report = simulate_dialer(campaign, agents=agents, pacing=policy, days=days, seed=seed)
    if out_dir is None:
        return report
    return replace(report, files=write_dialer_csvs(report, out_dir))


def write_dialer_csvs(report: DialerReport, out_dir: Path) -> tuple[Path, Path]:
    """Write ``days.csv`` and ``intervals.csv`` into ``out_dir`` (created if missing), each
    atomically. A folder that cannot be written raises ``InputError`` (field ``out``)."""
    out_dir = Path(out_dir)
    days = report.days.copy()
    days["date"] = [d.isoformat() for d in days["date"]]
    intervals = report.intervals.copy()
    intervals["date"] = [d.isoformat() for d in intervals["date"]]
    intervals["ts"] = iso_text(intervals["ts"])
    return (
        write_csv_atomic(days, out_dir / "days.csv", expected="a writable folder"),
        write_csv_atomic(intervals, out_dir / "intervals.csv", expected="a writable folder"),
    )
