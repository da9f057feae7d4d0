"""Projects (with their contracts) and agents (with their skills) in the database: create,
list, read, update; and loading a site folder (the bundled samples) into an empty database.

Every function runs in one transaction of its own (the service owns it): an update reads,
changes and writes the object in the same transaction. Objects go in and out as the leaf
layer's value objects (``wfm.domain.Project``, ``wfm.domain.Agent``), so they are valid by
construction. Errors: an unknown id raises ``NotFoundError``, an id already stored
``ConflictError`` (a create is an INSERT, so of two concurrent creates of one id exactly one
succeeds), a change of the id or a skill of an unknown project ``InputError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from wfm import contracts
from wfm.db import repositories as repo
from wfm.db.tables import AgentRow, ProjectRow
from wfm.domain import Agent, Project
from wfm.errors import ConflictError, InputError, NotFoundError
from wfm.services._db import read_only, transaction
from wfm.services.sitedata import load_site_data

__all__ = [
    "SeedSummary",
    "create_agent",
    "create_project",
    "get_agent",
    "get_project",
    "list_agents",
    "list_projects",
    "load_site_folder",
    "update_agent",
    "update_project",
]


# --------------------------------------------------------------------------------------------
# projects


def list_projects(engine: sa.Engine) -> list[Project]:
    """Every stored project, by id."""
    with read_only(engine) as s:
        return repo.list_projects(s)


def get_project(engine: sa.Engine, *, project: str) -> Project:
    """Project ``project`` (``NotFoundError`` if it is not stored)."""
    with read_only(engine) as s:
        return repo.get_project(s, project=project)


def create_project(engine: sa.Engine, *, project: Project) -> Project:
    """Store a new project; an id already stored raises ``ConflictError``."""
    with transaction(engine) as s:
        if s.get(ProjectRow, project.project) is not None:
            raise ConflictError(f"project {project.project!r} exists; update it instead")
        repo.add_project(s, project=project)  # an INSERT: a concurrent twin gets a conflict
        return repo.get_project(s, project=project.project)


def update_project(
    engine: sa.Engine, *, project: str, change: Callable[[Project], Project]
) -> Project:
    """Read project ``project``, apply ``change`` to it and store the result, in one
    transaction. ``change`` may not change the id (``InputError``)."""
    with transaction(engine) as s:
        new = change(repo.get_project(s, project=project))
        if new.project != project:
            raise InputError(
                f"project: the id {project!r} cannot change (to {new.project!r})",
                field="project",
                expected=repr(project),
            )
        repo.save_projects(s, projects=[new])
        return repo.get_project(s, project=project)


# --------------------------------------------------------------------------------------------
# agents


def list_agents(engine: sa.Engine) -> list[Agent]:
    """Every stored agent, by id, skills in their saved order."""
    with read_only(engine) as s:
        return repo.list_agents(s)


def get_agent(engine: sa.Engine, *, agent: str) -> Agent:
    """Agent ``agent`` (``NotFoundError`` if it is not stored)."""
    with read_only(engine) as s:
        return repo.get_agent(s, agent=agent)


def _save_agent(s: Session, agent: Agent, *, new: bool = False) -> None:
    """Save ``agent`` (``new``: insert it, ``ConflictError`` if it is stored); a skill of a
    project not stored is a bad field (``skills``), not an unknown id of the request's
    path."""
    try:
        if new:
            repo.add_agent(s, agent=agent)
        else:
            repo.save_agents(s, agents=[agent])
    except NotFoundError as exc:
        raise InputError(
            f"skills: {exc}", field="skills", expected="projects that are stored"
        ) from exc


def create_agent(engine: sa.Engine, *, agent: Agent) -> Agent:
    """Store a new agent; an id already stored raises ``ConflictError``, a skill of a project
    not stored ``InputError`` (field ``skills``)."""
    with transaction(engine) as s:
        if s.get(AgentRow, agent.agent) is not None:
            raise ConflictError(f"agent {agent.agent!r} exists; update it instead")
        _save_agent(s, agent, new=True)  # an INSERT: a concurrent twin gets a conflict
        return repo.get_agent(s, agent=agent.agent)


def update_agent(engine: sa.Engine, *, agent: str, change: Callable[[Agent], Agent]) -> Agent:
    """Read agent ``agent``, apply ``change`` and store the result, in one transaction.
    ``change`` may not change the id (``InputError``)."""
    with transaction(engine) as s:
        new = change(repo.get_agent(s, agent=agent))
        if new.agent != agent:
            raise InputError(
                f"agent: the id {agent!r} cannot change (to {new.agent!r})",
                field="agent",
                expected=repr(agent),
            )
        _save_agent(s, new)
        return repo.get_agent(s, agent=agent)


# --------------------------------------------------------------------------------------------
# a site folder into an empty database


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What ``load_site_folder`` stored (all zero when the database was not empty)."""

    projects: int
    agents: int
    history_rows: int
    tz: str


def _is_empty(s: Session) -> bool:
    return s.exec(select(ProjectRow.project).limit(1)).first() is None


def load_site_folder(engine: sa.Engine, folder: Path, *, history: bool = True) -> SeedSummary:
    """Store a site folder (``projects.csv`` …, ``agents.csv`` and, with ``history``,
    ``history.csv``: the format of ``data/samples``) if the database has no project yet;
    otherwise store nothing. One transaction: all of it or nothing."""
    site = load_site_data(Path(folder))
    history_path = Path(folder) / "history.csv"
    with transaction(engine) as s:
        if not _is_empty(s):
            return SeedSummary(projects=0, agents=0, history_rows=0, tz=site.site.tz)
        repo.save_projects(s, projects=site.projects.values())
        repo.save_agents(s, agents=site.agents)
        rows = 0
        if history and history_path.is_file():
            frame = contracts.read_frame_csv(history_path, contracts.HISTORY, tz=site.site.tz)
            for project, part in frame.groupby("project", sort=True):
                repo.add_history_upload(
                    s, project=str(project), frame=part.reset_index(drop=True), source="samples"
                )
                rows += len(part)
        return SeedSummary(
            projects=len(site.projects), agents=len(site.agents), history_rows=rows, tz=site.site.tz
        )
