"""The fixture network simulated by gpunet matches ANNarchy 5.0.4.1's saved state after 100 ms.

The network is the one of ``make_fixtures.py``: PFC_exc (50 Izhikevich,
i_offset = linspace(0, 12, 50)) -> PFC_inh (30 Izhikevich(a=0.1, d=2.0)),
STDP on target exc with the saved connectivity, weights
((7 pre + 13 post) % 50) / 100, delay 2 ms, tau_plus set to 25 after compile.
The synaptic variables must be bit-identical; v and u may differ in the last
bits because ANNarchy was compiled with -march=native (fused multiply-add).
"""
import pickle

import numpy as np
import pytest

import gpunet as gn


@pytest.fixture
def annarchy_state(fixtures_dir):
    with open(fixtures_dir / "data.txt", "rb") as handle:
        return pickle.load(handle)  # a trusted fixture written by ANNarchy


def build_fixture_network(saved_projection):
    net = gn.Network(dt=1.0, seed=2024, backend="numpy")
    exc = net.create(50, gn.Izhikevich, name="PFC_exc")
    inh = net.create(30, gn.Izhikevich(a=0.1, d=2.0), name="PFC_inh")
    proj = net.connect(exc, inh, "exc", gn.STDP, name="PFC_exc_to_inh")
    synapses = [(pre, post, ((7 * pre + 13 * post) % 50) / 100.0, 2.0)
                for post, pres in zip(saved_projection["post_ranks"], saved_projection["pre_ranks"]) for pre in pres]
    proj.connect_from_list(synapses)
    net.compile()
    exc.i_offset = np.linspace(0.0, 12.0, 50)
    proj.tau_plus = 25.0
    return net, exc, inh, proj


def test_fixture_network_reproduces_annarchy_state_after_100_ms(annarchy_state):
    saved = annarchy_state["PFC_exc_to_inh"]
    net, exc, inh, proj = build_fixture_network(saved)
    net.simulate(100.0)
    assert net.get_current_step() == annarchy_state["time_step"] == 100
    for name in ("w", "x", "y"):
        ours = getattr(proj, name)
        assert len(ours) == len(saved[name])
        for row, (mine, theirs) in enumerate(zip(ours, saved[name])):
            assert mine == list(theirs), f"{name} differs in row {row}"
    assert float(sum(sum(row) for row in proj.x)) == 2.2014986599161994  # describe.txt
    for population in (exc, inh):
        for name in ("v", "u"):
            difference = np.abs(getattr(population, name) - annarchy_state[population.name][name])
            assert difference.max() < 1e-9, f"{population.name}.{name} differs by {difference.max()}"


def test_fixture_network_spikes_like_annarchy(annarchy_state):
    saved = annarchy_state["PFC_exc_to_inh"]
    net, exc, inh, proj = build_fixture_network(saved)
    monitor = net.monitor(exc, "spike")
    net.simulate(100.0)
    spikes = monitor.get("spike")
    # the pre trace x is non-zero exactly on the synapses whose pre neuron spiked (and whose spike arrived)
    arrived = {rank for rank, times in spikes.items() if times and min(times) <= 97}  # steps (dt = 1)
    for post_rank, pres, xs in zip(proj.post_ranks, saved["pre_ranks"], saved["x"]):
        assert {pre for pre, x in zip(pres, xs) if x > 0} == arrived & set(pres), f"post {post_rank}"
    assert sum(len(times) for times in spikes.values()) > 20
