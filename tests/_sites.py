"""A tiny site folder for the batch tests (shared by test_replan and test_batch)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

TZ = "Europe/Berlin"
WEEK = dt.date(2026, 4, 27)
RATES = {"bank": 30.0, "shop": 3.0}

PROJECTS_HEADER = (
    "project,name,kind,sl_target,answer_within_s,max_abandon_rate,patience_s,concurrency,"
    "billing,rate_eur,bonus_eur_per_point,penalty_eur_per_point,penalty_cap_eur,"
    "contacts_per_week,dials_per_contact,talk_s,wrap_s,attempt_s"
)
AGENTS_HEADER = (
    "agent,skills,min_hours_week,max_hours_week,max_days_week,earliest_start,latest_end,"
    "days_off,preferred_start,grade,hourly_cost_eur"
)


def write_site(folder: Path, *, agents: int = 8, weeks: int = 3, seed: int = 11) -> Path:
    """A tiny site: bank (per hour) and shop (per contact), open Mon–Fri 08:00–12:00, 30-min
    history for ``weeks`` weeks before ``WEEK`` (Poisson calls drawn with ``seed``), ``agents``
    agents (bank, shop or both)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.json").write_text(
        json.dumps({"name": "Tiny", "tz": TZ, "country": "DE", "subdiv": "BE"})
    )
    (folder / "projects.csv").write_text(
        PROJECTS_HEADER
        + "\n"
        + f"bank,Bank,inbound,0.8,20,0.05,180,1,per_hour,{RATES['bank']},0,0,0,,,,,\n"
        + f"shop,Shop,inbound,0.8,30,0.05,120,1,per_contact,{RATES['shop']},0,0,0,,,,,\n"
    )
    (folder / "opening_hours.csv").write_text(
        "project,weekday,open,close\n"
        + "".join(f"{p},{d},08:00,12:00\n" for p in ("bank", "shop") for d in range(1, 6))
    )
    skills = ["bank", "shop", "bank;shop", "shop;bank"]
    (folder / "agents.csv").write_text(
        AGENTS_HEADER
        + "\n"
        + "".join(
            f"A{i + 1},{skills[i % 4]},8,20,5,,,,,junior,{18 + i % 3}.00\n" for i in range(agents)
        )
    )
    rng = np.random.default_rng(seed)
    lines = ["project,ts,calls,aht_s"]
    first = WEEK - dt.timedelta(days=7 * weeks)
    for d in range(7 * weeks):
        day = first + dt.timedelta(days=d)
        if day.isoweekday() > 5:
            continue
        for slot in range(8):
            ts = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(minutes=30 * slot)
            for project, mean, aht in (("bank", 8, 180), ("shop", 6, 240)):
                lines.append(f"{project},{ts:%Y-%m-%dT%H:%M:%S},{rng.poisson(mean)},{aht}")
    (folder / "history.csv").write_text("\n".join(lines) + "\n")
    return folder
