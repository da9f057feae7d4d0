"""``Annotated`` dependencies: the engine, the settings, the plan runner, the response
cache and the caller. Those that only read the app's state are ``async`` (FastAPI runs a
plain ``def`` dependency in a worker thread); the caller's lookup in the database is not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api._cache import ResponseCache
from api.settings import ApiSettings
from wfm.services.plans import PlanRunner
from wfm.services.users import Principal, Role, authenticate

__all__ = [
    "CacheDep",
    "CalendarReader",
    "CurrentUser",
    "EngineDep",
    "Planner",
    "PlannerOrSupervisor",
    "RunnerDep",
    "SettingsDep",
]


async def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


async def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def _runner(request: Request) -> PlanRunner:
    runner: PlanRunner = request.app.state.runner
    return runner


async def _cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.response_cache
    return cache


EngineDep = Annotated[sa.Engine, Depends(_engine)]
CacheDep = Annotated[ResponseCache, Depends(_cache)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
RunnerDep = Annotated[PlanRunner, Depends(_runner)]

_bearer = HTTPBearer(auto_error=False, description="A token from `wfm users add`.")


async def _current_user(
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Authorization: no bearer token (send 'Authorization: Bearer TOKEN')",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = await run_in_threadpool(authenticate, engine, token=credentials.credentials[:200])
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Authorization: the bearer token is not valid",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


async def _calendar_reader(
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[
        str | None,
        Query(
            max_length=200,
            description="For calendar apps that cannot send a header: the agent's own "
            "token (`wfm users add NAME --role agent --agent ID`) in the feed URL. Only an "
            "agent's token is taken here; a bearer header wins.",
        ),
    ] = None,
) -> Principal:
    if (credentials is not None and credentials.credentials) or not token:
        return await _current_user(engine, credentials)
    user = await run_in_threadpool(authenticate, engine, token=token)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="token: the token is not valid",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if user.role is not Role.AGENT:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"token: a feed URL takes an agent's token, not a {user.role.value}'s "
            "(send it as 'Authorization: Bearer TOKEN' instead)",
        )
    return user


CurrentUser = Annotated[Principal, Depends(_current_user)]
CalendarReader = Annotated[Principal, Depends(_calendar_reader)]
"""The caller by bearer header, or (an agent only) by ``?token=`` in a calendar feed URL."""


def _require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    names = " or ".join(r.value for r in roles)

    async def check(user: CurrentUser) -> Principal:  # no I/O: not worth a worker thread
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {user.role.value} may not do this (needs {names})",
            )
        return user

    return check


Planner = Annotated[Principal, Depends(_require(Role.PLANNER))]
PlannerOrSupervisor = Annotated[Principal, Depends(_require(Role.PLANNER, Role.SUPERVISOR))]
