"""The planning calendar: public holidays of the site's country and the user's events.

A day is, for one project, one of: a normal day; a public holiday (the project may be closed,
or open at a declared or learned factor); a closure (forecast 0); a campaign day (volume × a
declared uplift); an anomaly in the history (outage, incident: left out of fitting, and in the
future multiplied by its uplift when one is given). Business days are Monday–Friday minus
public holidays; they carry the turn-of-month position that call volumes often follow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from wfm.errors import InputError

__all__ = ["EVENT_KINDS", "Calendar", "DayInfo"]

EVENT_KINDS = frozenset({"holiday", "closure", "campaign", "outage", "incident"})


@dataclass(frozen=True, slots=True)
class DayInfo:
    """What the calendar says about one date for one project."""

    date: dt.date
    holiday: bool  # a public holiday (country calendar or a holiday event)
    holiday_name: str  # its name ("" when not a holiday)
    closed: bool  # declared closed (closure event)
    uplift: float  # declared multiplier (campaign, holiday, outage, incident); 1 if none
    declared: bool  # an event gives this day's factor (uplift)
    anomaly: bool  # outage/incident: not a normal day to learn from
    business_index: int  # 0-based position among the month's business days; -1 if none
    business_from_end: int  # 0 = last business day of the month; -1 if not a business day


@dataclass(frozen=True)
class Calendar:
    """Holidays of ``country``/``subdiv`` (the ``holidays`` package) plus ``events``.

    ``events`` has columns ``date`` (``datetime.date``), ``project`` (None/empty = every
    project), ``kind`` (one of ``EVENT_KINDS``) and ``uplift`` (float, NaN when not given)."""

    country: str | None = None
    subdiv: str | None = None
    events: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["date", "project", "kind", "uplift"])
    )

    def __post_init__(self) -> None:
        missing = {"date", "kind"} - set(self.events.columns)
        if missing:
            raise InputError(
                f"events: missing column {sorted(missing)[0]!r}",
                field=sorted(missing)[0],
                expected="date, project, kind, uplift",
            )
        bad = sorted(set(self.events["kind"].astype(str)) - EVENT_KINDS)
        if bad:
            raise InputError(
                f"events: kind {bad[0]!r} is not one of {', '.join(sorted(EVENT_KINDS))}",
                field="kind",
                expected=", ".join(sorted(EVENT_KINDS)),
            )
        if self.country is not None:
            import holidays

            try:
                holidays.country_holidays(self.country, subdiv=self.subdiv, years=2000)
            except (NotImplementedError, KeyError) as exc:
                raise InputError(
                    f"country: {self.country!r}/{self.subdiv!r} is not a known holiday calendar",
                    field="country",
                    expected="an ISO country code (and subdivision) known to `holidays`",
                ) from exc

    @cached_property
    def _event_rows(self) -> list[tuple[dt.date, str | None, str, float]]:
        rows: list[tuple[dt.date, str | None, str, float]] = []
        if self.events.empty:
            return rows
        projects = self.events.get("project", None)
        uplifts = self.events.get("uplift", None)
        for i, (date, kind) in enumerate(
            zip(self.events["date"], self.events["kind"], strict=True)
        ):
            project = None if projects is None else projects.iloc[i]
            if project is not None and (pd.isna(project) or str(project).strip() == ""):
                project = None
            uplift = float("nan") if uplifts is None else float(uplifts.iloc[i])
            day = pd.Timestamp(date).date()
            rows.append((day, None if project is None else str(project), str(kind), uplift))
        return rows

    def public_holidays(self, years: Iterable[int]) -> dict[dt.date, str]:
        """Public holidays (date → name) of the country calendar plus project-less holiday
        events (named by their date when the country calendar does not know them)."""
        out: dict[dt.date, str] = {}
        if self.country is not None:
            import holidays

            found = holidays.country_holidays(self.country, subdiv=self.subdiv, years=list(years))
            out.update({d: str(name) for d, name in found.items()})
        for d, p, k, _ in self._event_rows:
            if k == "holiday" and p is None:
                out.setdefault(d, f"holiday {d:%m-%d}")
        return out

    def days(self, project: str, dates: Iterable[dt.date]) -> list[DayInfo]:
        """The calendar's view of each date for ``project``."""
        dates = list(dates)
        if not dates:
            return []
        years = range(min(dates).year - 1, max(dates).year + 2)
        hols = self.public_holidays(years)
        events: dict[dt.date, list[tuple[str, float]]] = {}
        for d, p, k, u in self._event_rows:
            if p is None or p == project:
                events.setdefault(d, []).append((k, u))
        business = _business_positions(min(dates), max(dates), hols)
        out: list[DayInfo] = []
        for d in dates:
            kinds = events.get(d, [])
            holiday = d in hols or any(k == "holiday" for k, _ in kinds)
            name = hols.get(d, f"holiday {d:%m-%d}") if holiday else ""
            closed = any(k == "closure" for k, _ in kinds)
            uplift = 1.0
            declared = False
            for k, u in kinds:
                if not np.isnan(u) and k != "closure":
                    uplift *= u
                    declared = True
            anomaly = any(k in ("outage", "incident") for k, _ in kinds)
            k_idx, k_end = business.get(d, (-1, -1))
            out.append(DayInfo(d, holiday, name, closed, uplift, declared, anomaly, k_idx, k_end))
        return out


def _business_positions(
    first: dt.date, last: dt.date, holidays: dict[dt.date, str]
) -> dict[dt.date, tuple[int, int]]:
    """(index from the month's start, index from its end) of every business day of the months
    spanned by [first, last]."""
    start = first.replace(day=1)
    end = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    days = pd.date_range(start, end, freq="D")
    positions: dict[dt.date, tuple[int, int]] = {}
    by_month: dict[tuple[int, int], list[dt.date]] = {}
    for ts in days:
        d = ts.date()
        if d.weekday() < 5 and d not in holidays:
            by_month.setdefault((d.year, d.month), []).append(d)
    for month_days in by_month.values():
        n = len(month_days)
        for i, d in enumerate(month_days):
            positions[d] = (i, n - 1 - i)
    return positions
