"""The database layer (``wfm.db``) on real databases: a fresh SQLite file per test, and a
fresh schema of a real PostgreSQL server per test when ``WFM_TEST_POSTGRES_URL`` is set
(``make test`` starts one with ``scripts/postgres.sh``). No mocks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from _backends import BACKENDS, new_database
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, select

from wfm.contracts import DEMAND
from wfm.db import DbSettings, database_url, make_engine, upgrade
from wfm.db import repositories as repo
from wfm.db.settings import DEFAULT_DATABASE_URL
from wfm.db.tables import (
    Role,
    RunStatus,
    ScheduleSegment,
    ScheduleStatus,
    ScheduleVersion,
    User,
    metadata,
)
from wfm.domain import (
    Agent,
    BillingModel,
    Contract,
    KpiCoefficient,
    OpeningHours,
    OutboundTarget,
    Project,
    ProjectKind,
    ServiceTarget,
    Skill,
)
from wfm.errors import ConflictError, FrameError, InputError, NotFoundError
from wfm.services.sitedata import load_site_data

ROOT = Path(__file__).resolve().parents[1]
WEEK = dt.date(2026, 3, 23)  # a Monday; Europe/Berlin moves to summer time that Sunday
BERLIN = "Europe/Berlin"


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL schema (dropped after)."""
    url, drop = new_database(request.param, tmp_path, "test")
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    """The database at ``url``, migrated to the latest revision."""
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def session_of(engine: sa.Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def _projects() -> list[Project]:
    return [
        Project(
            project="bank",
            name="Bank hotline",
            kind=ProjectKind.INBOUND,
            target=ServiceTarget(0.8, 20.0, max_abandon_rate=0.05, max_asa_s=30.0),
            contract=Contract(
                billing=BillingModel.PER_HOUR,
                rate_eur=31.5,
                kpi_table=(KpiCoefficient(0.7, 0.9), KpiCoefficient(0.8, 1.0)),
                bonus_eur_per_point=150.0,
                penalty_eur_per_point=300.0,
                penalty_cap_eur=6000.0,
            ),
            opening=OpeningHours({1: (dt.time(8), dt.time(20)), 5: (dt.time(22), dt.time(2, 30))}),
            patience_s=180.0,
        ),
        Project(
            project="chat",
            name="Web chat",
            kind=ProjectKind.CHAT,
            target=ServiceTarget(0.9, 60.0),
            contract=Contract(billing=BillingModel.PER_CONTACT, rate_eur=1.1),
            concurrency=3,
        ),
        Project(
            project="dial",
            name="Outbound campaign",
            kind=ProjectKind.OUTBOUND,
            target=None,
            contract=Contract(billing=BillingModel.LEASING, rate_eur=28.0),
            outbound=OutboundTarget(
                contacts_per_week=900.0, dials_per_contact=3.5, talk_s=240.0, wrap_s=20.0
            ),
        ),
    ]


def _agents() -> list[Agent]:
    return [
        Agent(
            agent="A1",
            skills=(Skill("chat", 2), Skill("bank", 1)),  # stored order kept as given
            min_hours_week=20.0,
            max_hours_week=40.0,
            max_days_week=5,
            earliest_start=dt.time(7, 30),
            latest_end=dt.time(21),
            days_off=frozenset({dt.date(2026, 3, 25), dt.date(2026, 3, 27)}),
            preferred_start=dt.time(9, 15),
            grade="senior",
            hourly_cost_eur=21.25,
        ),
        Agent(agent="A2", skills=Agent.skills_from(["bank"]), min_hours_week=0, max_hours_week=30),
        Agent(
            agent="A3",
            skills=Agent.skills_from(["dial", "bank"]),
            min_hours_week=38,
            max_hours_week=40,
        ),
    ]


def _seed(engine: sa.Engine) -> None:
    with session_of(engine) as s, s.begin():
        repo.save_projects(s, projects=_projects())
        repo.save_agents(s, agents=_agents())


def _local(day: dt.date, hour: int, minute: int = 0) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(day.year, day.month, day.day, hour, minute), tz=BERLIN)


def _schedule(shift_h: int = 8) -> pd.DataFrame:
    """A week of shifts in Berlin time, across the switch to summer time on Sunday."""
    rows: list[dict[str, Any]] = []
    for offset in (0, 2, 6):  # Monday, Wednesday, Sunday (the DST day)
        day = WEEK + dt.timedelta(days=offset)
        start = _local(day, 8)
        rows += [
            {
                "agent": "A1",
                "start": start,
                "end": _local(day, 12),
                "activity": "work",
                "project": "bank",
            },
            {
                "agent": "A1",
                "start": _local(day, 12),
                "end": _local(day, 12, 30),
                "activity": "lunch",
                "project": None,
            },
            {
                "agent": "A1",
                "start": _local(day, 12, 30),
                "end": _local(day, 8 + shift_h, 30),
                "activity": "work",
                "project": "chat",
            },
            {
                "agent": "A2",
                "start": _local(day, 9),
                "end": _local(day, 9 + shift_h),
                "activity": "work",
                "project": "bank",
            },
        ]
    return pd.DataFrame(rows)


def _draft(engine: sa.Engine, frame: pd.DataFrame | None = None) -> int:
    with session_of(engine) as s, s.begin():
        draft = repo.save_schedule_draft(
            s, week=WEEK, frame=_schedule() if frame is None else frame
        )
    assert draft.id is not None
    return draft.id


def _same_schedule(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal as instants, whatever the time zone and resolution of the timestamps."""
    assert str(got["start"].dt.tz) == "UTC" and str(got["end"].dt.tz) == "UTC"
    want = want.assign(
        start=pd.to_datetime(want["start"], utc=True), end=pd.to_datetime(want["end"], utc=True)
    )
    key = ["agent", "start"]
    got = got.sort_values(key).reset_index(drop=True)
    want = want.sort_values(key).reset_index(drop=True)
    for column in ("start", "end"):
        assert list(got[column]) == list(want[column]), column
    assert list(got["agent"]) == list(want["agent"])
    assert list(got["activity"]) == list(want["activity"])
    assert [None if pd.isna(p) else p for p in got["project"]] == [
        None if pd.isna(p) else p for p in want["project"]
    ]


# --------------------------------------------------------------------------------------------
# settings, engines, migrations


def test_settings_read_the_environment_when_constructed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WFM_DATABASE_URL", raising=False)
    assert DbSettings().database_url == DEFAULT_DATABASE_URL == "sqlite:///./wfm.db"
    monkeypatch.setenv("WFM_DATABASE_URL", "postgresql://u:p@db:5432/wfm")
    assert DbSettings().database_url == "postgresql://u:p@db:5432/wfm"


def test_postgres_urls_run_on_psycopg_3() -> None:
    for given in ("postgresql://u:p@h/db", "postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"):
        assert database_url(given).drivername == "postgresql+psycopg"
    engine = make_engine("postgresql://u:p@127.0.0.1:1/db")  # no connection is made
    assert engine.dialect.driver == "psycopg"
    engine.dispose()
    with pytest.raises(InputError, match="not supported") as err:
        database_url("mysql://u:p@h/db")
    assert err.value.field == "database_url"
    with pytest.raises(InputError, match="not a database URL"):
        database_url("not a url")


def test_sqlite_engine_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_importing_creates_nothing(tmp_path: Path) -> None:
    """No engine, settings or database file at import (the default URL is ./wfm.db)."""
    code = (
        "import wfm.db, wfm.db.tables, wfm.db.repositories, wfm.db.migrate, sqlalchemy.pool\n"
        "assert not any(isinstance(v, sqlalchemy.Engine) for m in (wfm.db, wfm.db.tables,"
        " wfm.db.repositories, wfm.db.migrate) for v in vars(m).values())\n"
    )
    env = {**os.environ, "WFM_DATABASE_URL": f"sqlite:///{tmp_path / 'imported.db'}"}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True)
    assert list(tmp_path.iterdir()) == []


def test_upgrade_from_empty_creates_every_table(url: str) -> None:
    upgrade(url)
    upgrade(url)  # a second run is a no-op
    engine = make_engine(url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert tables == set(metadata.tables) | {"alembic_version"}
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
        # the migrations create exactly what the tables declare
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


# --------------------------------------------------------------------------------------------
# projects and agents


def test_projects_and_agents_round_trip(engine: sa.Engine) -> None:
    _seed(engine)
    with session_of(engine) as s:
        assert repo.list_projects(s) == sorted(_projects(), key=lambda p: p.project)
        assert repo.get_project(s, project="bank") == _projects()[0]
        agents = repo.list_agents(s)
        assert agents == _agents()
        assert agents[0].skills == (Skill("chat", 2), Skill("bank", 1))
        assert repo.get_agent(s, agent="A3").projects == ("dial", "bank")
        with pytest.raises(NotFoundError, match="'nope' is not stored") as err:
            repo.get_project(s, project="nope")
        assert err.value.field == "project"
        with pytest.raises(NotFoundError):
            repo.get_agent(s, agent="nope")


def test_the_sample_site_round_trips(engine: sa.Engine) -> None:
    site = load_site_data(ROOT / "data" / "samples")
    with session_of(engine) as s, s.begin():
        repo.save_projects(s, projects=site.projects.values())
        repo.save_agents(s, agents=site.agents)
    with session_of(engine) as s:
        assert {p.project: p for p in repo.list_projects(s)} == dict(site.projects)
        assert repo.list_agents(s) == sorted(site.agents, key=lambda a: a.agent)


def test_saving_again_replaces(engine: sa.Engine) -> None:
    _seed(engine)
    bank = _projects()[0]
    cheaper = Project(
        project=bank.project,
        name="Bank hotline (renewed)",
        kind=bank.kind,
        target=ServiceTarget(0.85, 15.0),
        contract=Contract(billing=BillingModel.PER_SEAT, rate_eur=4100.0),
    )
    a1 = _agents()[0]
    a1_new = Agent(
        agent="A1", skills=Agent.skills_from(["bank"]), min_hours_week=10, max_hours_week=20
    )
    with session_of(engine) as s, s.begin():
        assert repo.get_agent(s, agent="A1") == a1  # loaded into this session first
        repo.save_projects(s, projects=[cheaper])
        repo.save_agents(s, agents=[a1_new])
    with session_of(engine) as s:
        assert repo.get_project(s, project="bank") == cheaper
        assert repo.get_agent(s, agent="A1") == a1_new
        assert len(repo.list_agents(s)) == 3


def test_an_agent_with_an_unknown_project_is_refused(engine: sa.Engine) -> None:
    _seed(engine)
    stranger = Agent(
        agent="A9", skills=Agent.skills_from(["bank", "mars"]), min_hours_week=0, max_hours_week=10
    )
    with session_of(engine) as s, pytest.raises(NotFoundError, match="'mars'") as err, s.begin():
        repo.save_agents(s, agents=[stranger])
    assert err.value.field == "project"
    with session_of(engine) as s:
        assert [a.agent for a in repo.list_agents(s)] == ["A1", "A2", "A3"]


# --------------------------------------------------------------------------------------------
# schedules


def test_publish_twice_with_the_same_key_gives_the_same_version(engine: sa.Engine) -> None:
    _seed(engine)
    draft_id = _draft(engine)
    with session_of(engine) as s, s.begin():
        first = repo.publish(s, draft_id=draft_id, idempotency_key="key-1")
    with session_of(engine) as s, s.begin():
        again = repo.publish(s, draft_id=draft_id, idempotency_key="key-1")
    assert (again.id, again.version, again.etag) == (first.id, 1, first.etag)
    assert first.status is ScheduleStatus.PUBLISHED and first.week == WEEK
    with session_of(engine) as s:
        assert [v.version for v in repo.schedule_versions(s, week=WEEK)] == [1]
        draft = repo.get_schedule(s, schedule_id=draft_id)
        assert draft.status is ScheduleStatus.DRAFT and draft.version is None
        assert first.published_from_id == draft_id


def test_publishes_with_new_keys_give_versions_1_and_2(engine: sa.Engine) -> None:
    _seed(engine)
    first_frame = _schedule(shift_h=8)
    first_draft = _draft(engine, first_frame)
    with session_of(engine) as s, s.begin():
        v1 = repo.publish(s, draft_id=first_draft, idempotency_key="k1")
        v1_frame = repo.schedule_frame(s, schedule_id=v1.id or 0)
    second_frame = _schedule(shift_h=6)
    second_draft = _draft(engine, second_frame)
    with session_of(engine) as s, s.begin():
        v2 = repo.publish(s, draft_id=second_draft, idempotency_key="k2")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.etag != v2.etag
    with session_of(engine) as s:
        assert repo.current_published(s, week=WEEK) == v2
        assert repo.current_published(s, week=WEEK + dt.timedelta(days=7)) is None
        assert [v.id for v in repo.schedule_versions(s, week=WEEK)] == [v1.id, v2.id]
        got_v1 = repo.schedule_frame(s, schedule_id=v1.id or 0)
        pd.testing.assert_frame_equal(got_v1, v1_frame)  # version 1 did not change
        _same_schedule(got_v1, first_frame)
        _same_schedule(repo.schedule_frame(s, schedule_id=v2.id or 0), second_frame)
        # an agent sees the current version only
        monday = _local(WEEK, 0)
        mine = repo.agent_segments(
            s, agent="A2", from_ts=monday, to_ts=monday + pd.Timedelta(days=1)
        )
        assert len(mine) == 1
        assert mine["end"].iloc[0] - mine["start"].iloc[0] == pd.Timedelta(hours=6)
        week_all = repo.agent_segments(
            s, agent="A1", from_ts=monday, to_ts=monday + pd.Timedelta(days=7)
        )
        _same_schedule(week_all, second_frame[second_frame["agent"] == "A1"])


def test_publish_refuses_what_it_cannot_do(engine: sa.Engine) -> None:
    _seed(engine)
    draft_id = _draft(engine)
    other_id = _draft(engine)
    with session_of(engine) as s, s.begin():
        v1 = repo.publish(s, draft_id=draft_id, idempotency_key="k1")
    with session_of(engine) as s:
        with pytest.raises(ConflictError, match="already published draft"):
            repo.publish(s, draft_id=other_id, idempotency_key="k1")
        with pytest.raises(ConflictError, match="not a draft"):
            repo.publish(s, draft_id=v1.id or 0, idempotency_key="k2")
        with pytest.raises(NotFoundError):
            repo.publish(s, draft_id=987654, idempotency_key="k3")
        with pytest.raises(InputError, match="not a Monday"):
            repo.save_schedule_draft(s, week=WEEK + dt.timedelta(days=1), frame=_schedule())
        unknown = _schedule().assign(agent="Z9")
        with pytest.raises(NotFoundError, match="'Z9'"):
            repo.save_schedule_draft(s, week=WEEK, frame=unknown)
        with pytest.raises(FrameError):
            repo.save_schedule_draft(s, week=WEEK, frame=_schedule().assign(activity="nap"))


def test_a_published_version_never_changes(engine: sa.Engine) -> None:
    _seed(engine)
    draft_id = _draft(engine)
    with session_of(engine) as s, s.begin():
        v1 = repo.publish(s, draft_id=draft_id, idempotency_key="k1")

    def move_a_segment() -> None:
        with session_of(engine) as s, s.begin():
            segment = s.exec(
                select(ScheduleSegment).where(ScheduleSegment.schedule_id == v1.id)
            ).first()
            assert segment is not None
            segment.end = segment.end + dt.timedelta(hours=1)
            s.add(segment)

    def delete_the_version() -> None:
        with session_of(engine) as s, s.begin():
            s.delete(s.get(ScheduleVersion, v1.id))

    with pytest.raises(ConflictError, match="published: its segments never change"):
        move_a_segment()
    with pytest.raises(ConflictError, match="published: it never changes"):
        delete_the_version()
    with session_of(engine) as s, s.begin():  # drafts may change
        draft_segment = s.exec(
            select(ScheduleSegment).where(ScheduleSegment.schedule_id == draft_id)
        ).first()
        assert draft_segment is not None
        s.delete(draft_segment)
    with session_of(engine) as s:
        assert len(repo.schedule_frame(s, schedule_id=v1.id or 0)) == len(_schedule())
        assert len(repo.schedule_frame(s, schedule_id=draft_id)) == len(_schedule()) - 1


def test_a_concurrent_publish_of_the_same_version_loses_with_conflict(engine: sa.Engine) -> None:
    """Two threads, each with its own session, read the same next version number (a barrier
    holds both until each is about to insert); exactly one commits."""
    _seed(engine)
    draft_id = _draft(engine)
    barrier = threading.Barrier(2, timeout=30)
    outcomes: dict[str, object] = {}

    def publish_as(key: str) -> None:
        with session_of(engine) as s:
            waited = False

            def hold(*_: object) -> None:
                nonlocal waited
                if not waited:  # the first flush is the version row's insert
                    waited = True
                    barrier.wait()

            sa.event.listen(s, "before_flush", hold)
            try:
                with s.begin():
                    outcomes[key] = repo.publish(s, draft_id=draft_id, idempotency_key=key)
            except Exception as exc:
                outcomes[key] = exc

    threads = [threading.Thread(target=publish_as, args=(key,)) for key in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    won = [o for o in outcomes.values() if isinstance(o, ScheduleVersion)]
    lost = [o for o in outcomes.values() if not isinstance(o, ScheduleVersion)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], ConflictError), repr(lost[0])
    assert isinstance(lost[0].__cause__, sa.exc.IntegrityError)
    assert won[0].version == 1
    with session_of(engine) as s:
        (only,) = repo.schedule_versions(s, week=WEEK)
        assert only.id == won[0].id
        assert len(repo.schedule_frame(s, schedule_id=only.id or 0)) == len(_schedule())
        loser_key = next(k for k, o in outcomes.items() if o is lost[0])
    with session_of(engine) as s, s.begin():  # the retry publishes version 2
        assert repo.publish(s, draft_id=draft_id, idempotency_key=loser_key).version == 2


# --------------------------------------------------------------------------------------------
# transactions, users, plan runs


def test_a_transaction_that_raises_halfway_leaves_the_database_as_before(engine: sa.Engine) -> None:
    _seed(engine)
    draft_id = _draft(engine)
    history = pd.DataFrame(
        {
            "ts": pd.date_range("2026-03-02", periods=4, freq="15min", tz=BERLIN),
            "calls": 3.0,
            "aht_s": 180.0,
        }
    )
    temp = Agent(agent="A7", skills=Agent.skills_from(["chat"]), min_hours_week=0, max_hours_week=8)

    def write_then_fail() -> None:
        with session_of(engine) as s, s.begin():
            repo.save_agents(s, agents=[temp])
            repo.add_history_upload(s, project="bank", frame=history)
            repo.publish(s, draft_id=draft_id, idempotency_key="k1")
            repo.create_user(s, name="pat", role=Role.PLANNER)
            raise RuntimeError("halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        write_then_fail()
    with session_of(engine) as s:
        assert [a.agent for a in repo.list_agents(s)] == ["A1", "A2", "A3"]
        assert repo.history_frame(s, project="bank").empty
        assert repo.current_published(s, week=WEEK) is None
        assert s.exec(select(User)).all() == []


def test_tokens_are_stored_hashed_and_authenticate(engine: sa.Engine) -> None:
    _seed(engine)
    with session_of(engine) as s, s.begin():
        planner = repo.create_user(s, name="pat", role=Role.PLANNER)
        agent = repo.create_user(s, name="ann", role=Role.AGENT, agent="A1")
    assert planner.token != agent.token and len(planner.token) >= 32
    with engine.connect() as conn:
        cells = [str(v) for row in conn.execute(sa.text("SELECT * FROM app_user")) for v in row]
    assert planner.token not in " ".join(cells) and agent.token not in " ".join(cells)
    assert hashlib.sha256(planner.token.encode()).hexdigest() in cells
    with session_of(engine) as s:
        found = repo.authenticate(s, token=planner.token)
        assert found is not None and (found.name, found.role) == ("pat", Role.PLANNER)
        found_agent = repo.authenticate(s, token=agent.token)
        assert found_agent is not None and found_agent.agent == "A1"
        assert repo.authenticate(s, token=planner.token + "x") is None
        assert repo.authenticate(s, token="") is None
        with pytest.raises(ConflictError, match="taken"):
            repo.create_user(s, name="pat", role=Role.SUPERVISOR)
        with pytest.raises(InputError, match="no agent id"):
            repo.create_user(s, name="bob", role=Role.AGENT)
        with pytest.raises(NotFoundError):
            repo.create_user(s, name="bob", role=Role.AGENT, agent="Z9")


def test_plan_runs_keep_an_audit_trail(engine: sa.Engine) -> None:
    with session_of(engine) as s, s.begin():
        run = repo.create_plan_run(s, week=WEEK, inputs_hash="ab" * 32, code_version="0.1.0+abc")
    assert run.status is RunStatus.QUEUED and run.progress == 0.0 and run.id is not None
    with session_of(engine) as s, s.begin():
        repo.update_plan_run(
            s,
            run_id=run.id,
            status=RunStatus.RUNNING,
            progress=0.4,
            step="forecast",
            timings_s={"forecast": 1.5},
        )
        repo.update_plan_run(
            s, run_id=run.id, progress=1.0, status=RunStatus.DONE, timings_s={"schedule": 60.25}
        )
    with session_of(engine) as s:
        done = repo.get_plan_run(s, run_id=run.id)
        assert (done.status, done.progress, done.step) == (RunStatus.DONE, 1.0, "forecast")
        assert done.timings_s == {"forecast": 1.5, "schedule": 60.25}
        assert done.created_at.tzinfo is not None and done.updated_at >= done.created_at
        with pytest.raises(ConflictError, match="done"):
            repo.update_plan_run(s, run_id=run.id, step="again")
        with pytest.raises(NotFoundError):
            repo.get_plan_run(s, run_id=run.id + 1)
    with session_of(engine) as s, s.begin():
        other = repo.create_plan_run(s, week=WEEK, inputs_hash="cd", code_version="0.1.0")
        with pytest.raises(InputError, match="progress"):
            repo.update_plan_run(s, run_id=other.id or 0, progress=1.5)
        draft = repo.save_schedule_draft(
            s,
            week=WEEK,
            frame=pd.DataFrame(columns=["agent", "start", "end", "activity", "project"]),
            plan_run_id=other.id,
        )
        assert draft.plan_run_id == other.id


# --------------------------------------------------------------------------------------------
# frames and time zones


def test_timestamps_come_back_tz_aware_and_equal(engine: sa.Engine) -> None:
    _seed(engine)
    frame = _schedule()
    draft_id = _draft(engine, frame)
    with session_of(engine) as s:
        got = repo.schedule_frame(s, schedule_id=draft_id)
        draft = repo.get_schedule(s, schedule_id=draft_id)
    _same_schedule(got, frame)
    sunday_start = got[(got["agent"] == "A2")]["start"].iloc[-1]
    assert sunday_start == pd.Timestamp("2026-03-29 07:00", tz="UTC")  # 09:00 CEST
    assert draft.created_at.tzinfo is not None
    assert draft.created_at.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - draft.created_at) < dt.timedelta(minutes=5)
    with session_of(engine) as s, pytest.raises(InputError, match="tz-aware"):
        repo.agent_segments(
            s, agent="A1", from_ts=dt.datetime(2026, 3, 23), to_ts=dt.datetime(2026, 3, 30)
        )
    monday = _local(WEEK, 0)
    with session_of(engine) as s, pytest.raises(NotFoundError, match="'Z9'"):
        repo.agent_segments(s, agent="Z9", from_ts=monday, to_ts=monday + pd.Timedelta(days=7))


def test_history_uploads_round_trip_and_the_latest_wins(engine: sa.Engine) -> None:
    _seed(engine)
    ts = pd.date_range("2026-03-28 22:00", periods=24, freq="15min", tz=BERLIN)  # across DST
    first = pd.DataFrame({"project": "bank", "ts": ts, "calls": range(24), "aht_s": 200.0})
    second = pd.DataFrame({"ts": ts[-4:], "calls": 99.0, "aht_s": 150.5})
    with session_of(engine) as s, s.begin():
        up1 = repo.add_history_upload(s, project="bank", frame=first, source="march.csv")
        up2 = repo.add_history_upload(s, project="bank", frame=second)
    assert (up1.n_rows, up2.n_rows, up1.source) == (24, 4, "march.csv")
    with session_of(engine) as s:
        got = repo.history_frame(s, project="bank")
        assert list(got.columns) == ["project", "ts", "calls", "aht_s"]
        assert str(got["ts"].dt.tz) == "UTC"
        assert list(got["ts"]) == list(ts.tz_convert("UTC"))
        assert list(got["calls"]) == [float(c) for c in range(20)] + [99.0] * 4
        assert list(got["aht_s"]) == [200.0] * 20 + [150.5] * 4
        window = repo.history_frame(s, project="bank", from_ts=ts[2], to_ts=ts[5])
        assert list(window["ts"]) == list(ts[2:5].tz_convert("UTC"))
        with pytest.raises(InputError, match="'chat' in an upload for project 'bank'"):
            repo.add_history_upload(s, project="bank", frame=first.assign(project="chat"))
        with pytest.raises(NotFoundError):
            repo.add_history_upload(s, project="mars", frame=second)


def test_forecasts_requirements_and_kpis_round_trip(engine: sa.Engine) -> None:
    _seed(engine)
    ts = pd.date_range("2026-03-23 08:00", periods=3, freq="15min", tz=BERLIN)
    demand = pd.DataFrame(
        {
            "project": ["bank"] * 3 + ["chat"] * 3,
            "ts": list(ts) * 2,
            "calls": [10.0, 12.5, 11.0, 4.0, 5.0, 6.0],
            "aht_s": 180.0,
        }
    ).assign(
        calls_lo_95=lambda f: f["calls"] * 0.7,
        calls_lo_80=lambda f: f["calls"] * 0.8,
        calls_hi_80=lambda f: f["calls"] * 1.2,
        calls_hi_95=lambda f: f["calls"] * 1.3,
    )
    requirements = pd.DataFrame(
        {
            "project": ["bank", "bank", "dial"],
            "ts": [ts[0], ts[1], ts[0]],
            "agents": [5, 6, 3],
            "load_erl": [4.1, 5.2, 2.9],
            "sl": [0.83, 0.81, float("nan")],
            "model": ["erlang_a", "erlang_a", "outbound"],
            "sl_target": [0.8, 0.8, float("nan")],
            "answer_within_s": [20.0, 20.0, float("nan")],
        }
    )
    kpis = pd.DataFrame(
        {
            "project": ["bank", "bank"],
            "ts": list(ts[:2]),
            "offered": [10.0, 0.0],
            "answered": [9.0, 0.0],
            "abandoned": [1.0, 0.0],
            "sl": [0.8, float("nan")],
            "asa_s": [12.5, float("nan")],
            "occupancy": [0.7, float("nan")],
            "sl_lo": [0.75, float("nan")],
            "sl_hi": [0.85, float("nan")],
        }
    )
    with session_of(engine) as s, s.begin():
        forecast = repo.save_forecast(s, frame=demand, model="ets")
        req = repo.save_requirements(s, frame=requirements, forecast_id=forecast.id)
        draft = repo.save_schedule_draft(s, week=WEEK, frame=_schedule())
        kpi = repo.save_kpis(s, frame=kpis, schedule_id=draft.id)
    with session_of(engine) as s:
        got_demand = repo.forecast_frame(s, forecast_id=forecast.id or 0)
        got_req = repo.requirements_frame(s, requirement_set_id=req.id or 0)
        got_kpis = repo.kpis_frame(s, kpi_set_id=kpi.id or 0)
        with pytest.raises(NotFoundError):
            repo.forecast_frame(s, forecast_id=12345)
    for got, want in ((got_demand, demand), (got_req, requirements), (got_kpis, kpis)):
        assert sorted(got.columns) == sorted(want.columns)
        want = want[got.columns]
        assert str(got["ts"].dt.tz) == "UTC"
        want = want.assign(ts=want["ts"].dt.tz_convert("UTC"))
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True),
            want.reset_index(drop=True),
            check_dtype=False,
            check_index_type=False,
        )
    assert got_req["agents"].dtype == "int64"
    assert list(got_demand.columns) == [c.name for c in DEMAND.columns]
