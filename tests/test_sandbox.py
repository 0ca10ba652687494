"""The query pool's CPU priority rule: a query that computes past ``SLOW_QUERY`` drops
to the lowest priority; one that is only slow because the host is busy keeps its own
(demoted, it would starve behind every other process until its time limit)."""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import pytest

from mededkg.query.sandbox import (
    READY,
    IdleWorkers,
    _await_answer,
    _cpu_seconds,
    _Worker,
)

linux_only = pytest.mark.skipif(
    not os.path.exists("/proc/self/stat"), reason="reads CPU time from Linux's /proc"
)


def _wait_then_answer(conn: Connection) -> None:
    conn.send(READY)
    conn.recv()  # the query
    time.sleep(1.5)  # waits as a starved query would: no CPU used
    conn.send("done")


def _compute_then_answer(conn: Connection) -> None:
    conn.send(READY)
    conn.recv()  # the query
    stop = time.process_time() + 1.0  # one second of CPU, however long that takes
    while time.process_time() < stop:
        pass
    conn.send("done")


def _started(target: Callable[[Connection], None]) -> _Worker:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child,), daemon=True)
    process.start()
    child.close()
    # as the pool does: the clock starts once the worker has started (its imports
    # cost CPU too)
    assert parent.recv() == READY
    parent.send("query")
    return _Worker(process, parent, ready=True)


@linux_only
def test_a_computing_query_drops_to_the_lowest_priority() -> None:
    worker = _started(_compute_then_answer)
    try:
        answered, demoted = _await_answer(worker, 60.0)
        assert answered and demoted
        assert worker.process.pid is not None
        assert os.getpriority(os.PRIO_PROCESS, worker.process.pid) == 19
    finally:
        worker.kill()


@linux_only
def test_a_waiting_query_keeps_its_priority() -> None:
    worker = _started(_wait_then_answer)
    try:
        answered, demoted = _await_answer(worker, 60.0)
        assert answered and not demoted
        assert worker.process.pid is not None
        assert os.getpriority(os.PRIO_PROCESS, worker.process.pid) == 0
    finally:
        worker.kill()


@linux_only
def test_cpu_seconds_of_this_process_grow_as_it_computes() -> None:
    before = _cpu_seconds(os.getpid())
    stop = time.process_time() + 0.2
    while time.process_time() < stop:
        pass
    after = _cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert after - before >= 0.1


def test_the_worker_that_answered_last_is_taken_first() -> None:
    idle: IdleWorkers[str] = IdleWorkers()
    idle.put("started first")
    idle.put("started second")
    idle.put("just answered", warm=True)
    assert idle.get(0) == "just answered"
    idle.put("just answered", warm=True)
    assert idle.get(0) == "just answered"
    assert idle.get(0) == "started first"  # then the one idle longest


def test_a_new_worker_is_taken_after_every_started_one() -> None:
    idle: IdleWorkers[str] = IdleWorkers()
    idle.put("answered", warm=True)
    idle.put("replacement, still starting")
    assert [idle.get(0), idle.get(0)] == ["answered", "replacement, still starting"]


def test_no_idle_worker_within_the_wait_is_empty() -> None:
    idle: IdleWorkers[str] = IdleWorkers()
    with pytest.raises(queue.Empty):
        idle.get(0.05)
