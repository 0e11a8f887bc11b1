"""The background job runner (state/jobs.py): debounce, supersession, cancellation, closing."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from worldcereal_explorer.errors import QueryCancelledError
from worldcereal_explorer.state import JobRunner
from worldcereal_explorer.state.jobs import describe, progress_fraction


def test_a_burst_of_submissions_runs_only_the_last():
    runner = JobRunner(name="test-burst")
    ran, delivered = [], []
    for i in range(5):
        runner.submit("k", lambda job, i=i: ran.append(i) or i, delay=0.2,
                      on_result=lambda job: delivered.append(job.result))
    assert runner.wait(10)
    assert ran == [4] and delivered == [4]
    assert runner.started["k"] == 1 and runner.started["other"] == 0
    assert runner.close()


def test_a_superseded_running_job_is_cancelled_and_never_delivers():
    runner = JobRunner(name="test-supersede")
    started, release = threading.Event(), threading.Event()
    delivered = []

    def slow(job):
        started.set()
        release.wait(10)
        return "old"

    old = runner.submit("k", slow, delay=0.0, on_result=lambda job: delivered.append(job.result))
    assert started.wait(10)
    new = runner.submit("k", lambda job: "new", delay=None, on_result=lambda job: delivered.append(job.result))
    assert old.cancelled and not new.cancelled
    runner.run(new)
    release.set()
    assert runner.wait(10)
    assert delivered == ["new"]
    assert runner.close()


def test_errors_and_cancellations():
    settled, errors = [], []
    runner = JobRunner(name="test-errors", on_settle=lambda: settled.append(True))

    def fail(job):
        raise ValueError("boom")

    def cancelled(job):
        raise QueryCancelledError("stop")

    job = runner.run(runner.submit("k", fail, on_error=lambda job, exc: errors.append(str(exc))))
    assert isinstance(job.error, ValueError) and errors == ["boom"] and settled
    job = runner.run(runner.submit("k", cancelled, on_error=lambda job, exc: errors.append(str(exc))))
    assert isinstance(job.error, QueryCancelledError) and errors == ["boom"]  # not reported as an error
    assert runner.close()


def test_close_joins_workers_and_refuses_new_jobs():
    runner = JobRunner(name="test-close")
    started = threading.Event()

    def cooperative(job):
        started.set()
        job.cancel_event.wait(10)  # stops as soon as it is cancelled, like the client does
        raise QueryCancelledError("cancelled")

    runner.submit("running", cooperative, delay=0.0)
    runner.submit("waiting", lambda job: None, delay=30.0)
    assert started.wait(10)
    assert len(runner.threads) == 2
    assert runner.close(timeout=10) is True
    assert runner.threads == [] and not runner.busy
    late = runner.submit("late", lambda job: None, delay=0.0)
    assert late.cancelled and runner.threads == []


def test_progress_reports_and_error_lines():
    assert progress_fraction(SimpleNamespace(collections_done=1, collections_total=4)) == 0.25
    assert progress_fraction(3, 4) == 0.75 and progress_fraction(done=2, total=2) == 1.0
    assert progress_fraction(1.7) == 1.0 and progress_fraction("?") is None
    assert describe(QueryCancelledError("stopped")) == "stopped"
    assert describe(KeyError("x")) == "KeyError: 'x'"
