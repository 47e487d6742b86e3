"""Networks saved by ANNarchy 5.0.4.1 load into gpunet without a warning and continue as ANNarchy continues.

The fixtures in ``tests/data/annarchy/<network>/`` were written by ``tests/data/annarchy/make_fixtures.py``: each
network was simulated by ANNarchy, saved in every format ANNarchy writes, and then ANNarchy itself restarted from
``data.txt`` in a fresh copy of the network and simulated on, recording the spikes (``expected.json``) and the
final state (``final.txt``).  gpunet builds the same network with its built-in models, loads the file and
simulates the same number of steps.

Promises checked here: every value of every format loads bit for bit equal to ``data.txt`` and with no warning;
the spikes of the continuation are the same steps of the same neurons; the final state is ANNarchy's bit for bit
for the Izhikevich (2003) network, which ANNarchy compiled without fused multiply-adds (``-ffp-contract=off``,
recorded in ``expected.json``); within 1e-12 relative for ``chapter``, which ANNarchy compiled with its default
``-march=native`` (fused multiply-adds round once where NumPy rounds twice); within 1e-14 relative for the
networks with exponentially integrated models (IF_curr_exp, IF_cond_exp, LeakyIntegrator; measured: one unit in
the last place after 300 steps, from ``exp`` and the order in which weighted sums are added up); within 1e-11 relative
for ``models`` (alpha synapses, AdEx, Hodgkin-Huxley, STP; measured: 3e-12 on HH_cond_exp's rate ``bh`` after
300 steps, whose ``exp`` of the spiking membrane amplifies one-ulp differences of libm and NumPy; 1.3e-15 for
STP's ``x``, 3e-16 for the other models); bit for bit for ``semiglobal`` (a rate-coded synapse with postsynaptic
parameters and variable, one value per post neuron with synapses, and a network constant).  The Poisson network draws from ANNarchy's random generator,
which gpunet does not reproduce: only its load is checked.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn
from gpunet import model as builtins
from gpunet.io.formats.pickled import state_pickle

DATA = Path(__file__).resolve().parents[1] / "data" / "annarchy"
NETWORKS = sorted(p.name for p in DATA.iterdir() if (p / "expected.json").exists())
FORMATS = ("data.txt", "data.txt.gz", "data.npz", "data.mat")
# Tolerance of the final state after the continuation (0: bit for bit), see the module docstring.
RTOL = {"izhikevich2003": 0.0, "chapter": 1e-12, "spiking": 1e-14, "rate": 1e-14, "models": 1e-11,
        "semiglobal": 0.0}


def _expected(name: str) -> dict:
    return json.loads((DATA / name / "expected.json").read_text())


def build(expected: dict) -> tuple[gn.Network, dict]:
    """The fixture's network in gpunet; its connectivity comes from the file that is loaded into it."""
    net = gn.Network(dt=expected["dt"], seed=expected["seed"], backend="numpy")
    for name, value in expected.get("constants", {}).items():
        gn.Constant(name, value)
    pops = {}
    for entry in expected["populations"]:
        name, geometry = entry["name"], tuple(entry["geometry"])
        if entry["model"] == "SpikeSourceNeuron":
            pops[name] = gn.SpikeSourceArray(entry["spike_times"], name=name, network=net)
        elif entry["model"] == "PoissonNeuron":
            pops[name] = gn.PoissonPopulation(geometry, rates=10.0, name=name, network=net)
        else:
            model = getattr(builtins, entry["model"])(**entry.get("overrides", {}))
            pops[name] = net.create(geometry, model, name=name)
    for entry in expected["projections"]:
        if "definition" in entry:  # a model of the fixture's own (semiglobal attributes)
            synapse = gn.Synapse(**entry["definition"])
        else:
            synapse = getattr(builtins, entry["synapse"])(**entry.get("parameters", {}))
        proj = net.connect(pops[entry["pre"]], pops[entry["post"]], entry["target"], synapse, name=entry["name"])
        proj.connect_one_to_one(weights=0.0) if pops[entry["pre"]].size == pops[entry["post"]].size else \
            proj.connect_all_to_all(weights=0.0)
    monitors = {name: net.monitor(pop, ["spike"]) for name, pop in pops.items() if pop.spiking}
    net.compile()
    return net, monitors


def _load_quietly(net: gn.Network, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.load(path)


def _state(net: gn.Network, tmp_path: Path, name: str):
    net.save(tmp_path / name)
    return state_pickle.load(tmp_path / name)


def _assert_close(ours, theirs, rtol: float) -> None:
    """Same objects, connectivity and delays; every value within ``rtol`` (0: bit for bit)."""
    assert [p.name for p in ours.populations] == [p.name for p in theirs.populations]
    assert [p.name for p in ours.projections] == [p.name for p in theirs.projections]
    pairs = list(zip(ours.populations, theirs.populations)) + list(zip(ours.projections, theirs.projections))
    for mine, reference in pairs:
        if mine.kind == "projection":
            assert np.array_equal(mine.post_ranks, reference.post_ranks), mine.name
            assert np.array_equal(mine.row_ptr, reference.row_ptr), mine.name
            assert np.array_equal(mine.pre_ranks, reference.pre_ranks), mine.name
            assert np.array_equal(np.broadcast_to(mine.delays, mine.pre_ranks.shape),
                                  np.broadcast_to(reference.delays, reference.pre_ranks.shape)), mine.name
        assert sorted(reference.values) == sorted(mine.values), mine.name
        for key, value in reference.values.items():
            value = np.asarray(value, dtype=np.float64)
            got = np.broadcast_to(np.asarray(mine.values[key], dtype=np.float64), value.shape)
            if rtol == 0:
                assert np.array_equal(got, value), (mine.name, key)
            else:
                np.testing.assert_allclose(got, value, rtol=rtol, atol=rtol, err_msg=f"{mine.name}.{key}")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("network", NETWORKS)
def test_every_format_loads_without_a_warning_and_equal(network, fmt, tmp_path):
    net, _ = build(_expected(network))
    _load_quietly(net, DATA / network / fmt)
    assert net.get_current_step() == _expected(network)["save_step"]
    _assert_close(_state(net, tmp_path, "ours.txt"), state_pickle.load(DATA / network / "data.txt"), rtol=0)


@pytest.mark.parametrize("network", NETWORKS)
def test_the_parameter_file_holds_exactly_the_global_parameters(network):
    expected = _expected(network)
    net, _ = build(expected)
    text = json.loads((DATA / network / "network.json").read_text())
    for kind, objects in (("populations", net.populations), ("projections", net.projections)):
        assert list(text[kind]) == [obj.name for obj in objects]
        for obj in objects:
            assert list(text[kind][obj.name]) == obj.spec.global_names, obj.name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.load_parameters(DATA / network / "network.json")
    for obj in net.projections:
        for key, value in text["projections"][obj.name].items():
            assert getattr(obj, key) == value


@pytest.mark.parametrize("network", [n for n in NETWORKS if not _expected(n).get("random_spikes")])
def test_continuation_reproduces_annarchys_spikes_and_state(network, tmp_path):
    expected = _expected(network)
    net, monitors = build(expected)
    _load_quietly(net, DATA / network / "data.txt")
    net.simulate(float(expected["continue_steps"]))
    assert net.get_current_step() == expected["save_step"] + expected["continue_steps"]
    for name, monitor in monitors.items():
        # dt = 1 ms: a spike's time in ms is its step
        spikes = {str(rank): [int(round(t)) for t in times] for rank, times in monitor.get("spike").items() if times}
        assert spikes == expected["spikes"][name], name
    assert sum(len(s) for pop in expected["spikes"].values() for s in pop.values()) > 0 or not monitors  # rate-coded
    _assert_close(_state(net, tmp_path, "final.txt"), state_pickle.load(DATA / network / "final.txt"),
                  rtol=RTOL[network])


def test_the_izhikevich_2003_network_has_per_neuron_parameters():
    state = state_pickle.load(DATA / "izhikevich2003" / "data.txt")
    for name, varying in (("exc", ("c", "d")), ("inh", ("a", "b"))):
        pop = state.population(name)
        for key in varying:
            assert len(np.unique(pop.values[key])) == pop.size, (name, key)
