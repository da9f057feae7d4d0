"""Exception handlers: wfm's errors as HTTP answers that name the field and the problem.

- ``InputError`` / ``FrameError`` (and pydantic errors raised past request validation) →
  422 in FastAPI's validation format: ``{"detail": [{"loc": [...], "msg": ..., "type": ...,
  "row": ..., "expected": ...}]}``;
- ``InfeasibleError`` → 422 with the rules involved;
- ``NotFoundError`` → 404, ``ConflictError`` → 409, ``PreconditionError`` → 412:
  ``{"detail": message, "field": ...}``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from wfm.errors import (
    ConflictError,
    FrameError,
    InfeasibleError,
    InputError,
    NotFoundError,
    PreconditionError,
)

__all__ = ["install_handlers"]


def _input_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    item: dict[str, object] = {
        "loc": [exc.field or "body"],
        "msg": str(exc),
        "type": "frame_error" if isinstance(exc, FrameError) else "value_error",
    }
    if exc.row is not None:
        item["row"] = exc.row
    if exc.expected is not None:
        item["expected"] = exc.expected
    return JSONResponse({"detail": [item]}, status_code=422)


def _pydantic_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    items = [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return JSONResponse({"detail": items}, status_code=422)


def _infeasible(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InfeasibleError)
    item = {"loc": ["body"], "msg": str(exc), "type": "infeasible", "rules": list(exc.rules)}
    return JSONResponse({"detail": [item]}, status_code=422)


def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFoundError)
    return JSONResponse(
        {"detail": str(exc), "field": exc.field}, status_code=status.HTTP_404_NOT_FOUND
    )


def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    code = (
        status.HTTP_412_PRECONDITION_FAILED
        if isinstance(exc, PreconditionError)
        else status.HTTP_409_CONFLICT
    )
    field = "If-Match" if isinstance(exc, PreconditionError) else None
    return JSONResponse({"detail": str(exc), "field": field}, status_code=code)


def install_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app`` (the most specific class wins)."""
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ValidationError, _pydantic_error)
    app.add_exception_handler(InfeasibleError, _infeasible)
    app.add_exception_handler(ConflictError, _conflict)
