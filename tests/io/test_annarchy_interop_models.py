"""gpunet's .txt / .txt.gz files of every built-in model load into ANNarchy 5.0.4.1 with every value equal.

Run with ``GPUNET_ANNARCHY_PYTHON=/path/to/venv/bin/python`` when ANNarchy lives in another interpreter; skipped
when no interpreter has ANNarchy.  ``annarchy_loads.py`` (beside this file) is the ANNarchy side.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn
from gpunet import model as builtins
from gpunet.io.formats.pickled import state_pickle

SPIKE_TIMES = [[2.0, 9.0, 30.0], [5.0, 6.0], [11.0, 40.0, 41.0, 42.0], [1.0]]
STRUCTURE = {
    "dt": 1.0,
    "populations": [
        {"name": "izh", "geometry": [12], "model": "Izhikevich", "overrides": {"a": 0.1, "d": 2.0}},
        {"name": "curr", "geometry": [3, 4], "model": "IF_curr_exp", "overrides": {"tau_refrac": 2.0}},
        {"name": "cond", "geometry": [8], "model": "IF_cond_exp"},
        {"name": "poisson", "geometry": [10], "model": "PoissonNeuron"},
        {"name": "source", "geometry": [4], "model": "SpikeSourceNeuron", "spike_times": SPIKE_TIMES},
        {"name": "rate_in", "geometry": [2, 3], "model": "LeakyIntegrator"},
        {"name": "rate_out", "geometry": [5], "model": "LeakyIntegrator", "overrides": {"tau": 20.0}},
    ],
    "projections": [
        {"name": "izh_curr", "pre": "izh", "post": "curr", "target": "exc", "synapse": "STDP",
         "parameters": {"tau_plus": 15.0, "w_max": 2.0}},
        {"name": "poisson_izh", "pre": "poisson", "post": "izh", "target": "exc", "synapse": "DefaultSpiking"},
        {"name": "source_cond", "pre": "source", "post": "cond", "target": "exc", "synapse": "STDP"},
        {"name": "curr_cond", "pre": "curr", "post": "cond", "target": "inh", "synapse": "DefaultSpiking"},
        {"name": "in_out", "pre": "rate_in", "post": "rate_out", "target": "exc", "synapse": "Hebb",
         "parameters": {"eta": 0.02}},
        {"name": "in_out_oja", "pre": "rate_in", "post": "rate_out", "target": "inh", "synapse": "Oja"},
        {"name": "out_in", "pre": "rate_out", "post": "rate_in", "target": "exc", "synapse": "DefaultRate"},
    ],
}


def _annarchy_python() -> str | None:
    configured = os.environ.get("GPUNET_ANNARCHY_PYTHON")
    if configured:
        return configured if Path(configured).exists() else None
    return sys.executable if importlib.util.find_spec("ANNarchy") is not None else None


def gpunet_network() -> gn.Network:
    """Every built-in model, values off their defaults, per-synapse and uniform delays, 40 steps simulated."""
    net = gn.Network(dt=1.0, seed=5, backend="numpy")
    pops = {}
    for entry in STRUCTURE["populations"]:
        name, geometry = entry["name"], tuple(entry["geometry"])
        if entry["model"] == "PoissonNeuron":
            pops[name] = gn.PoissonPopulation(geometry, rates=np.linspace(20.0, 200.0, 10), name=name, network=net)
        elif entry["model"] == "SpikeSourceNeuron":
            pops[name] = gn.SpikeSourceArray(entry["spike_times"], name=name, network=net)
        else:
            pops[name] = net.create(geometry, getattr(builtins, entry["model"])(**entry.get("overrides", {})),
                                    name=name)
    rng = np.random.default_rng(9)
    projs = {}
    for entry in STRUCTURE["projections"]:
        synapse = getattr(builtins, entry["synapse"])(**entry.get("parameters", {}))
        projs[entry["name"]] = net.connect(pops[entry["pre"]], pops[entry["post"]], entry["target"], synapse,
                                           name=entry["name"])
    # per-synapse delays on rows of equal length: ANNarchy 5.0.4.1 fails on ragged ones (README)
    projs["izh_curr"].connect_fixed_number_pre(5, weights=gn.Uniform(0.5, 1.5), delays=gn.DiscreteUniform(1, 4))
    projs["poisson_izh"].connect_fixed_number_pre(3, weights=2.0, delays=1.0)
    projs["source_cond"].connect_all_to_all(weights=gn.Uniform(0.1, 0.4), delays=2.0)
    projs["curr_cond"].connect_fixed_probability(0.3, weights=0.4, delays=3.0)
    projs["in_out"].connect_all_to_all(weights=gn.Uniform(0.0, 0.3))
    projs["in_out_oja"].connect_fixed_probability(0.6, weights=gn.Uniform(0.0, 0.3))
    projs["out_in"].connect_fixed_number_pre(2, weights=0.25)
    net.compile()
    pops["izh"].c = np.linspace(-65.0, -50.0, 12)          # per-neuron parameters (local in ANNarchy)
    pops["izh"].i_offset = rng.uniform(3.0, 12.0, 12)
    pops["curr"].i_offset = rng.uniform(0.5, 1.5, (3, 4))
    pops["cond"].v_thresh = np.linspace(-52.0, -48.0, 8)
    pops["rate_in"].B = rng.uniform(0.0, 1.0, (2, 3))
    pops["rate_out"].T = 0.05
    projs["source_cond"].A_minus = 0.02
    net.simulate(40.0)
    return net


def _flat(value) -> np.ndarray:
    if isinstance(value, list) and value and isinstance(value[0], list):
        return np.asarray([x for row in value for x in row], dtype=np.float64)
    return np.asarray(value, dtype=np.float64).ravel()


def _assert_annarchy_holds(dump: dict, state) -> None:
    assert dump["time_step"] == state.step
    for pop in state.populations:
        for attribute in pop.attributes:
            theirs, ours = _flat(dump[pop.name][attribute]), np.asarray(pop.values[attribute], np.float64).ravel()
            assert np.array_equal(theirs, np.broadcast_to(ours, theirs.shape)), (pop.name, attribute)
        assert set(dump[pop.name]) == set(pop.attributes), pop.name
    for proj in state.projections:
        entry = dump[proj.name]
        assert entry["post_ranks"] == proj.post_ranks.tolist(), proj.name
        assert np.array_equal(_flat(entry["pre_ranks"]), proj.pre_ranks), proj.name
        assert np.array_equal(np.broadcast_to(_flat(entry["delays"]), proj.pre_ranks.shape),
                              np.broadcast_to(proj.delays, proj.pre_ranks.shape)), proj.name
        assert set(entry) - {"pre_ranks", "post_ranks", "delays"} == set(proj.attributes), proj.name
        for attribute in proj.attributes:
            theirs, ours = _flat(entry[attribute]), np.asarray(proj.values[attribute], np.float64).ravel()
            assert np.array_equal(theirs, np.broadcast_to(ours, theirs.shape)), (proj.name, attribute)


@pytest.mark.annarchy
@pytest.mark.slow
def test_annarchy_loads_gpunet_files_of_every_builtin_model(tmp_path):
    python = _annarchy_python()
    if python is None:
        pytest.skip("ANNarchy is not importable (set GPUNET_ANNARCHY_PYTHON to an interpreter that has it)")
    net = gpunet_network()
    files = [tmp_path / "net.txt", tmp_path / "net.txt.gz"]
    for path in files:
        net.save(path)
    state = state_pickle.load(files[0])
    assert np.ptp(state.population("izh").values["c"]) > 0
    assert len(np.unique(state.projection("izh_curr").delays)) > 1
    (tmp_path / "structure.json").write_text(json.dumps(STRUCTURE))
    out = tmp_path / "out.json"
    env = dict(os.environ, PATH=f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    side = Path(__file__).with_name("annarchy_loads.py")
    done = subprocess.run([python, str(side), str(tmp_path / "structure.json"), str(out), str(tmp_path / "build"),
                           *map(str, files)], capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    for path in files:
        assert "WARNING" not in result[str(path)]["printed"], result[str(path)]["printed"]
        _assert_annarchy_holds(result[str(path)]["state"], state)
