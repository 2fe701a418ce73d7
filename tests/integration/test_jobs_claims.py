"""Jobs are claimed once: two workers (threads here, each with its own connection; processes in
tests/e2e/test_worker_kill.py) racing over the same queue on PostgreSQL (`FOR UPDATE SKIP LOCKED`) and on
SQLite (the version check) take every job exactly once; a job whose worker's lease expired is taken again
with one attempt more, and failed with why once its attempts are used up."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.domain.identity import Actor, Role
from o2o.domain.jobs import Job, JobState
from o2o.services import jobs
from o2o.store.jobs_repository import JobRepository
from o2o.store.repositories import now_utc

ADMIN = Actor("USR-admin", "admin", None, Role.ADMIN, "TOK-admin")


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Workspace:
    return open_workspace(Settings(home=tmp_path / "o2o-data", database_url=store_url))


def test_two_workers_take_each_job_once(ws: Workspace) -> None:
    queued = [jobs.enqueue_netting(ws, ADMIN, "2026-10").id for _ in range(40)]
    taken: dict[str, list[str]] = {"w1": [], "w2": []}
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        start.wait()
        while (job := jobs.claim_job(ws, name, timedelta(seconds=60))) is not None:
            taken[name].append(job.id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = taken["w1"] + taken["w2"]
    assert sorted(both) == sorted(queued), "every job taken, none twice"
    with ws.uow() as uow:
        repo = JobRepository(uow.connection)
        for name, ids in taken.items():
            for job_id in ids:
                job = repo.get(job_id)
                assert (job.state, job.worker, job.attempts) == (JobState.RUNNING, name, 1)


def _expire(ws: Workspace, job: Job) -> None:
    """What a dead worker leaves: its lease runs out (set in the past rather than waited for)."""
    from sqlalchemy import update

    from o2o.store.jobs_tables import jobs as table

    with ws.uow() as uow:
        uow.connection.execute(
            update(table).where(table.c.id == job.id).values(lease_until=now_utc() - timedelta(seconds=1))
        )
        uow.commit()


def test_a_job_whose_worker_died_is_taken_again_then_failed_with_why(ws: Workspace) -> None:
    job = jobs.enqueue_netting(ws, ADMIN, "2026-10", max_attempts=2)
    first = jobs.claim_job(ws, "dead-1")
    assert first is not None and first.id == job.id
    assert jobs.claim_job(ws, "other") is None, "a held lease keeps the job"
    _expire(ws, first)
    second = jobs.claim_job(ws, "dead-2")
    assert second is not None and (second.attempts, second.worker) == (2, "dead-2")
    assert second.message is not None and "worker dead-1 stopped" in second.message
    with ws.uow() as uow:  # the first worker, were it alive after all, can no longer touch the job
        repo = JobRepository(uow.connection)
        assert not repo.heartbeat(job.id, "dead-1", now_utc(), timedelta(seconds=60))
        assert not repo.finish(job.id, "dead-1", now_utc(), result={"x": 1})
        uow.commit()
    _expire(ws, second)
    assert jobs.claim_job(ws, "third") is None
    failed = jobs.get_job(ws, ADMIN, job.id)
    assert failed.state is JobState.FAILED
    assert (
        failed.error is not None
        and "worker dead-2 stopped" in failed.error
        and "attempt 2 of 2" in failed.error
    )
