"""Users of the API and their bearer tokens (``wfm users add``, the API's authentication).

A token is random (``secrets.token_urlsafe``), shown once when the user is added, and
stored only as its SHA-256. Roles: ``planner`` (plans, publishes, edits projects and agents),
``supervisor`` (reads everything, publishes), ``agent`` (reads their own schedule only; the
user names the agent id).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from wfm.db import repositories as repo
from wfm.db.tables import Role, User
from wfm.errors import InputError
from wfm.services._db import read_only, transaction

__all__ = ["ROLES", "NewUser", "Principal", "Role", "add_user", "authenticate"]

ROLES: tuple[str, ...] = tuple(r.value for r in Role)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is made by: a stored user's id, name, role and (role agent) agent id."""

    user_id: int
    name: str
    role: Role
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user just added and the plain token: shown once, never stored."""

    principal: Principal
    token: str


def _principal(user: User) -> Principal:
    assert user.id is not None
    return Principal(user_id=user.id, name=user.name, role=Role(user.role), agent=user.agent)


def _role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise InputError(
            f"role: {role!r} is not a role", field="role", expected="one of " + ", ".join(ROLES)
        ) from exc


def add_user(
    engine: sa.Engine, *, name: str, role: str | Role, agent: str | None = None
) -> NewUser:
    """Add a user with a new token. Role ``agent`` needs ``agent`` (a stored agent id);
    other roles may not have one. A taken name raises ``ConflictError``."""
    role = _role(role)
    name = name.strip()
    if agent is not None and role is not Role.AGENT:
        raise InputError(
            f"agent: only users with role agent name an agent (role is {role})",
            field="agent",
            expected="no --agent for a planner or supervisor",
        )
    with transaction(engine) as s:
        created = repo.create_user(s, name=name, role=role, agent=agent)
        return NewUser(principal=_principal(created.user), token=created.token)


def authenticate(engine: sa.Engine, *, token: str) -> Principal | None:
    """The user whose token is ``token``, or None."""
    with read_only(engine) as s:
        user = repo.authenticate(s, token=token)
        return None if user is None else _principal(user)
