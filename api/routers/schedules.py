"""Publishing plans, the week's published schedules, and each agent's schedule (JSON and
iCalendar)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Header, HTTPException, Path, Query, Response, status
from starlette.concurrency import run_in_threadpool

from api._cache import Rendered, ResponseCache, body_etag
from api.deps import (
    CacheDep,
    CalendarReader,
    CurrentUser,
    EngineDep,
    PlannerOrSupervisor,
    SettingsDep,
)
from api.models import (
    ID_PATTERN,
    AgentScheduleOut,
    Day,
    ErrorOut,
    PublicationOut,
    ScheduleOut,
    SegmentOut,
)
from wfm.services import schedules
from wfm.services.users import Principal, Role

__all__ = ["router"]

router = APIRouter()

_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
}
AgentId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64, description="Agent id.")]
From = Annotated[
    Day | None, Query(alias="from", description="First local day (default: see the route).")
]
To = Annotated[Day | None, Query(alias="to", description="Last local day, inclusive.")]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=1000,
        description="An ETag of an earlier answer: 304 without a body if it is still current.",
    ),
]
CACHE_CONTROL = "private, no-cache"
"""Readers may keep an answer but must revalidate it (``If-None-Match``) before using it:
a new version can be published at any time; only the caller may keep it (it is theirs)."""
JSON = "application/json"


def _quoted(etag: str) -> str:
    return f'"{etag}"'


def _segments(found: tuple[schedules.Segment, ...]) -> list[SegmentOut]:
    return [
        SegmentOut(agent=s.agent, start=s.start, end=s.end, activity=s.activity, project=s.project)
        for s in found
    ]


def _not_modified(etag: str) -> Response:
    return Response(
        status_code=status.HTTP_304_NOT_MODIFIED,
        headers={"ETag": _quoted(etag), "Cache-Control": CACHE_CONTROL},
    )


def _answer(
    rendered: Rendered, if_none_match: str | None, media_type: str, **headers: str
) -> Response:
    if if_none_match is not None and schedules.etag_matches(if_none_match, rendered.etag):
        return _not_modified(rendered.etag)
    return Response(
        content=rendered.body,
        media_type=media_type,
        headers={"ETag": _quoted(rendered.etag), "Cache-Control": CACHE_CONTROL, **headers},
    )


@router.post(
    "/plans/{run_id}/publish",
    status_code=status.HTTP_201_CREATED,
    tags=["schedules"],
    responses={
        **_RESPONSES,
        200: {"model": PublicationOut, "description": "The key published this version before."},
        409: {"model": ErrorOut, "description": "A concurrent publish won, or nothing to publish."},
        412: {"model": ErrorOut, "description": "If-Match names a version that is not current."},
    },
)
def publish(
    run_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="A new key per publish; the same key again returns the same version.",
        ),
    ],
    engine: EngineDep,
    cache: CacheDep,
    _user: PlannerOrSupervisor,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=1000,
            description="The week's current ETag (or *): publish only if it is still current.",
        ),
    ] = None,
) -> PublicationOut:
    """Publish the plan run's draft as the next, immutable version of its week (planner,
    supervisor): 201 with the version, or 200 when this key published it before."""
    done = schedules.publish_run(
        engine, run_id=run_id, idempotency_key=idempotency_key, if_match=if_match
    )
    if done.replayed:
        response.status_code = status.HTTP_200_OK
    else:
        cache.drop_after_publish(done.week)
    response.headers["ETag"] = _quoted(done.etag)
    response.headers["Location"] = f"/schedules/{done.week}?version={done.version}"
    return PublicationOut(
        schedule_id=done.schedule_id,
        week=done.week,
        version=done.version,
        etag=done.etag,
        plan_run_id=done.plan_run_id,
        created_at=done.created_at,
        replayed=done.replayed,
    )


@router.get(
    "/schedules/{week}",
    response_model=ScheduleOut,
    tags=["schedules"],
    responses={**_RESPONSES, 304: {"description": "If-None-Match names this version."}},
)
async def read_schedule(
    week: Annotated[Day, Path(description="The Monday the week starts on.")],
    engine: EngineDep,
    cache: CacheDep,
    _user: PlannerOrSupervisor,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The week's current published version (or ``?version=N``) with its ETag (planner,
    supervisor); ``If-None-Match`` with that ETag: 304."""
    return await run_in_threadpool(_week, engine, cache, week, version, if_none_match)


def _week(
    engine: sa.Engine,
    cache: ResponseCache,
    week: dt.date,
    version: int | None,
    if_none_match: str | None,
) -> Response:
    head = schedules.published_head(engine, week=week, version=version)
    if if_none_match is not None and schedules.etag_matches(if_none_match, head.etag):
        return _not_modified(head.etag)

    def render() -> Rendered:
        found = schedules.published_schedule(engine, week=week, version=head.version)
        body = ScheduleOut(
            schedule_id=found.schedule_id,
            week=found.week,
            version=found.version,
            versions=list(found.versions),
            etag=found.etag,
            plan_run_id=found.plan_run_id,
            published_from_id=found.published_from_id,
            created_at=found.created_at,
            segments=_segments(found.segments),
        ).model_dump_json()
        return Rendered(body=body.encode(), etag=found.etag)

    # the key names the version and the week's version numbers (the body lists them)
    key = ("week", head.week, head.schedule_id, head.versions)
    return _answer(cache.get_or_render(key, render), None, JSON)


def _may_read(user: Principal, agent: str) -> None:
    if user.role is Role.AGENT and user.agent != agent:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="an agent reads only their own schedule"
        )


def _today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


@router.get(
    "/agents/{agent}/schedule",
    response_model=AgentScheduleOut,
    tags=["schedules"],
    responses={**_RESPONSES, 304: {"description": "If-None-Match names this answer."}},
)
async def agent_schedule(
    agent: AgentId,
    engine: EngineDep,
    settings: SettingsDep,
    cache: CacheDep,
    user: CurrentUser,
    first: From = None,
    last: To = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The agent's segments in the current published versions, local days ``from`` …
    ``to`` (default: this week and the next three). Agents read only their own."""
    _may_read(user, agent)  # before anything is read, from the cache or the database
    if first is None:
        today = _today(settings.tz)
        first = today - dt.timedelta(days=today.weekday())
    if last is None:
        last = first + dt.timedelta(days=27)
    return await run_in_threadpool(
        _agent_json, engine, cache, agent, first, last, settings.tz, if_none_match
    )


def _agent_json(
    engine: sa.Engine,
    cache: ResponseCache,
    agent: str,
    first: dt.date,
    last: dt.date,
    tz: str,
    if_none_match: str | None,
) -> Response:
    stamp = schedules.publication_stamp(engine)  # before the read: never newer than it
    key = ("agent", "json", agent, first, last, tz, stamp.count)

    def render() -> Rendered:
        found = schedules.agent_schedule(engine, agent=agent, first=first, last=last, tz=tz)
        body = AgentScheduleOut.model_validate(
            {
                "agent": agent,
                "from": first,
                "to": last,
                "tz": tz,
                "segments": _segments(found.segments),
            }
        ).model_dump_json(by_alias=True)
        return Rendered(body=body.encode(), etag=body_etag(body.encode()))

    return _answer(cache.get_or_render(key, render), if_none_match, JSON)


@router.get(
    "/agents/{agent}/schedule.ics",
    tags=["schedules"],
    response_class=Response,
    responses={
        **_RESPONSES,
        200: {"content": {"text/calendar": {}}},
        304: {"description": "If-None-Match names this answer."},
    },
)
async def agent_calendar(
    agent: AgentId,
    engine: EngineDep,
    settings: SettingsDep,
    cache: CacheDep,
    user: CalendarReader,
    first: From = None,
    last: To = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The agent's shifts as iCalendar (default: four weeks back to 13 weeks ahead), with
    UIDs that stay the same across exports. Agents read only their own. A calendar app
    that cannot send a header subscribes to ``/agents/{agent}/schedule.ics?token=TOKEN``
    with the agent's own token."""
    _may_read(user, agent)  # before anything is read, from the cache or the database
    today = _today(settings.tz)
    first = first if first is not None else today - dt.timedelta(days=28)
    last = last if last is not None else today + dt.timedelta(days=91)
    return await run_in_threadpool(
        _agent_ics, engine, cache, agent, first, last, settings.tz, if_none_match
    )


def _agent_ics(
    engine: sa.Engine,
    cache: ResponseCache,
    agent: str,
    first: dt.date,
    last: dt.date,
    tz: str,
    if_none_match: str | None,
) -> Response:
    stamp = schedules.publication_stamp(engine)  # before the read: never newer than it
    key = ("agent", "ics", agent, first, last, tz, stamp.count)

    def render() -> Rendered:
        body = schedules.agent_calendar(
            engine, agent=agent, first=first, last=last, tz=tz, stamp=stamp.last
        )
        return Rendered(body=body, etag=body_etag(body))

    return _answer(
        cache.get_or_render(key, render),
        if_none_match,
        "text/calendar; charset=utf-8",
        **{"Content-Disposition": f'inline; filename="{agent}.ics"'},
    )
