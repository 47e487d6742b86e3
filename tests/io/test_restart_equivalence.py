"""Restart equivalence: T, save, load in a new process, T more == 2T straight (bit for bit)."""
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn

from helpers import assert_same_state, small_network, snapshot

pytestmark = pytest.mark.slow  # processes of their own: deselect with -m 'not slow' for a quick run

HERE = Path(__file__).resolve().parent

SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {here!r})
    import gpunet as gn
    from helpers import small_network
    mode, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "first":
        net = small_network(seed=11)
        net.simulate(60.0)
        gn.save(path, network=net)
    else:
        net = small_network(seed=999)   # freshly built, even with another seed
        net.load(path)
        net.simulate(60.0)
        gn.save(out, network=net)
""")


def run(tmp_path, *args):
    script = tmp_path / "restart.py"
    script.write_text(SCRIPT.format(here=str(HERE)))
    subprocess.run([sys.executable, str(script), *map(str, args)], check=True, capture_output=True, text=True)


@pytest.mark.parametrize("suffix", [".npz", ".txt", ".gz", ".mat"])
def test_restart_in_a_new_process_is_bitwise_equal(tmp_path, suffix):
    # gpunet-written .txt/.gz/.mat carry the internal state under "_gpunet", so they restart exactly too
    middle, final = tmp_path / f"middle{suffix}", tmp_path / "final.npz"
    run(tmp_path, "first", middle, final)
    run(tmp_path, "second", middle, final)
    straight = small_network(seed=11)
    straight.simulate(120.0)
    resumed = small_network(seed=11)
    resumed.load(final)
    assert resumed.get_current_step() == 120
    assert_same_state(snapshot(straight), snapshot(resumed))
    # the run is not trivial: spikes, plasticity and in-flight delayed spikes all happened
    assert np.any(straight.populations[1]._state["_last_spike"] > 60)
    w0 = small_network(seed=11).projections[0].device_view("w")
    assert not np.array_equal(w0, straight.projections[0].device_view("w"))


def test_in_flight_delayed_spikes_survive_a_restart(tmp_path):
    source = gn.Network(seed=1, backend="numpy")
    spikes = gn.SpikeSourceArray([[10.0]], network=source)
    target = source.create(1, gn.Izhikevich)
    projection = source.connect(spikes, target, "exc")
    projection.connect_all_to_all(weights=5.0, delays=4.0)
    monitor = source.monitor(target, "I")
    source.simulate(12.0)  # the spike (step 10) is still in flight: it arrives at step 14
    path = tmp_path / "inflight.npz"
    gn.save(path, network=source)
    source.simulate(5.0)
    straight = monitor.get("I")[:, 0]
    assert straight[14] == 5.0

    fresh = gn.Network(seed=1, backend="numpy")
    gn.SpikeSourceArray([[10.0]], network=fresh)
    fresh_target = fresh.create(1, gn.Izhikevich)
    fresh.connect(fresh.populations[0], fresh_target, "exc").connect_all_to_all(weights=5.0, delays=4.0)
    fresh_monitor = fresh.monitor(fresh_target, "I")
    fresh.load(path)
    fresh.simulate(5.0)
    assert np.array_equal(fresh_monitor.get("I")[:, 0], straight[12:])


def test_annarchy_fixture_files_restart_from_their_saved_moment(fixtures_dir):
    """ANNarchy's files carry no internal state: the network keeps its own, values come from the file."""
    from gpunet.io.api import read_state
    state = read_state(fixtures_dir / "data.txt")
    assert state.step == 100 and all(not p.internal for p in state.populations)


@pytest.mark.parametrize("name, suffix", [(name, suffix) for name in ("spiking", "rate", "reference", "models")
                                          for suffix in (".npz", ".txt")] + [("models", ".gz"), ("models", ".mat")])
def test_restart_equivalence_for_every_built_in_model(tmp_path, name, suffix):
    """Poisson and spike-source inputs, refractory periods, per-synapse delays, STDP, Hebb, Oja; alpha synapses,
    AdEx, Hodgkin-Huxley, STP (event-driven, not a pure decay), the rk4 and implicit methods."""
    from gpunet.testing.parity import NETWORKS
    build = NETWORKS[name]
    straight = build("numpy", "float64")
    straight.simulate(60.0)
    first = build("numpy", "float64")
    first.simulate(30.0)
    gn.save(tmp_path / f"s{suffix}", network=first)
    resumed = build("numpy", "float64")
    resumed.simulate(7.0)  # some other state, to be overwritten by the load
    resumed.load(tmp_path / f"s{suffix}")
    resumed.simulate(30.0)
    assert_same_state(snapshot(straight), snapshot(resumed))
