"""Published schedules: publish a plan run's draft, read a week's versions, an agent's
segments, and an agent's shifts as iCalendar.

A published version never changes (``wfm.db`` refuses to); each has an ETag (a digest of
week, version and segments). Publishing:

- is idempotent per ``Idempotency-Key``: the same key again returns the version it
  published (``Publication.replayed``), even if the week moved on since;
- may be conditioned on the week's current version (``if_match``: its ETag, or ``*`` for
  "some version is published"); when another version is current, ``PreconditionError``;
- of two concurrent publishes for one week (both about to become the same version number),
  exactly one wins; the other raises ``ConflictError`` (a retry re-reads the week).

Every function runs in one transaction of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from wfm.db import repositories as repo
from wfm.db.tables import RunStatus, ScheduleStatus, ScheduleVersion
from wfm.errors import ConflictError, InputError, NotFoundError, PreconditionError
from wfm.grid import check_tz
from wfm.services._db import read_only, transaction

__all__ = [
    "MAX_RANGE_DAYS",
    "AgentSchedule",
    "Publication",
    "PublicationStamp",
    "ScheduleHead",
    "ScheduleView",
    "Segment",
    "agent_calendar",
    "agent_schedule",
    "etag_matches",
    "publication_stamp",
    "publish_run",
    "published_head",
    "published_schedule",
]

MAX_RANGE_DAYS = 400
"""The longest ``from`` … ``to`` range an agent's schedule is read for."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A schedule row: ``agent`` does ``activity`` (on ``project`` for work), UTC times."""

    agent: str
    start: dt.datetime
    end: dt.datetime
    activity: str
    project: str | None


@dataclass(frozen=True, slots=True)
class Publication:
    """A published version; ``replayed``: the idempotency key had published it before."""

    schedule_id: int
    week: dt.date
    version: int
    etag: str
    plan_run_id: int | None
    created_at: dt.datetime
    replayed: bool


@dataclass(frozen=True, slots=True)
class ScheduleView:
    """A published version of a week with its segments, and every version number of the
    week (oldest first)."""

    schedule_id: int
    week: dt.date
    version: int
    etag: str
    plan_run_id: int | None
    published_from_id: int | None
    created_at: dt.datetime
    segments: tuple[Segment, ...]
    versions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ScheduleHead:
    """A published version of a week without its segments (one small query): enough to
    answer ``If-None-Match`` or to key a cache of the version's rendering."""

    schedule_id: int
    week: dt.date
    version: int
    etag: str
    versions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PublicationStamp:
    """How many versions are published in all and when the last one was: published
    versions are only ever added, so the same ``count`` means the same published data
    (what every agent's schedule is read from)."""

    count: int
    last: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AgentSchedule:
    """An agent's segments overlapping ``[start, end)`` (the local days ``first`` …
    ``last`` of zone ``tz``) in each week's current published version."""

    agent: str
    first: dt.date
    last: dt.date
    tz: str
    segments: tuple[Segment, ...]


# --------------------------------------------------------------------------------------------
# ETags


def etag_matches(header: str, etag: str | None) -> bool:
    """Whether an ``If-Match`` header value (``"a", W/"b"`` or ``*``) names ``etag`` (the
    current version's; ``None`` when none is published). Weak tags compare by their value."""
    if etag is None:
        return False
    for part in header.split(","):
        tag = part.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == etag:
            return True
    return False


# --------------------------------------------------------------------------------------------
# publishing


def _publication(version: ScheduleVersion, *, replayed: bool) -> Publication:
    assert version.id is not None and version.version is not None
    return Publication(
        schedule_id=version.id,
        week=version.week,
        version=version.version,
        etag=version.etag,
        plan_run_id=version.plan_run_id,
        created_at=version.created_at,
        replayed=replayed,
    )


def _by_key(s: Session, key: str) -> ScheduleVersion | None:
    return s.exec(select(ScheduleVersion).where(ScheduleVersion.idempotency_key == key)).first()


def _draft_of(s: Session, run_id: int) -> ScheduleVersion:
    run = repo.get_plan_run(s, run_id=run_id)
    draft = s.exec(
        select(ScheduleVersion)
        .where(
            ScheduleVersion.plan_run_id == run_id,
            ScheduleVersion.status == ScheduleStatus.DRAFT,
        )
        .order_by(col(ScheduleVersion.id).desc())
    ).first()
    if draft is None:
        state = "is " + str(run.status) if run.status is not RunStatus.DONE else "has no draft"
        raise ConflictError(
            f"plan run {run_id} {state}: there is no schedule to publish yet "
            "(publish a run whose status is done)"
        )
    return draft


def _replay(s: Session, key: str, draft_id: int) -> Publication | None:
    done = _by_key(s, key)
    if done is None:
        return None
    if done.published_from_id != draft_id:
        raise ConflictError(
            f"Idempotency-Key {key!r} already published another plan's schedule (version "
            f"{done.version} of week {done.week}); use a new key for a new publish"
        )
    return _publication(done, replayed=True)


def publish_run(
    engine: sa.Engine, *, run_id: int, idempotency_key: str, if_match: str | None = None
) -> Publication:
    """Publish the draft schedule of plan run ``run_id`` as the next version of its week.

    The same ``idempotency_key`` again returns the same version. ``if_match``: publish only
    if the week's current version has this ETag (``*``: if any version is published), else
    ``PreconditionError``. A run without a draft (not done) and a concurrent publish that
    won the version number raise ``ConflictError``; an unknown run ``NotFoundError``."""
    key = idempotency_key.strip()
    if not key or len(key) > 200:
        raise InputError(
            "Idempotency-Key: empty or longer than 200 characters",
            field="Idempotency-Key",
            expected="a unique key per publish, e.g. a UUID",
        )
    draft_id: int | None = None
    try:
        with transaction(engine) as s:
            draft = _draft_of(s, run_id)
            draft_id = draft.id
            assert draft_id is not None
            replayed = _replay(s, key, draft_id)
            if replayed is not None:
                return replayed
            if if_match is not None:
                current = repo.current_published(s, week=draft.week)
                if not etag_matches(if_match, None if current is None else current.etag):
                    now = "none is published" if current is None else f"{current.version} is"
                    raise PreconditionError(
                        f"If-Match: the week of {draft.week} changed: version {now} current "
                        f"(ETag {current.etag if current else '-'}); re-read the week"
                    )
            published = repo.publish(s, draft_id=draft_id, idempotency_key=key)
            return _publication(published, replayed=False)
    except ConflictError as exc:
        if draft_id is None or not isinstance(exc.__cause__, IntegrityError):
            raise
        # lost a race: if the winner used the same key, this publish is done
        with read_only(engine) as s:
            replayed = _replay(s, key, draft_id)
        if replayed is not None:
            return replayed
        raise


# --------------------------------------------------------------------------------------------
# reading


def _segments(frame: pd.DataFrame) -> tuple[Segment, ...]:
    if frame.empty:
        return ()
    starts = pd.DatetimeIndex(frame["start"]).tz_convert("UTC").to_pydatetime()
    ends = pd.DatetimeIndex(frame["end"]).tz_convert("UTC").to_pydatetime()
    return tuple(
        Segment(
            agent=str(agent),
            start=start,
            end=end,
            activity=str(activity),
            project=None if project is None or pd.isna(project) else str(project),
        )
        for agent, start, end, activity, project in zip(
            frame["agent"].tolist(),
            starts,
            ends,
            frame["activity"].tolist(),
            frame["project"].tolist(),
            strict=True,
        )
    )


class _SegmentCache:
    """Segments of published versions (they never change): a small LRU keyed by the
    version's id and ETag (a digest of week, version and segments), so that two databases
    whose ids coincide never share an entry."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._items: OrderedDict[tuple[int, str], tuple[Segment, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, s: Session, schedule_id: int, etag: str) -> tuple[Segment, ...]:
        key = (schedule_id, etag)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        found = _segments(repo.schedule_frame(s, schedule_id=schedule_id))
        with self._lock:
            self._items[key] = found
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return found


_CACHE = _SegmentCache()


def _pick(
    s: Session, week: dt.date, version: int | None
) -> tuple[ScheduleVersion, list[ScheduleVersion]]:
    versions = repo.schedule_versions(s, week=week)
    if not versions:
        raise NotFoundError(
            f"week: nothing is published for the week of {week}",
            field="week",
            expected="a week with a published schedule",
        )
    if version is None:
        return versions[-1], versions
    match = [v for v in versions if v.version == version]
    if not match:
        raise NotFoundError(
            f"version: the week of {week} has no version {version} (it has "
            f"{', '.join(str(v.version) for v in versions)})",
            field="version",
            expected="a published version number of the week",
        )
    return match[0], versions


def published_head(engine: sa.Engine, *, week: dt.date, version: int | None = None) -> ScheduleHead:
    """Id, version number and ETag of the current published version of ``week`` (or of
    version ``version``), and the week's version numbers, without the segments;
    ``NotFoundError`` as ``published_schedule``."""
    with read_only(engine) as s:
        found, versions = _pick(s, week, version)
        assert found.id is not None and found.version is not None
        return ScheduleHead(
            schedule_id=found.id,
            week=found.week,
            version=found.version,
            etag=found.etag,
            versions=tuple(v.version for v in versions if v.version is not None),
        )


def publication_stamp(engine: sa.Engine) -> PublicationStamp:
    """The number of published versions (all weeks) and the time of the latest one."""
    with read_only(engine) as s:
        count, last = s.exec(
            select(
                sa.func.count(col(ScheduleVersion.id)), sa.func.max(ScheduleVersion.created_at)
            ).where(ScheduleVersion.status == ScheduleStatus.PUBLISHED)
        ).one()
    return PublicationStamp(count=int(count), last=last)


def published_schedule(
    engine: sa.Engine, *, week: dt.date, version: int | None = None
) -> ScheduleView:
    """The current published version of ``week`` (a Monday), or version ``version``;
    ``NotFoundError`` when there is none."""
    with read_only(engine) as s:
        found, versions = _pick(s, week, version)
        assert found.id is not None and found.version is not None
        segments = _CACHE.get(s, found.id, found.etag)
        return ScheduleView(
            schedule_id=found.id,
            week=found.week,
            version=found.version,
            etag=found.etag,
            plan_run_id=found.plan_run_id,
            published_from_id=found.published_from_id,
            created_at=found.created_at,
            segments=segments,
            versions=tuple(v.version for v in versions if v.version is not None),
        )


def _day_range(first: dt.date, last: dt.date, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if last < first:
        raise InputError(
            f"to: {last} is before from {first}", field="to", expected="a day on or after from"
        )
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InputError(
            f"to: {first} … {last} is longer than {MAX_RANGE_DAYS} days",
            field="to",
            expected=f"at most {MAX_RANGE_DAYS} days after from",
        )
    check_tz(tz)
    start = pd.Timestamp(dt.datetime.combine(first, dt.time()), tz=tz)
    end = pd.Timestamp(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()), tz=tz)
    return start, end


def agent_schedule(
    engine: sa.Engine, *, agent: str, first: dt.date, last: dt.date, tz: str
) -> AgentSchedule:
    """``agent`` 's segments on the local days ``first`` … ``last`` (inclusive) in each
    week's current published version; ``NotFoundError`` for an unknown agent."""
    start, end = _day_range(first, last, tz)
    with read_only(engine) as s:
        frame = repo.agent_segments(
            s, agent=agent, from_ts=start.to_pydatetime(), to_ts=end.to_pydatetime()
        )
    return AgentSchedule(agent=agent, first=first, last=last, tz=tz, segments=_segments(frame))


_SUMMARY = {"work": "Work", "break": "Break", "lunch": "Lunch", "training": "Training"}


def segment_uid(segment: Segment) -> str:
    """The iCalendar UID of a segment: the same agent, start and activity give the same UID
    in every export and every published version, so that calendar apps update the event
    instead of adding another."""
    stamp = segment.start.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(f"{segment.agent}|{stamp}|{segment.activity}".encode()).hexdigest()
    return f"{digest[:32]}@wfm"


def _events(
    segments: Sequence[Segment], zone: ZoneInfo, stamp: dt.datetime
) -> list[icalendar.Event]:
    events: list[icalendar.Event] = []
    for seg in segments:
        if seg.activity == "off":
            continue
        event = icalendar.Event()
        event.add("uid", segment_uid(seg))
        event.add("dtstamp", stamp)
        event.add("dtstart", seg.start.astimezone(zone))
        event.add("dtend", seg.end.astimezone(zone))
        title = _SUMMARY.get(seg.activity, seg.activity.title())
        event.add("summary", f"{title}: {seg.project}" if seg.project else title)
        event.add("categories", [seg.activity])
        if seg.project:
            event.add("description", f"{seg.activity} on project {seg.project}")
        events.append(event)
    return events


def agent_calendar(
    engine: sa.Engine,
    *,
    agent: str,
    first: dt.date,
    last: dt.date,
    tz: str,
    stamp: dt.datetime | None = None,
) -> bytes:
    """``agent`` 's shifts on the local days ``first`` … ``last`` as an iCalendar file:
    one event per work, break, lunch or training segment, in the site's zone ``tz``
    (with its VTIMEZONE), with UIDs stable across exports (``segment_uid``). ``stamp``:
    the events' DTSTAMP (their last change, e.g. ``publication_stamp().last``; default
    now); with it the file is the same bytes for the same published data."""
    found = agent_schedule(engine, agent=agent, first=first, last=last, tz=tz)
    zone = ZoneInfo(tz)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//wfm//agent schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Shifts of {agent}")
    cal.add("x-wr-timezone", tz)
    stamp = (stamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    for event in _events(found.segments, zone, stamp):
        cal.add_component(event)
    cal.add_missing_timezones()
    ical: bytes = cal.to_ical()
    return ical
