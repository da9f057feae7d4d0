"""Publishing plans, the week's published schedules, and each agent's schedule (JSON and
iCalendar)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response, status

from api.deps import CurrentUser, EngineDep, PlannerOrSupervisor, SettingsDep
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


def _quoted(etag: str) -> str:
    return f'"{etag}"'


def _segments(found: tuple[schedules.Segment, ...]) -> list[SegmentOut]:
    return [
        SegmentOut(agent=s.agent, start=s.start, end=s.end, activity=s.activity, project=s.project)
        for s in found
    ]


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
def read_schedule(
    week: Annotated[Day, Path(description="The Monday the week starts on.")],
    engine: EngineDep,
    _user: PlannerOrSupervisor,
    response: Response,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=1000)] = None,
) -> ScheduleOut | Response:
    """The week's current published version (or ``?version=N``) with its ETag (planner,
    supervisor)."""
    found = schedules.published_schedule(engine, week=week, version=version)
    if if_none_match is not None and schedules.etag_matches(if_none_match, found.etag):
        return Response(
            status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": _quoted(found.etag)}
        )
    response.headers["ETag"] = _quoted(found.etag)
    return ScheduleOut(
        schedule_id=found.schedule_id,
        week=found.week,
        version=found.version,
        versions=list(found.versions),
        etag=found.etag,
        plan_run_id=found.plan_run_id,
        published_from_id=found.published_from_id,
        created_at=found.created_at,
        segments=_segments(found.segments),
    )


def _may_read(user: Principal, agent: str) -> None:
    if user.role is Role.AGENT and user.agent != agent:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="an agent reads only their own schedule"
        )


def _today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


@router.get("/agents/{agent}/schedule", tags=["schedules"], responses=_RESPONSES)
def agent_schedule(
    agent: AgentId,
    engine: EngineDep,
    settings: SettingsDep,
    user: CurrentUser,
    first: From = None,
    last: To = None,
) -> AgentScheduleOut:
    """The agent's segments in the current published versions, local days ``from`` …
    ``to`` (default: this week and the next three). Agents read only their own."""
    _may_read(user, agent)
    if first is None:
        today = _today(settings.tz)
        first = today - dt.timedelta(days=today.weekday())
    if last is None:
        last = first + dt.timedelta(days=27)
    found = schedules.agent_schedule(engine, agent=agent, first=first, last=last, tz=settings.tz)
    return AgentScheduleOut.model_validate(
        {
            "agent": agent,
            "from": first,
            "to": last,
            "tz": settings.tz,
            "segments": _segments(found.segments),
        }
    )


@router.get(
    "/agents/{agent}/schedule.ics",
    tags=["schedules"],
    response_class=Response,
    responses={**_RESPONSES, 200: {"content": {"text/calendar": {}}}},
)
def agent_calendar(
    agent: AgentId,
    engine: EngineDep,
    settings: SettingsDep,
    user: CurrentUser,
    first: From = None,
    last: To = None,
) -> Response:
    """The agent's shifts as iCalendar (default: four weeks back to 13 weeks ahead), with
    UIDs that stay the same across exports. Agents read only their own."""
    _may_read(user, agent)
    today = _today(settings.tz)
    first = first if first is not None else today - dt.timedelta(days=28)
    last = last if last is not None else today + dt.timedelta(days=91)
    body = schedules.agent_calendar(engine, agent=agent, first=first, last=last, tz=settings.tz)
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{agent}.ics"'},
    )
