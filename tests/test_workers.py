"""The worker helpers: every task runs, each ``then`` after its ``first``, errors only after all stopped."""
import threading
import time

import pytest

from gpunet.backend import workers


@pytest.fixture(params=[1, 2])
def thread_count(request, monkeypatch):
    monkeypatch.setattr(workers, "WORKER_THREADS", request.param)
    return request.param


def test_pipelined_runs_firsts_in_order_on_the_caller_and_each_then_after_its_first(thread_count):
    log, done = [], {}
    caller = threading.get_ident()

    def first(i):
        def run():
            assert threading.get_ident() == caller
            time.sleep(0.002)
            log.append(i)
            done[i] = True
        return run

    def then(i):
        def run():
            assert done.get(i)  # its first has returned
            log.append(("then", i))
        return run

    workers.run_pipelined([(first(i), then(i) if i % 2 == 0 else None) for i in range(6)])
    assert [entry for entry in log if not isinstance(entry, tuple)] == list(range(6))
    assert sorted(entry[1] for entry in log if isinstance(entry, tuple)) == [0, 2, 4]


def test_pipelined_raises_a_then_error_after_every_step_finished(thread_count):
    finished = []

    def slow():
        time.sleep(0.05)
        finished.append("slow")

    def failing():
        raise ValueError("bad member")

    with pytest.raises(ValueError, match="bad member"):
        workers.run_pipelined([(lambda: None, failing), (lambda: None, slow), (lambda: finished.append("last"), None)])
    assert finished == ["last", "slow"] if thread_count == 2 else finished == []


def test_pipelined_starts_no_step_after_a_first_failed_and_waits_for_running_thens(thread_count):
    ran = []

    def slow_then():
        time.sleep(0.05)
        ran.append("then 0")

    def failing_first():
        raise OSError("short read")

    with pytest.raises(OSError, match="short read"):
        workers.run_pipelined([(lambda: ran.append("first 0"), slow_then), (failing_first, lambda: ran.append("x")),
                               (lambda: ran.append("first 2"), None)])
    assert ran == ["first 0", "then 0"]  # the running then finished before the error was raised


def test_balanced_runs_every_task_once(thread_count):
    counts = [0] * 9
    lock = threading.Lock()

    def task(i):
        def run():
            with lock:
                counts[i] += 1
        return run

    workers.run_balanced([(i + 1, task(i)) for i in range(9)], threads=thread_count)
    assert counts == [1] * 9
