"""``Annotated`` dependencies: the engine, the settings, the plan runner and the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.settings import ApiSettings
from wfm.services.plans import PlanRunner
from wfm.services.users import Principal, Role, authenticate

__all__ = [
    "CurrentUser",
    "EngineDep",
    "Planner",
    "PlannerOrSupervisor",
    "RunnerDep",
    "SettingsDep",
]


def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def _runner(request: Request) -> PlanRunner:
    runner: PlanRunner = request.app.state.runner
    return runner


EngineDep = Annotated[sa.Engine, Depends(_engine)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
RunnerDep = Annotated[PlanRunner, Depends(_runner)]

_bearer = HTTPBearer(auto_error=False, description="A token from `wfm users add`.")


def _current_user(
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Authorization: no bearer token (send 'Authorization: Bearer TOKEN')",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = authenticate(engine, token=credentials.credentials[:200])
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Authorization: the bearer token is not valid",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


CurrentUser = Annotated[Principal, Depends(_current_user)]


def _require(*roles: Role) -> Callable[[Principal], Principal]:
    names = " or ".join(r.value for r in roles)

    def check(user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {user.role.value} may not do this (needs {names})",
            )
        return user

    return check


Planner = Annotated[Principal, Depends(_require(Role.PLANNER))]
PlannerOrSupervisor = Annotated[Principal, Depends(_require(Role.PLANNER, Role.SUPERVISOR))]
