"""Projects (with contracts) and agents (with skills): create, list, read, update."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import ValidationError

from api.deps import EngineDep, Planner, PlannerOrSupervisor
from api.models import (
    ID_PATTERN,
    AgentCreate,
    AgentPublic,
    AgentsPublic,
    AgentUpdate,
    ErrorOut,
    ProjectCreate,
    ProjectPublic,
    ProjectsPublic,
    ProjectUpdate,
)
from wfm.domain import Agent, Project
from wfm.errors import InputError
from wfm.services import catalog

__all__ = ["router"]

router = APIRouter()

ProjectId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64, description="Project id.")]
AgentId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64, description="Agent id.")]
_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
}


def _invalid(exc: ValidationError) -> InputError:
    first = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(p) for p in first["loc"]) or "body"
    return InputError(f"{field}: {first['msg']}", field=field, expected=first["msg"])


# --------------------------------------------------------------------------------------------
# projects


@router.post(
    "/projects",
    status_code=status.HTTP_201_CREATED,
    tags=["projects"],
    responses=_RESPONSES,
)
def create_project(
    body: ProjectCreate, engine: EngineDep, _user: Planner, response: Response
) -> ProjectPublic:
    """Store a new project with its contract (planner)."""
    stored = catalog.create_project(engine, project=body.to_domain(body.project))
    response.headers["Location"] = f"/projects/{stored.project}"
    return ProjectPublic.from_domain(stored)


@router.get("/projects", tags=["projects"], responses=_RESPONSES)
def list_projects(engine: EngineDep, _user: PlannerOrSupervisor) -> ProjectsPublic:
    """Every project, by id (planner, supervisor)."""
    found = [ProjectPublic.from_domain(p) for p in catalog.list_projects(engine)]
    return ProjectsPublic(data=found, count=len(found))


@router.get("/projects/{project}", tags=["projects"], responses=_RESPONSES)
def read_project(
    project: ProjectId, engine: EngineDep, _user: PlannerOrSupervisor
) -> ProjectPublic:
    """One project (planner, supervisor)."""
    return ProjectPublic.from_domain(catalog.get_project(engine, project=project))


@router.patch("/projects/{project}", tags=["projects"], responses=_RESPONSES)
def update_project(
    project: ProjectId, body: ProjectUpdate, engine: EngineDep, _user: Planner
) -> ProjectPublic:
    """Change the fields given; the others keep their values (planner)."""
    changes = body.model_dump(exclude_unset=True)

    def change(old: Project) -> Project:
        merged = ProjectPublic.from_domain(old).model_dump() | changes
        try:
            new = ProjectCreate.model_validate(merged)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        return new.to_domain(project)

    return ProjectPublic.from_domain(catalog.update_project(engine, project=project, change=change))


# --------------------------------------------------------------------------------------------
# agents


@router.post("/agents", status_code=status.HTTP_201_CREATED, tags=["agents"], responses=_RESPONSES)
def create_agent(
    body: AgentCreate, engine: EngineDep, _user: Planner, response: Response
) -> AgentPublic:
    """Store a new agent with skills (planner); the skills' projects must be stored."""
    stored = catalog.create_agent(engine, agent=body.to_domain(body.agent))
    response.headers["Location"] = f"/agents/{stored.agent}"
    return AgentPublic.from_domain(stored)


@router.get("/agents", tags=["agents"], responses=_RESPONSES)
def list_agents(engine: EngineDep, _user: PlannerOrSupervisor) -> AgentsPublic:
    """Every agent, by id (planner, supervisor)."""
    found = [AgentPublic.from_domain(a) for a in catalog.list_agents(engine)]
    return AgentsPublic(data=found, count=len(found))


@router.get("/agents/{agent}", tags=["agents"], responses=_RESPONSES)
def read_agent(agent: AgentId, engine: EngineDep, _user: PlannerOrSupervisor) -> AgentPublic:
    """One agent (planner, supervisor)."""
    return AgentPublic.from_domain(catalog.get_agent(engine, agent=agent))


@router.patch("/agents/{agent}", tags=["agents"], responses=_RESPONSES)
def update_agent(
    agent: AgentId, body: AgentUpdate, engine: EngineDep, _user: Planner
) -> AgentPublic:
    """Change the fields given; the others keep their values (planner)."""
    changes = body.model_dump(exclude_unset=True)

    def change(old: Agent) -> Agent:
        merged = AgentPublic.from_domain(old).model_dump() | changes
        try:
            new = AgentCreate.model_validate(merged)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        return new.to_domain(agent)

    return AgentPublic.from_domain(catalog.update_agent(engine, agent=agent, change=change))
