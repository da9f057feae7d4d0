"""The one exception tree of wfm (leaf layer).

::

    WfmError                      every error wfm raises on purpose
    ├── InputError (ValueError)   bad input: names the field, the row and what was expected
    │   ├── FrameError            a frame broke its contract (column, row, expected value)
    │   └── NotFoundError         an id that names nothing stored (field = the id's name)
    ├── InfeasibleError           a request no plan can satisfy; names the rules involved
    └── ConflictError             a write that lost to another one, or would change what
        │                         may not change (a published schedule); retry or re-read
        └── PreconditionError     a write made on the condition that a version is current
                                  (HTTP If-Match), when another one is

Adapters map them: the CLI prints ``str(err)`` on one line of stderr and exits 2; the API
answers 422 with the fields in the body (404 for ``NotFoundError``, 409 for
``ConflictError``, 412 for ``PreconditionError``). ``InputError`` subclasses ``ValueError``
so callers that only know Python's conventions still catch it.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "FrameError",
    "InfeasibleError",
    "InputError",
    "NotFoundError",
    "PreconditionError",
    "WfmError",
]


class WfmError(Exception):
    """Base class of every error wfm raises on purpose."""


class InputError(WfmError, ValueError):
    """Bad input. ``field`` names the argument or column, ``row`` the first offending
    index or row (``None`` when the whole value is wrong), ``expected`` what was wanted."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        row: int | str | None = None,
        expected: str | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.row = row
        self.expected = expected

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description (the API's 422 body uses it)."""
        return {
            "message": str(self),
            "field": self.field,
            "row": self.row,
            "expected": self.expected,
        }


class FrameError(InputError):
    """A long-format frame broke its contract (see ``wfm.contracts``)."""


class NotFoundError(InputError):
    """An id (``field`` names it, e.g. ``project``) that names nothing stored."""


class InfeasibleError(WfmError):
    """No solution satisfies the request; ``rules`` names the rules or targets involved."""

    def __init__(self, message: str, *, rules: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.rules = rules


class ConflictError(WfmError):
    """A write that conflicts with the stored state: another transaction committed the
    same version or key first, or the write would change something immutable (a published
    schedule). Roll back; a retry re-reads the state."""


class PreconditionError(ConflictError):
    """A write conditioned on the current version (an ETag: HTTP ``If-Match``) when the
    stored current version is another one (or there is none). Re-read and decide again."""
