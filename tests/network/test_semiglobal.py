"""Semiglobal synaptic attributes (ANNarchy's ``postsynaptic`` flag): one value per post-synaptic neuron.

Checked here: the flag in both syntaxes and ANNarchy's locality rules; the array code against a loop written
in the test (per post neuron first, then per synapse, as ANNarchy orders them); event statements and the psp
reading the value at each synapse's post rank; attribute access per post row (``post_ranks`` order); the CUDA
generator's kernel of the semiglobal equations (one thread per post neuron) and the compiled CPU runner running
such a network bit for bit (GPU parity: ``tests/gpu/test_language_kernels.py``); every format round-trips the values
once per post row and a restart continues bit for bit; ``verify`` and a load check that a file holds one value
per post row.  ANNarchy's own files: ``test_annarchy_fixtures.py`` (network ``semiglobal``).
"""
from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
import scipy.sparse
import sympy

import gpunet as gn
from gpunet.codegen.cuda.codegen import UnsupportedByCuda
from gpunet.codegen.cuda.synapse import _SynapseWriter, synapse_unit
from gpunet.codegen.plan import Op
from gpunet.errors import ModelError, StructureError
from gpunet.io.api import read_state
from gpunet.io.check import check_state

RATE_SYNAPSE = dict(
    parameters="eta = 0.05 : projection\ntau_alpha = 4.0 : postsynaptic\nbeta = 0.1 : postsynaptic",
    equations="tau_alpha * dalpha/dt + alpha = post.r - beta : postsynaptic\n"
              "dw/dt = eta * (pre.r * post.r - alpha * w)")
pytestmark = pytest.mark.filterwarnings("ignore:.*does not use sum")
# pre -> post pattern: post neuron 2 has no synapse (first dimension: pre ranks)
PATTERN = np.array([[1, 0, 0, 1], [1, 1, 0, 0], [0, 1, 0, 1]], dtype=float)


def _rate_network(seed: int = 1, backend: str = "numpy") -> tuple[gn.Network, gn.Projection]:
    net = gn.Network(dt=1.0, seed=seed, backend=backend)
    neuron = gn.Neuron(parameters="b = 0.0", equations="r = b")
    pre = net.create(3, neuron, name="pre")
    post = net.create(4, neuron, name="post")
    pre.b = [0.2, 0.5, 0.9]
    post.b = [0.3, 0.7, 1.1, 0.4]
    proj = net.connect(pre, post, "exc", gn.Synapse(**RATE_SYNAPSE), name="sg")
    proj.connect_from_sparse(scipy.sparse.csr_matrix(PATTERN * 0.5))
    net.compile()
    proj.tau_alpha = [2.0, 3.0, 5.0]   # one per post neuron with synapses: 0, 1, 3
    return net, proj


# ------------------------------------------------------------------ model language
def test_the_flag_in_text_and_object_syntax():
    text = gn.Synapse(**RATE_SYNAPSE).spec
    objects = gn.Synapse(parameters=dict(eta=0.05, tau_alpha=gn.Parameter(4.0, locality="semiglobal"),
                                         beta=gn.Parameter(0.1, locality="semiglobal")),
                         equations=[gn.Variable("tau_alpha * dalpha/dt + alpha = post.r - beta",
                                                locality="semiglobal"),
                                    "dw/dt = eta * (pre.r * post.r - alpha * w)"]).spec
    for spec in (text, objects):
        assert spec.semiglobal_names == ["tau_alpha", "beta", "alpha"]
        assert spec.global_names == ["eta"] and spec.local_names == ["w"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(parameters="a = 1.0 : postsynaptic", equations="r = a"), "'postsynaptic'.*is for synapses"),
    (dict(equations="dx/dt = w - x : postsynaptic"), "cannot depend on the synapse-specific w"),
    (dict(equations="x = pre.r : postsynaptic"), "cannot depend on pre-synaptic"),
    (dict(parameters="a = 1.0 : postsynaptic", equations="g = a : projection"),
     "global variable 'g' cannot depend on a postsynaptic"),
    (dict(parameters="tau = 5.0 : projection", equations="tau * dx/dt = -x : postsynaptic, event-driven",
          pre_spike="g_target += w"), "cannot be event-driven"),
    (dict(equations="x = 1.0 : postsynaptic", pre_spike="g_target += w\nx += 1.0"), "assigned only by its"),
    (dict(parameters="a = 1.0 : postsynaptic, projection"), "exclude each other"),
])
def test_annarchys_locality_rules(kwargs, message):
    factory = gn.Neuron if "r = a" in kwargs.get("equations", "") else gn.Synapse
    with pytest.raises(ModelError, match=message):
        factory(**kwargs)


# ------------------------------------------------------------------ dynamics
def test_array_code_matches_a_loop_per_post_neuron_then_per_synapse():
    net, proj = _rate_network()
    post_ranks = [0, 1, 3]
    pre_r, post_r = np.array([0.2, 0.5, 0.9]), np.array([0.3, 0.7, 1.1, 0.4])
    tau = {0: 2.0, 1: 3.0, 3: 5.0}
    alpha = {k: 0.0 for k in post_ranks}
    w = {(i, j): 0.5 for i in range(3) for j in range(4) if PATTERN[i, j]}
    for _ in range(6):
        for j in post_ranks:   # the semiglobal equation, once per post neuron, first
            alpha[j] = alpha[j] + ((post_r[j] - alpha[j] - 0.1) / tau[j]) * 1.0
        for (i, j), value in w.items():   # then the synapses, reading their post neuron's new alpha
            w[(i, j)] = value + (0.05 * (post_r[j] * pre_r[i] - alpha[j] * value)) * 1.0
    net.simulate(6.0)
    assert proj.post_ranks == post_ranks
    np.testing.assert_allclose(proj.alpha, [alpha[j] for j in post_ranks], rtol=1e-14)
    expected_w = [[w[(i, j)] for i in range(3) if PATTERN[i, j]] for j in post_ranks]
    for row, expected in zip(proj.w, expected_w):
        np.testing.assert_allclose(row, expected, rtol=1e-14)


def test_events_and_psp_read_the_value_of_their_post_neuron():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    source = gn.SpikeSourceArray([[2.0], [2.0]], network=net, name="src")
    target = net.create(3, gn.Izhikevich, name="target")   # I = g_exc + ...: the step's arrivals
    synapse = gn.Synapse(parameters="gain = 1.0 : postsynaptic", pre_spike="g_target += gain * w",
                         post_spike="w += 0.0")
    proj = net.connect(source, target, "exc", synapse, name="sg_spiking")
    proj.connect_all_to_all(weights=1.0)
    monitor = net.monitor(target, "I")
    net.compile()
    proj.gain = [1.0, 2.0, 3.0]
    proj.dendrite(1).gain = 5.0
    assert proj.gain == [1.0, 5.0, 3.0] and proj.dendrite(2).gain == 3.0
    net.simulate(5.0)
    arrivals = monitor.get("I")
    assert arrivals.max(axis=0).tolist() == [2.0, 10.0, 6.0]   # two pre neurons, weight 1, gain of the post neuron

    rate = gn.Network(dt=1.0, seed=1, backend="numpy")
    inp = rate.create(2, gn.Neuron(parameters="b = 1.0", equations="r = b"), name="inp")
    out = rate.create(2, gn.Neuron(equations="r = sum(exc)"), name="out")
    scaled = gn.Synapse(parameters="k = 1.0 : postsynaptic", psp="k * w * pre.r")
    p = rate.connect(inp, out, "exc", scaled, name="psp")
    p.connect_all_to_all(weights=0.5)
    rate.compile()
    p.k = [2.0, 4.0]
    rate.simulate(2.0)   # the inputs' r of the first step reach the outputs in the second
    assert out.r.tolist() == [2.0, 4.0]   # two inputs of rate 1, weight 0.5, times k of the post neuron


def test_values_are_set_per_post_row_and_survive_a_reconnection_of_other_rows():
    net, proj = _rate_network()
    with pytest.raises(ValueError, match=r"expected an array of shape \(3,\)"):
        proj.tau_alpha = [1.0, 2.0, 3.0, 4.0]
    assert proj.tau_alpha == [2.0, 3.0, 5.0]
    assert proj.device_view("tau_alpha").shape == (4,)   # one per post neuron of the population
    proj.beta = 0.25
    assert proj.beta == [0.25, 0.25, 0.25]


def test_the_cuda_generator_emits_a_kernel_per_post_neuron_before_the_synapse_kernel():
    unit = synapse_unit(gn.Synapse(**RATE_SYNAPSE).spec)
    semiglobal, synapses = unit.kernels["semiglobal"], unit.kernels["continuous"]
    roles = {p.name: (p.role, p.key, p.ctype) for p in semiglobal.params}
    # the semiglobal element reads and writes its own arrays (over the post population) and post.r, nothing per synapse
    assert roles["a_alpha"] == ("attr", "alpha", "double*") and roles["a_tau_alpha"][2] == "const double*"
    assert roles["post_a_r"] == ("post", "r", "const double*") and not any(p.role == "pre" for p in semiglobal.params)
    assert "a_alpha[post] = l_alpha;" in unit.body
    # the synapse-wise equation reads the semiglobal value at its post rank and never writes it
    assert {p.name: p.ctype for p in synapses.params}["a_alpha"] == "const double*"
    assert "const double l_alpha = a_alpha[post];" in unit.body


def test_writing_a_postsynaptic_variable_outside_its_equation_is_refused_by_the_generator():
    spec = gn.Synapse(**RATE_SYNAPSE).spec
    writer = _SynapseWriter(spec, "double", "equations")
    with pytest.raises(UnsupportedByCuda, match="postsynaptic variable 'alpha' only in its own equation"):
        writer.bind([Op("assign", "alpha", sympy.Float(1.0))])


def test_a_network_of_two_models_that_differ_only_by_the_flag_gets_two_units():
    """Same statements, ``gain`` per post neuron in one and per synapse in the other: two units of kernels."""
    from gpunet.codegen.cuda.codegen import network_units
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    source = gn.SpikeSourceArray([[1.0], [2.0]], network=net, name="src")
    target = net.create(3, gn.Izhikevich, name="target")
    for flag, name in ((" : postsynaptic", "per_post"), ("", "per_synapse")):
        synapse = gn.Synapse(parameters=f"gain = 1.0{flag}", pre_spike="g_target += gain * w")
        net.connect(source, target, "exc", synapse, name=name).connect_all_to_all(weights=1.0)
    bodies = [unit.body for unit in network_units(net) if unit.kind == "synapse"]
    assert len(bodies) == 2
    assert "l_gain = a_gain[post];" in bodies[0] and "l_gain = a_gain[s];" in bodies[1]


@pytest.mark.gpu
def test_on_the_gpu_the_projection_runs_kernels_and_continues_bit_for_bit(tmp_path):
    reference, reference_proj = _rate_network()
    reference.simulate(6.0)
    device, device_proj = _rate_network(backend="cupy")
    assert device.fused is not None and "sg" in device.fused.fused   # kernels="auto": the generated kernels run
    device.simulate(3.0)
    device.save(tmp_path / "mid.npz")
    resumed, resumed_proj = _rate_network(backend="cupy")
    resumed.load(tmp_path / "mid.npz")
    resumed.simulate(3.0)
    for name in ("alpha", "w", "tau_alpha"):
        assert getattr(resumed_proj, name) == getattr(reference_proj, name), name


# ------------------------------------------------------------------ files
@pytest.mark.parametrize("suffix", [".npz", ".txt", ".gz", ".mat", ".shards"])
def test_every_format_round_trips_one_value_per_post_row_and_restarts_bit_for_bit(tmp_path, suffix):
    straight, straight_proj = _rate_network()
    straight.simulate(10.0)
    first, _ = _rate_network()
    first.simulate(5.0)
    path = tmp_path / f"state{suffix}"
    first.save(path)
    state = read_state(path)
    saved = state.projection("sg")
    assert sorted(saved.semiglobal) == ["alpha", "beta", "tau_alpha"]
    assert saved.values["tau_alpha"].tolist() == [2.0, 3.0, 5.0] and saved.values["alpha"].shape == (3,)
    assert check_state(state, str(path)) == []
    resumed, resumed_proj = _rate_network(seed=9)
    resumed.simulate(2.0)
    resumed.load(path)
    resumed.simulate(5.0)
    for name in ("alpha", "tau_alpha", "beta", "w"):
        assert getattr(resumed_proj, name) == getattr(straight_proj, name), name


def test_annarchys_layout_is_a_plain_list_per_post_row(tmp_path):
    net, proj = _rate_network()
    net.simulate(3.0)
    net.save(tmp_path / "s.txt")
    with open(tmp_path / "s.txt", "rb") as handle:
        desc = pickle.load(handle)["sg"]
    assert desc["post_ranks"] == [0, 1, 3]
    assert desc["tau_alpha"] == [2.0, 3.0, 5.0] and desc["alpha"] == proj.alpha
    assert isinstance(desc["w"], (list, np.ndarray)) and len(desc["w"]) == 3 and len(desc["w"][0]) == 2


def test_a_file_without_one_value_per_post_row_is_refused(tmp_path):
    net, proj = _rate_network()
    net.save(tmp_path / "s.txt")
    with open(tmp_path / "s.txt", "rb") as handle:
        content = pickle.load(handle)
    content["sg"]["alpha"] = [0.1, 0.2]   # two values for three post rows
    content["_gpunet"]["objects"]["sg"]["semiglobal"] = ["tau_alpha", "beta", "alpha"]
    bad = tmp_path / "bad.txt"
    bad.write_bytes(pickle.dumps(content, protocol=5))
    before = proj.alpha
    with pytest.raises(gn.errors.FormatError, match="'alpha'.*one value per post neuron with synapses \\(3\\)"):
        net.load(bad)
    assert proj.alpha == before
    state = read_state(tmp_path / "s.txt")
    state.projection("sg").values["alpha"] = np.zeros(5)
    assert any("'alpha' (one value per post row): expected shape (3,)" in p for p in check_state(state))


def test_per_synapse_values_for_a_semiglobal_attribute_are_refused_and_change_nothing(tmp_path):
    net, proj = _rate_network()
    local = gn.Network(dt=1.0, seed=1, backend="numpy")
    neuron = gn.Neuron(parameters="b = 0.0", equations="r = b")
    local.create(3, neuron, name="pre"), local.create(4, neuron, name="post")
    as_local = dict(RATE_SYNAPSE, parameters=RATE_SYNAPSE["parameters"].replace(": postsynaptic", ""),
                    equations=RATE_SYNAPSE["equations"].replace(" : postsynaptic", ""))
    other = local.connect(local.populations[0], local.populations[1], "exc", gn.Synapse(**as_local), name="sg")
    other.connect_from_sparse(scipy.sparse.csr_matrix(PATTERN * 0.5))
    local.compile()
    local.save(tmp_path / "local.npz")
    before = proj.alpha
    with pytest.raises(StructureError, match="'alpha'.*one value per post neuron"):
        net.load(tmp_path / "local.npz")
    assert proj.alpha == before
    # the other way round: values per post row spread over the synapses of their row
    net.simulate(2.0)
    net.save(tmp_path / "semiglobal.npz")
    local.load(tmp_path / "semiglobal.npz")
    assert other.tau_alpha == [[2.0, 2.0], [3.0, 3.0], [5.0, 5.0]]


def test_the_compiled_runner_runs_such_a_network_bit_for_bit(caplog):
    from gpunet.codegen.runtime.host_build import find_compiler
    if find_compiler() is None:
        pytest.skip("no host C++ compiler")
    reference, reference_proj = _rate_network()
    reference.simulate(4.0)
    net = gn.Network(dt=1.0, seed=1, backend="numpy", runner="compiled")
    neuron = gn.Neuron(parameters="b = 0.0", equations="r = b")
    pre, post = net.create(3, neuron, name="pre"), net.create(4, neuron, name="post")
    pre.b, post.b = [0.2, 0.5, 0.9], [0.3, 0.7, 1.1, 0.4]
    proj = net.connect(pre, post, "exc", gn.Synapse(**RATE_SYNAPSE), name="sg")
    proj.connect_from_sparse(scipy.sparse.csr_matrix(PATTERN * 0.5))
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net.compile()
    assert any(r.getMessage().startswith("runner: compiled") for r in caplog.records)
    proj.tau_alpha = [2.0, 3.0, 5.0]
    net.simulate(4.0)
    assert net.runner_in_use == "compiled"
    assert proj.alpha == reference_proj.alpha and proj.w == reference_proj.w


ANNARCHY_SIDE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import make_fixtures as mf, ANNarchy as ann
net = ann.Network(dt=1.0, seed=23)
_, after_compile = mf.build_semiglobal(net)
net.compile(directory=sys.argv[3], compiler_flags=mf.COMPILER_FLAGS, silent=True)
after_compile()
net.load(sys.argv[2])
proj = net.get_projection("input_output")
loaded = {"step": int(net.current_step), "alpha": list(proj.alpha), "tau_alpha": list(proj.tau_alpha)}
net.simulate(50.0)
print(json.dumps({"loaded": loaded, "alpha": list(proj.alpha), "w": [list(row) for row in proj.w]}))
"""


@pytest.mark.annarchy
@pytest.mark.slow
def test_annarchy_loads_gpunets_file_and_continues_bit_for_bit(tmp_path):
    """The fixture network, continued by gpunet, saved, loaded by ANNarchy: both go on to the same bits."""
    import importlib.util
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path
    python = os.environ.get("GPUNET_ANNARCHY_PYTHON") or (
        sys.executable if importlib.util.find_spec("ANNarchy") is not None else None)
    if python is None or not Path(python).exists():
        pytest.skip("ANNarchy is not importable (set GPUNET_ANNARCHY_PYTHON to an interpreter that has it)")
    sys.path.insert(0, str(Path(__file__).parent))
    from test_annarchy_fixtures import DATA, _expected, build
    net, _ = build(_expected("semiglobal"))
    net.load(DATA / "semiglobal" / "data.txt")
    net.simulate(50.0)
    net.save(tmp_path / "mid.txt")
    proj = net.get_projection("input_output")
    loaded = {"step": 250, "alpha": proj.alpha, "tau_alpha": proj.tau_alpha}
    net.simulate(50.0)
    env = dict(os.environ, PATH=f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([python, "-c", ANNARCHY_SIDE, str(DATA), str(tmp_path / "mid.txt"), str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    assert theirs["loaded"] == loaded
    assert theirs["alpha"] == proj.alpha and theirs["w"] == proj.w


def test_a_monitor_records_one_value_per_post_neuron():
    net, proj = _rate_network()
    monitor = net.monitor(proj, ["alpha", "w"])
    net.simulate(3.0)
    alpha, w = monitor.get("alpha"), monitor.get("w")
    assert alpha.shape == (3, 4) and w.shape == (3, proj.nb_synapses)
    assert alpha[-1][proj.post_ranks].tolist() == proj.alpha   # post neuron 2 (no synapse) is not in the files
