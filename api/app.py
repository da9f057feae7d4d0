"""The FastAPI app: ``create_app(settings)``.

Nothing happens at import. ``create_app`` builds the app; on start (the lifespan) it
migrates the database (``wfm.db.upgrade``), opens the engine, marks plan runs a stopped
server left unfinished as failed, loads ``settings.samples_dir`` into an empty database,
and starts the plan runner; on stop it lets the runner finish and closes the engine.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api._cache import ResponseCache
from api.deps import EngineDep
from api.errors import install_handlers
from api.models import HealthOut
from api.routers import catalog, schedules, work
from api.settings import ApiSettings
from wfm import __version__
from wfm.db import database_url
from wfm.grid import check_tz
from wfm.services import catalog as catalog_service
from wfm.services._db import open_database
from wfm.services.plans import PlanRunner, fail_interrupted_runs

__all__ = ["create_app"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MULTIPART_OVERHEAD = 64 * 1024  # headers and boundaries around an upload's file


class _TooLarge(Exception):
    pass


class UploadLimit:
    """ASGI middleware: a request to ``/history/…`` whose body is larger than ``max_bytes``
    gets 413 before the body is read (by its Content-Length) or once it has read that much
    (chunked)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, prefix: str = "/history/") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix

    async def _reject(self, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"file: the request is larger than {self.max_bytes} bytes"},
            status_code=413,
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = 0
                if length > self.max_bytes:
                    await self._reject(send)
                    return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, watch)
        except _TooLarge:
            if not started:
                await self._reject(send)


class NoStore:
    """ASGI middleware: a response without ``Cache-Control`` gets ``no-store`` (the routes
    that may be kept, the published schedules, set their own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add)


def _start(app: FastAPI, settings: ApiSettings) -> None:
    engine = open_database(settings.database_url)
    app.state.engine = engine
    stale = fail_interrupted_runs(engine)
    if stale:
        log.warning("marked %d plan runs failed: the server stopped while they ran", stale)
    if settings.samples_dir is not None:
        seeded = catalog_service.load_site_folder(engine, settings.samples_dir)
        if seeded.projects:
            log.info(
                "loaded %s: %d projects, %d agents, %d history rows",
                settings.samples_dir,
                seeded.projects,
                seeded.agents,
                seeded.history_rows,
            )
    app.state.runner = PlanRunner(engine, tz=settings.tz)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The wfm API for ``settings`` (default: ``ApiSettings()`` from the environment)."""
    settings = settings or ApiSettings()
    check_tz(settings.tz)
    database_url(settings.database_url)  # a bad URL fails here, not on the first request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(_start, app, settings)
        try:
            yield
        finally:
            await run_in_threadpool(app.state.runner.shutdown)
            app.state.engine.dispose()

    app = FastAPI(
        title="wfm",
        version=__version__,
        summary="Workforce planning for multi-project contact centres: plans, published "
        "schedules, agents' calendars.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.response_cache = ResponseCache(settings.response_cache_bytes)
    install_handlers(app)
    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD)

    @app.get("/healthz", tags=["health"])
    def healthz(engine: EngineDep) -> HealthOut:
        """Liveness and the database back end (no authentication)."""
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return HealthOut(status="ok", version=__version__, database=engine.dialect.name)

    app.include_router(catalog.router)
    app.include_router(work.router)
    app.include_router(schedules.router)

    app.add_middleware(NoStore)
    return app
