"""A step graph updates all the populations of a neuron unit in one launch, with NumPy's bits.

The merged kernel (``<fn>_merged``, clocked) reads each population's update
arguments from a row of a device table (its arrays, noise keys and counter
offset) and runs, for each neuron of a block item (row, first neuron), its own
population's element function.  Compared bit for bit with NumPy on the CuPy
stand-in (the kernels run as host C++), in float64, before and after a save and
a load into a network built with another seed.
"""
import logging

import numpy as np
import pytest

import gpunet as gn
from gpunet.backend.cupy_backend import STANDIN
from gpunet.codegen.cuda.neuron import NEURON_CHUNK
from gpunet.testing.host_state import assert_same_arrays, host_arrays

pytestmark = pytest.mark.gpu

# Rate-coded, a global variable with its own one-thread kernel (kept per population, before the merged launch),
# noise read by the neuron-wise equation.
NOISY_RATE = gn.Neuron(parameters="tau = 10.0 : population\nB = 0.0\nsigma = 0.5",
                       equations="dm/dt = (1.0 - m) / tau : population\n"
                                 "tau * dv/dt + v = sum(exc) + B + sigma * Normal(0.0, 1.0)\nr = pos(v) + m",
                       name="noisy_rate")
SIZES = (NEURON_CHUNK + 44, 45, 1)  # two block items, one, one


def build(backend, seed=5):
    """Three Izhikevich populations (noise, other parameters and sizes), two of a rate-coded model with a global
    equation and noise, one IF_curr_exp population alone in its unit; static projections between them."""
    net = gn.Network(dt=0.5, seed=seed, backend=backend)
    izh = []
    for k, size in enumerate(SIZES):
        pop = net.create(size, gn.Izhikevich, name=f"izh{k}")
        pop.i_offset = np.linspace(14.0, 3.0 + k, size)
        pop.noise = 1.5 + k
        pop.a = 0.02 + 0.01 * k
        izh.append(pop)
    rates = [net.create(size, NOISY_RATE, name=f"rate{k}") for k, size in enumerate((70, 12))]
    rates[0].B = np.linspace(0.0, 1.0, 70)
    rates[1].tau = 4.0
    rates[1].sigma = 0.0  # the draw skipped: a zero parameter gates its noise
    lone = net.create(20, gn.IF_curr_exp, name="lone")
    lone.i_offset = 1.2
    net.connect(izh[0], izh[1], "exc", name="e01").connect_fixed_probability(
        0.2, weights=gn.Uniform(0.0, 2.0), delays=gn.Uniform(0.5, 3.0))
    net.connect(izh[1], izh[2], "exc", name="e12").connect_fixed_probability(0.5, weights=3.0, delays=1.0)
    net.connect(izh[0], lone, "exc", name="e0l").connect_fixed_probability(0.1, weights=0.5, delays=2.0)
    net.connect(rates[0], rates[1], "exc", name="r01").connect_fixed_probability(
        0.3, weights=gn.Uniform(-0.1, 0.2))
    net.compile()
    return net


def test_one_launch_per_neuron_unit_with_numpy_bits_before_and_after_a_load(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="gpunet"):
        device = build("cupy")
    reference = build("numpy")
    monitors = [reference.monitor(reference.populations[k], "spike") for k in range(3)]
    graph = device.step_loop.graph
    assert [[pop.name for pop, _runner in update.members] for update in graph.updates] == [
        ["izh0", "izh1", "izh2"], ["rate0", "rate1"]]
    description = ("neuron updates: 2 merged launch(es) for 5 population(s); one launch each for 'lone' "
                   "(the only population of its unit gn_IF_curr_exp_f64_clocked)")
    assert graph.description().startswith(description + "; spike propagation: ")
    assert any(description in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    # block items (row, first neuron): izh0 in two, izh1 and izh2 in one each; a row per population, its size first
    assert device.backend.to_host(graph.updates[0].items).tolist() == [[0, 0], [0, NEURON_CHUNK], [1, 0], [2, 0]]
    table = device.backend.to_host(graph.updates[0].table)
    assert table[:, 0].tolist() == list(SIZES) and len(np.unique(table[:, 1:], axis=0)) == 3
    device.simulate(60.0)
    reference.simulate(60.0)
    expected = host_arrays(reference, rings=True)
    assert all(sum(map(len, monitor.get("spike").values())) > 0 for monitor in monitors)  # all three spiked
    assert len(np.unique(expected["rate0", "r"])) > 60 and np.all(expected["rate1", "m"] > 0.0)
    assert_same_arrays(expected, host_arrays(device, rings=True))

    gn.save(tmp_path / "state.npz", network=device)
    device.simulate(40.0)
    reference.simulate(40.0)
    restored = build("cupy", seed=99)  # other connectivity, noise keys and arrays: the tables are made again
    restored.simulate(3.0)
    restored.load(tmp_path / "state.npz")
    restored.simulate(40.0)
    assert_same_arrays(host_arrays(reference, rings=True), host_arrays(device, rings=True))
    assert_same_arrays(host_arrays(reference, rings=True), host_arrays(restored, rings=True))
    assert restored.step_loop.graph.updates[0].table is not graph.updates[0].table


@pytest.mark.skipif(not STANDIN, reason="counting the graph's kernels by name needs the CuPy stand-in")
def test_the_merged_updates_run_one_kernel_per_unit_per_step():
    import cupy
    net = build("cupy")
    net.simulate(2.0)
    cupy.launches.reset()
    net.simulate(10 * net.dt)
    updates = {name: count / 10 for name, count in cupy.launches.by_kernel.items()
               if name.endswith("_merged_clocked") and "_pre_events_" not in name or name.startswith("gn_IF_curr")
               or "globals" in name}
    # the rate model's global equation keeps one thread's launch per population, before the merged launch
    assert updates == {"gn_Izhikevich_f64_merged_clocked": 1.0, "gn_noisy_rate_f64_merged_clocked": 1.0,
                       "gn_noisy_rate_f64_globals_clocked": 2.0, "gn_IF_curr_exp_f64_clocked": 1.0}, updates
