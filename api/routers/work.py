"""History uploads, the staffing calculator, and plan runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, UploadFile, status

from api.deps import EngineDep, Planner, PlannerOrSupervisor, RunnerDep, SettingsDep
from api.models import (
    ID_PATTERN,
    ErrorOut,
    HistoryUploadOut,
    PlanCreate,
    PlanRunOut,
    RequirementOut,
    SegmentOut,
    StaffingIn,
    StaffingOut,
    StepOut,
)
from wfm.services import plans
from wfm.services.history import upload_history
from wfm.services.staffing import staff_interval

__all__ = ["router"]

router = APIRouter()

_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
}


@router.post(
    "/history/{project}",
    status_code=status.HTTP_201_CREATED,
    tags=["history"],
    responses={**_RESPONSES, 413: {"model": ErrorOut}},
)
def post_history(
    project: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)],
    file: UploadFile,
    engine: EngineDep,
    settings: SettingsDep,
    _user: Planner,
) -> HistoryUploadOut:
    """Upload a project's history as CSV (multipart field ``file``; columns ``ts, calls,
    aht_s`` and optionally ``project``), checked row by row: the first bad row is a 422
    naming the column and the CSV line. Larger than the limit: 413 (planner)."""
    limit = settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(
            413,
            detail=f"file: larger than the limit of {limit} bytes",
        )
    done = upload_history(
        engine, project=project, data=data, tz=settings.tz, source=file.filename or None
    )
    return HistoryUploadOut(
        upload_id=done.upload_id,
        project=done.project,
        rows=done.rows,
        first_ts=done.first_ts,
        last_ts=done.last_ts,
    )


@router.post("/staffing/required-agents", tags=["staffing"], responses=_RESPONSES)
def required_agents(body: StaffingIn, _user: PlannerOrSupervisor) -> StaffingOut:
    """The minimal agents for one interval and the service they give: the calculator of
    ``wfm staff`` (Erlang C, or Erlang A with ``patience_s``) (planner, supervisor)."""
    result = staff_interval(
        body.calls,
        interval_min=body.interval_min,
        aht_s=body.aht_s,
        sl_target=body.sl_target,
        answer_within_s=body.answer_within_s,
        model=body.model,
        patience_s=body.patience_s,
        shrinkage=body.shrinkage,
        max_occupancy=body.max_occupancy,
        max_asa_s=body.max_asa_s,
        max_abandon_rate=body.max_abandon_rate,
        concurrency=body.concurrency,
    )
    return StaffingOut.model_validate(result.as_dict())


def _plan_out(view: plans.PlanRunView) -> PlanRunOut:
    return PlanRunOut(
        id=view.run_id,
        week=view.week,
        status=view.status,
        step=view.step,
        progress=view.progress,
        error=view.error,
        inputs_hash=view.inputs_hash,
        code_version=view.code_version,
        created_at=view.created_at,
        updated_at=view.updated_at,
        steps=[StepOut(name=s.name, state=s.state, seconds=s.seconds) for s in view.steps],
        request=None if view.request is None else dict(view.request),
        result=None if view.result is None else dict(view.result),
    )


@router.post(
    "/plans",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["plans"],
    responses=_RESPONSES,
)
def start_plan(
    body: PlanCreate, runner: RunnerDep, _user: Planner, response: Response
) -> PlanRunOut:
    """Start a plan run for a week in the background (forecast → requirements → schedule →
    simulate → closing the loop → economics on the stored data); answers 202 with its id.
    Follow it with ``GET /plans/{id}`` (planner)."""
    view = runner.submit(
        plans.PlanRequest(
            week=body.week,
            days=body.days,
            projects=None if body.projects is None else tuple(body.projects),
            forecast_model=body.forecast_model,
            time_limit_s=body.time_limit_s,
            workers=body.workers,
            seed=body.seed,
            replications=body.replications,
            warm_start=body.warm_start,
            loop_rounds=body.loop_rounds,
            pass_on=body.pass_on,
        )
    )
    response.headers["Location"] = f"/plans/{view.run_id}"
    return _plan_out(view)


@router.get("/plans/{run_id}", tags=["plans"], responses=_RESPONSES)
def read_plan(
    run_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    engine: EngineDep,
    _user: PlannerOrSupervisor,
    rows: Annotated[
        bool, Query(description="Include the requirement rows and the draft's segments.")
    ] = False,
) -> PlanRunOut:
    """A plan run's status, steps and, when done, its result (planner, supervisor)."""
    out = _plan_out(plans.get_plan(engine, run_id=run_id))
    if rows:
        req, schedule = plans.plan_rows(engine, run_id=run_id)
        out.requirements = [RequirementOut.model_validate(r) for r in plans.json_records(req)]
        out.schedule = [SegmentOut.model_validate(r) for r in plans.json_records(schedule)]
    return out
