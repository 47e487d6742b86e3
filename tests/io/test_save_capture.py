"""An asynchronous save holds the state of its call, all of it (issue 18, class 5).

Saves are queued behind a writer thread that is held busy; meanwhile the network
is changed in every way a file can show (another state with another seed loaded,
parameters and variables changed, steps simulated).  Each file must equal a
blocking save made at the moment of its call: byte for byte for the formats
without a timestamp, field for field for ``.mat``.
"""
import gc
import io
import sys
import threading
from pathlib import Path

import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gpunet as gn
from gpunet.io.pipeline import saving
from gpunet.io.api import serializer_for
from gpunet.io.pipeline.gather import DeferredArray, gather_state, plan_state
from gpunet.network.network import Network
from gpunet.network.population import Population
from gpunet.network.projection import Projection

from helpers import small_network
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz_records import measure, summary  # noqa: E402

SUFFIXES = (".npz", ".txt", ".gz", ".mat")

LONG = os.environ.get("GPUNET_TEST_PROFILE") == "long"  # the fuzzing profile (tests/conftest.py)


def blocking_bytes(net, suffix: str) -> bytes:
    """What a blocking save of ``net`` made now writes (serialized from a synchronous gather)."""
    stream = io.BytesIO()
    serializer_for(Path("state" + suffix))(gather_state(net), stream)
    return stream.getvalue()


def assert_same_state(a, b) -> None:
    """Every field of two NetworkStates read from files, arrays included."""
    assert (a.step, a.dt, a.seed, a.net_id, a.single_object) == (b.step, b.dt, b.seed, b.net_id, b.single_object)
    assert len(a.populations) == len(b.populations) and len(a.projections) == len(b.projections)
    for x, y in zip(a.populations + a.projections, b.populations + b.projections):
        assert (x.name, x.model, list(x.parameters), list(x.variables)) == (y.name, y.model, list(y.parameters),
                                                                            list(y.variables))
        assert x.values.keys() == y.values.keys() and x.internal.keys() == y.internal.keys()
        for key in x.values:
            assert np.array_equal(x.values[key], y.values[key], equal_nan=True), (x.name, key)
        for key in x.internal:
            assert np.array_equal(x.internal[key], y.internal[key], equal_nan=True), (x.name, key)
        if x.kind == "projection":
            for key in ("post_ranks", "row_ptr", "pre_ranks", "delays"):
                assert np.array_equal(getattr(x, key), getattr(y, key)), (x.name, key)


class HeldWriter:
    """Keeps the network's writer thread busy so that saves queue up behind it."""

    def __init__(self, net) -> None:
        self.release = threading.Event()
        started = threading.Event()
        saver = saving.saver_of(net)

        def hold() -> None:
            started.set()
            self.release.wait(60)

        saver.executor.submit(hold)
        assert started.wait(10)


@pytest.fixture(scope="module")
def other_files(tmp_path_factory):
    """States of networks of the same shape built and run with other seeds."""
    folder = tmp_path_factory.mktemp("others")
    files = []
    for seed, duration in ((50, 3.0), (77, 9.0)):
        net = small_network(seed=seed, neurons=20)
        net.simulate(duration)
        files.append(folder / f"seed{seed}.npz")
        gn.save(files[-1], network=net)
    return files


OPERATIONS = st.one_of(
    st.tuples(st.just("save"), st.sampled_from(SUFFIXES)),
    st.tuples(st.just("simulate"), st.integers(1, 4)),
    st.tuples(st.just("load"), st.integers(0, 1)),
    st.tuples(st.just("global"), st.floats(0.01, 0.1)),
    st.tuples(st.just("local"), st.floats(-80.0, -50.0)),
    st.tuples(st.just("synapse"), st.floats(0.0, 2.0)),
)


def _queue(net, folder, operations, held, expected, other_files) -> None:
    """Queue the saves and changes of one example behind the held writer, then let the writer go."""
    pop0, pop1 = net.populations
    proj = net.projections[0]
    try:
        for index, (kind, argument) in enumerate(operations):
            if kind == "save":
                path = folder / f"s{index}{argument}"
                expected.append((path, blocking_bytes(net, argument)))
                gn.save(path, network=net, blocking=False, max_pending=len(operations) + 1)
            elif kind == "simulate":
                net.simulate(float(argument))
            elif kind == "load":
                net.load(other_files[argument])  # another seed, step, connectivity and weights
            elif kind == "global":
                pop0.a = argument
            elif kind == "local":
                pop1.v = np.linspace(argument, argument + 1.0, pop1.size)
            else:
                proj.w = argument
    finally:
        held.release.set()
    gn.wait_for_saves(net)


@pytest.fixture(scope="module", autouse=True)
def _fuzz_summary():
    yield
    print("\n" + summary(("queued saves",)))


@settings(max_examples=300 if LONG else 15)
@given(operations=st.lists(OPERATIONS, min_size=2, max_size=10))
def test_queued_saves_hold_everything_of_their_call(tmp_path_factory, other_files, operations):
    folder = tmp_path_factory.mktemp("capture")
    net = small_network(seed=3, neurons=20)
    net.simulate(2.0)
    held = HeldWriter(net)
    expected = []
    _peak, outcome = measure("queued saves", len(operations), lambda: _queue(net, folder, operations, held, expected,
                                                                             other_files), max_seconds=60.0)
    assert not isinstance(outcome, Exception), outcome
    for path, reference in expected:
        if path.suffix == ".mat":  # its header holds the time of writing
            written = gn.read_state(path)
            stream_path = path.with_name("reference.mat")
            stream_path.write_bytes(reference)
            assert_same_state(gn.read_state(stream_path), written)
        else:
            assert path.read_bytes() == reference, path.name


def test_a_save_queued_behind_another_keeps_its_seed_across_a_load(tmp_path, other_files):
    """The example of the issue: a load between the call and the write put another seed into the file."""
    net = small_network(seed=3, neurons=20)
    net.simulate(10.0)
    held = HeldWriter(net)
    gn.save(tmp_path / "first.npz", network=net, blocking=False)
    handle = gn.save(tmp_path / "second.npz", network=net, blocking=False)
    net.load(other_files[0])
    assert net.seed == 50
    held.release.set()
    handle.result(30)
    state = gn.read_state(tmp_path / "second.npz")
    assert (state.seed, state.step) == (3, 10)
    # and resuming from it continues the seed-3 run, bit for bit
    straight = small_network(seed=3, neurons=20)
    straight.simulate(20.0)
    resumed = small_network(seed=9, neurons=20)
    resumed.load(tmp_path / "second.npz")
    resumed.simulate(10.0)
    assert np.array_equal(straight.populations[1].v, resumed.populations[1].v)


def _reachable(root, limit: int = 200_000) -> list:
    seen, stack, found = set(), [root], []
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        found.append(obj)
        stack.extend(gc.get_referents(obj))
    return found


def test_the_writer_gets_an_immutable_capture_without_the_network():
    net = small_network(neurons=20)
    net.simulate(3.0)
    plan = plan_state(net)
    host_part = (plan.metadata, plan.objects, tuple(ref for ref in plan.arrays if not ref.on_device))
    network_objects = [obj for obj in _reachable(host_part) if isinstance(obj, (Network, Population, Projection))]
    assert network_objects == []
    with pytest.raises(AttributeError):
        plan.metadata.seed = 5  # frozen
    with pytest.raises(AttributeError):
        plan.objects[0].name = "other"
    assert all(not ref.array.flags.writeable for ref in plan.arrays if not ref.on_device and ref.key != "_spike_times"
               and ref.key != "_spike_counts" and not isinstance(ref.array, DeferredArray))  # a deferred one: made new
    deferred = [ref for ref in plan.arrays if isinstance(ref.array, DeferredArray)]  # made by the writer
    assert [ref.key for ref in deferred] == ["_pre_ranks"]
    np.testing.assert_array_equal(deferred[0].array.make(), net.projections[0].synapse_arrays()[1])
