"""OpenMP threads in the compiled CPU runner (``num_threads``): the bits of one thread, and the threads really run.

The parity networks cover every built-in model, noise, STDP with per-synapse delays and rate-coded Oja/Hebb;
the grain (least work per thread) is lowered to 1 so that these small networks split every loop that can be
split, and each run is compared bit for bit with the NumPy runner.
"""
import logging

import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.runtime import host_loop
from gpunet.codegen.runtime.host_build import find_compiler, openmp_flags
from gpunet.errors import StructureError
from gpunet.network import compiled_loop
from gpunet.testing import parity

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler (c++, g++, clang++)")
needs_openmp = pytest.mark.skipif(find_compiler() is None or not openmp_flags(),
                                  reason="the C++ compiler builds no OpenMP (-fopenmp)")


def _state(net):
    state = {}
    for pop in net.populations:
        for key, value in pop.state_dict(net.get_current_step()).items():
            state[(pop.name, key)] = np.array(value)
    for proj in net.projections:
        for key, value in proj.state_dict().items():
            state[(proj.name, key)] = np.array(value)
    return state


def _run(build, runner, threads, durations=(37.0, 150.0)):
    net = build("numpy", "float64")
    net.runner = runner
    net.num_threads = threads
    net.compile(silent=True)
    teams = []
    for duration in durations:
        net.simulate(duration, progress=False)
        teams.append(net._compiled.loop.last_team() if net._compiled is not None else 1)
    return net, _state(net), max(teams)


def _different(a, b):
    assert a.keys() == b.keys()
    return [key for key in a if not np.array_equal(a[key], b[key], equal_nan=True)]


@pytest.fixture
def split_everything(monkeypatch):
    monkeypatch.setattr(host_loop, "PARALLEL_GRAIN", 1)


@needs_openmp
@pytest.mark.parametrize("name", sorted(parity.NETWORKS))
def test_two_and_three_threads_give_the_numpy_runners_bits(name, split_everything):
    """Every loop split among 2 and 3 threads: the same state as the NumPy runner, one library for all."""
    _, reference, _ = _run(parity.NETWORKS[name], "numpy", 1)
    libraries = set()
    for threads in (1, 2, 3):
        net, state, team = _run(parity.NETWORKS[name], "compiled", threads)
        assert net.runner_in_use == "compiled"
        assert _different(reference, state) == []
        assert team == threads  # the threads did run (1: no parallel region at all)
        libraries.add(net._compiled.loop.library._name)
    assert len(libraries) == 1  # the thread count is a run-time argument: nothing rebuilt per count


@needs_openmp
@pytest.mark.parametrize("name", sorted(parity.INPUT_NETWORKS))
def test_inputs_with_three_threads_give_the_numpy_runners_bits(name, split_everything):
    reference = _run(parity.INPUT_NETWORKS[name], "numpy", 1, (60.0, 61.0))[1]
    net, state, team = _run(parity.INPUT_NETWORKS[name], "compiled", 3, (60.0, 61.0))
    assert net.runner_in_use == "compiled" and team == (1 if name == "TimedArray" else 3)  # (a schedule only)
    assert _different(reference, state) == []


@needs_openmp
def test_every_independent_loop_of_the_spiking_and_rate_networks_is_split(split_everything):
    """Neuron updates (block kernels with the noise offset), spike arrival (post ranges), post-synaptic events,
    synaptic updates and weighted sums (row ranges) each have a parallel region in the driver."""
    spiking = _run(parity.NETWORKS["spiking"], "compiled", 2, (5.0,))[0]._compiled.loop.source
    for pop in ("gn_Poisson_f64", "gn_IF_cond_exp_f64", "gn_IF_curr_exp_f64", "gn_Izhikevich_f64"):
        assert f"{pop}(gn_hi - gn_lo, step, t, dt," in spiking
    assert "gn_lo + (0), K[" in spiking  # the noise counters of a block start at its first neuron
    assert spiking.count("threads take post ranges") == 5  # every projection's spike arrival
    assert spiking.count("post-synaptic events row by row (the model reads no pre. attribute); threads") == 2
    rate = _run(parity.NETWORKS["rate"], "compiled", 2, (5.0,))[0]._compiled.loop.source
    assert rate.count("synaptic update row by row (the synapses in storage order); threads") == 2  # hebb, oja
    assert rate.count("weighted sums row by row (the rate_sum kernel's order); threads") == 1
    assert rate.count("#pragma omp parallel") == 3 + 2 + 1  # three populations, two updates, one sum


@needs_openmp
def test_small_loops_stay_on_the_calling_thread():
    """With the default grain a network of tens of neurons runs no parallel region, whatever num_threads."""
    net, state, team = _run(parity.NETWORKS["spiking"], "compiled", 3)
    assert team == 1
    assert _different(_run(parity.NETWORKS["spiking"], "numpy", 1)[1], state) == []


def test_without_openmp_one_thread_runs_and_one_line_says_so(monkeypatch, caplog):
    monkeypatch.setattr(host_loop, "openmp_flags", lambda compiler=None: ())
    monkeypatch.setattr(host_loop, "PARALLEL_GRAIN", 1)
    reference = _run(parity.NETWORKS["reference"], "numpy", 1)[1]
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net, state, team = _run(parity.NETWORKS["reference"], "compiled", 3)
    assert not net._compiled.loop.openmp and team == 1
    assert "#pragma omp parallel" in net._compiled.loop.source  # the same source, compiled without -fopenmp
    said = [r.getMessage() for r in caplog.records if "no OpenMP" in r.getMessage()]
    assert said == ["compiled runner: 3 threads asked for, but the C++ compiler builds no OpenMP (-fopenmp): "
                    "1 thread"]
    assert _different(reference, state) == []


def test_num_threads_is_checked_and_set_in_every_spelling(monkeypatch):
    monkeypatch.delenv("GPUNET_NUM_THREADS", raising=False)
    assert gn.Network(backend="numpy").num_threads == 1
    assert gn.Network(backend="numpy", num_threads=np.int64(4)).num_threads == 4
    for bad in (0, -1, 2.0, True, "two", compiled_loop.MAX_THREADS + 1):
        with pytest.raises(StructureError, match="num_threads must be an integer from 1 to 1024"):
            gn.Network(backend="numpy", num_threads=bad)
    net = gn.Network(backend="numpy", num_threads=2)
    with pytest.raises(StructureError, match="got None"):
        net.num_threads = None
    with pytest.raises(StructureError):
        net.setup(dt=0.5, num_threads=0)
    assert (net.num_threads, net.dt) == (2, 1.0)  # a refused setup() changes nothing
    net.setup(num_threads=3)
    assert net.num_threads == 3
    monkeypatch.setenv("GPUNET_NUM_THREADS", "5")
    assert gn.Network(backend="numpy").num_threads == 5
    monkeypatch.setenv("GPUNET_NUM_THREADS", "lots")
    with pytest.raises(StructureError, match="GPUNET_NUM_THREADS must be an integer from 1 to 1024.*'lots'"):
        gn.Network(backend="numpy")


def test_setup_sets_the_default_networks_threads(monkeypatch):
    from gpunet.network import default
    monkeypatch.delenv("GPUNET_NUM_THREADS", raising=False)
    monkeypatch.setattr(default, "settings", {})
    gn.clear()
    try:
        gn.setup(backend="numpy", num_threads=2)
        assert gn.default_network().num_threads == 2
        with pytest.raises(StructureError):
            gn.setup(num_threads="x")
        assert gn.default_network().num_threads == 2 and default.settings["num_threads"] == 2
        gn.clear()
        assert gn.Population(3, gn.Izhikevich).network.num_threads == 2  # kept across clear()
    finally:
        gn.clear()


@needs_openmp
def test_threads_change_between_calls_without_a_rebuild(split_everything, caplog):
    """net.num_threads set between simulate() calls: the next chunk runs on that many threads."""
    reference = _run(parity.NETWORKS["rate"], "numpy", 1, (20.0, 20.0, 20.0))[1]
    net = parity.NETWORKS["rate"]("numpy", "float64")
    net.runner = "compiled"
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net.compile()
    assert any("1 thread)" in r.getMessage() for r in caplog.records if r.getMessage().startswith("runner:"))
    library = net._compiled.loop.library
    teams = []
    for threads in (1, 3, 2):
        net.num_threads = threads
        net.simulate(20.0, progress=False)
        teams.append(net._compiled.loop.last_team())
    assert teams == [1, 3, 2] and net._compiled.loop.library is library
    assert _different(reference, _state(net)) == []


def test_the_openmp_runtime_loads_with_passive_waits_unless_the_user_chose(monkeypatch):
    """OMP_WAIT_POLICY=passive only while the runtime loads, and only when neither policy variable is set."""
    from gpunet.codegen.runtime import host_build
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    with host_build._passive_waits():
        seen = dict(host_build.os.environ)
    assert seen["OMP_WAIT_POLICY"] == "passive" and "OMP_WAIT_POLICY" not in host_build.os.environ
    for name, value in (("OMP_WAIT_POLICY", "active"), ("GOMP_SPINCOUNT", "1000")):
        monkeypatch.setenv(name, value)
        with host_build._passive_waits():
            assert host_build.os.environ.get("OMP_WAIT_POLICY") == ("active" if name == "OMP_WAIT_POLICY" else None)
        assert host_build.os.environ[name] == value
        monkeypatch.delenv(name)
