"""Network(comm=) in one process (MPI.COMM_SELF, no mpiexec): the API, the refusals, and N = 1 equals plain.

The runs by several processes are in test_mpi_engine.py (under mpiexec).
"""
import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import GpunetError, StructureError
from gpunet.network import default
from gpunet.codegen.runtime.host_build import find_compiler

MPI = pytest.importorskip("mpi4py.MPI")


def small(comm=None, **kwargs) -> gn.Network:
    net = gn.Network(backend="numpy", seed=9, runner="numpy", comm=comm, **kwargs)
    pop = net.create(20, gn.Izhikevich, name="exc")
    pop.noise = 2.0
    pop.i_offset = gn.Uniform(3.0, 8.0)
    net.connect(pop, pop, "exc", gn.STDP, name="rec").connect_fixed_probability(0.3, weights=gn.Uniform(0.0, 1.0),
                                                                               delays=gn.Uniform(1.0, 4.0))
    return net


def test_a_communicator_of_one_process_runs_the_distributed_loop_and_matches_the_plain_network():
    plain, alone = small(), small(MPI.COMM_SELF, kernels="off")
    stop = [net.monitor(net.get_population("exc"), ["spike", "v"]) for net in (plain, alone)]
    for net in (plain, alone):
        net.simulate(60.0)
    assert alone.step_loop.kind == "distributed" and alone.runner_in_use == "numpy"
    assert alone.held_rows() is None  # one process holds everything: its saves are whole
    assert np.array_equal(alone.get_population("exc").v, plain.get_population("exc").v)
    assert alone.get_projection("rec").w == plain.get_projection("rec").w
    assert stop[1].get("spike") == stop[0].get("spike")
    assert np.array_equal(stop[1].get("v"), stop[0].get("v"))
    rec, reference = alone.get_projection("rec"), plain.get_projection("rec")
    assert rec.post_ranks == reference.post_ranks and rec.delays == reference.delays
    assert all(np.array_equal(a, b) for a, b in zip(rec.connectivity(), reference.connectivity()))
    with pytest.raises(StructureError, match="dendrite\\(\\) is not available"):
        rec.dendrite(0)
    with pytest.raises(StructureError, match="dendrite\\(\\) is not available"):
        rec.dendrites  # noqa: B018 - the property raises
    alone.use_step_loop(None)  # the default loop of a network under comm is the distributed one
    assert alone.step_loop.kind == "distributed"


def test_setup_comm_makes_the_default_network_distributed_and_module_functions_work():
    gn.clear()
    try:
        gn.setup(comm=MPI.COMM_SELF, backend="numpy", seed=4, dt=0.5)
        pop = gn.Population(8, gn.Izhikevich, name="p")
        pop.i_offset = 10.0
        gn.simulate(10.0)
        assert gn.get_time() == 10.0 and gn.get_current_step() == 20
        assert pop.network.comm is MPI.COMM_SELF  # runner "auto": the compiled loop where a compiler is found
        assert pop.network.step_loop.kind == ("compiled" if find_compiler() is not None else "distributed")
        gn.reset()
        assert gn.get_current_step() == 0 and np.array_equal(pop.v, np.full(8, -65.0))
    finally:
        gn.clear()
        default.settings.pop("comm", None)  # setup() settings outlive clear(): the next tests run without comm


def test_simulate_until_agrees_over_the_processes():
    net = gn.Network(backend="numpy", seed=1, comm=MPI.COMM_SELF)
    pop = net.create(5, gn.Izhikevich, name="p", stop_condition="spiked : any")
    pop.i_offset = 20.0
    assert net.simulate_until(100.0, pop) < 100.0
    assert pop.v.shape == (5,)


def test_what_the_distributed_engine_refuses_is_said_before_anything_changes():
    with pytest.raises(TypeError, match="mpi4py communicator.*Get_rank"):
        gn.Network(backend="numpy", comm=object())
    with pytest.raises(ValueError, match="runner must be one of"):
        gn.Network(backend="numpy", comm=MPI.COMM_SELF, runner="fast")
    net = gn.Network(backend="numpy")
    net.create(3, gn.Izhikevich)
    with pytest.raises(GpunetError, match="comm can only be given before populations exist"):
        net.setup(comm=MPI.COMM_SELF)



class OwnUpdate(gn.Population):
    """A population updating by its own code (not its model's equations): the engine cannot split it."""

    equations_update = False


class OwnTransmission(gn.Projection):
    """A projection transmitting by its own code (not a synapse model)."""

    equations_transmit = False


def test_populations_and_projections_of_an_update_of_their_own_are_refused_before_anything_changes():
    own = gn.Network(backend="numpy", comm=MPI.COMM_SELF)
    own.create(OwnUpdate(3, gn.LeakyIntegrator, name="own", network=own))
    with pytest.raises(StructureError, match="'own' \\(OwnUpdate\\) updates without its model's equations"):
        own.compile()
    assert not own.compiled and own.get_population("own").r.shape == (3,)
    transmits = gn.Network(backend="numpy", comm=MPI.COMM_SELF)
    a, b = transmits.create(3, gn.LeakyIntegrator), transmits.create(3, gn.LeakyIntegrator)
    OwnTransmission(a, b, "exc", name="own", network=transmits).connect_one_to_one(1.0)
    with pytest.raises(StructureError, match="'own' \\(OwnTransmission\\) transmits without a synapse model"):
        transmits.compile()
    assert not transmits.compiled


def test_views_sums_semiglobals_schedules_and_current_injection_run_and_match_the_plain_network():
    """In one process (the N = 1..4 runs under mpiexec: test_mpi_engine.py)."""
    runs = []
    for comm in (None, MPI.COMM_SELF):
        net = gn.Network(backend="numpy", seed=3, runner="numpy", comm=comm)
        timed = net.create(gn.TimedArray(rates=[[0.5, 1.0, 2.0], [2.0, 0.0, 1.0]], schedule=[0.0, 5.0], name="t"))
        neurons = net.create(3, gn.Izhikevich, name="neurons")
        gn.CurrentInjection(timed, neurons, "exc", name="inject", network=net).connect_current()
        a, b = net.create(3, gn.LeakyIntegrator, name="a"), net.create(3, gn.LeakyIntegrator, name="b")
        net.connect(timed, a, "exc").connect_all_to_all(0.3)
        reads = gn.Synapse(parameters="tau_alpha = 4.0 : postsynaptic",
                           equations="tau_alpha * dalpha/dt + alpha = post.sum(exc) : postsynaptic\n"
                                     "dw/dt = 0.1 * pre.sum(exc) - alpha * w")
        proj = net.connect(a, b, "exc", reads, name="reads")
        proj.connect_all_to_all(0.1)
        monitors = [net.monitor(neurons[[2, 0]], ["v", "spike"]), net.monitor(proj, ["alpha"])]
        net.compile()
        proj.tau_alpha = [2.0, 3.0, 5.0]
        net.simulate(12.0)
        runs.append([proj.w, proj.alpha, proj.tau_alpha] + [m.get() for m in monitors])
    np.testing.assert_equal(runs[0], runs[1])  # exact, element by element
    assert runs[0][2] == [2.0, 3.0, 5.0] and not np.array_equal(runs[0][3]["v"][0], runs[0][3]["v"][-1])



def test_spike_source_arrays_run():
    runs = []
    for comm in (None, MPI.COMM_SELF):
        net = gn.Network(backend="numpy", seed=2, runner="numpy", comm=comm)
        source = net.create(gn.SpikeSourceArray([[1.0, 4.0], [2.0], []], name="source"))
        target = net.create(2, gn.Izhikevich, name="target")
        net.connect(source, target, "exc").connect_all_to_all(weights=30.0, delays=1.0)
        monitor = net.monitor(target, ["v"])
        net.simulate(8.0)
        runs.append(monitor.get("v"))
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0][0], runs[0][-1])


def test_a_part_of_another_process_s_rows_is_refused_naming_the_rows(tmp_path):
    from gpunet.io.parts import read_part
    from gpunet.io.pipeline.restore import restore_state

    net = small()
    net.simulate(5.0)
    net.save(tmp_path / "whole.npz")
    before = net.get_population("exc").v
    part = read_part(tmp_path / "whole.npz", 2, 1)  # rows [10, 20) of 20
    with pytest.raises(StructureError, match=r"population 'exc': the state holds rows \[10, 20\], the network "
                                             r"holds rows \[0, 20\]"):
        restore_state(net, part, "part")
    assert np.array_equal(net.get_population("exc").v, before)


@pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler (c++, g++, clang++)")
def test_the_compiled_runner_under_comm_falls_back_for_steps_without_learning_and_binds_again(caplog):
    """One process under COMM_SELF (N = 1, 2, 3 under mpiexec: test_mpi_compiled.py): steps without learning run the
    array code, whose gathering replaces the pre-synaptic arrays; the loop binds the new ones and goes on."""
    runs = []
    for comm, runner in ((None, "numpy"), (MPI.COMM_SELF, "compiled"), (MPI.COMM_SELF, "numpy")):
        net = gn.Network(backend="numpy", seed=6, runner=runner, comm=comm)
        a = net.create(5, gn.Neuron(equations="tau * dv/dt + v = sum(exc) + Uniform(0.0, 1.0)\nr = pos(v)",
                                    parameters="tau = 5.0"), name="a")
        b = net.create(4, gn.LeakyIntegrator, name="b")
        oja = net.connect(a, b, "exc", gn.Oja(eta=0.05), name="oja")
        oja.connect_all_to_all(gn.Uniform(0.0, 0.5))
        monitor = net.monitor(b, ["r"], period=2.0)
        with caplog.at_level("INFO", logger="gpunet"):
            net.compile()
        initial = oja.w
        net.simulate(5.0)
        net.disable_learning()
        net.simulate(3.0)
        net.enable_learning()
        a.v = 0.5  # an assignment: the next step gathers the new values first
        net.simulate(6.0)
        runs.append((oja.w, a.r, b.r, monitor.get("r")))
        assert oja.w != initial  # it learned
        if comm is not None and runner == "compiled":
            assert net.runner_in_use == "compiled" and net.step_loop.array_steps == 3
            assert net.step_loop.calls == 2 * 11  # two per step run compiled
        elif comm is not None:
            assert net.runner_in_use == "numpy" and net.step_loop.kind == "distributed"
    np.testing.assert_equal(runs[0], runs[1])
    np.testing.assert_equal(runs[0], runs[2])
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("runner (process 0 of 1)")]
    assert messages == ["runner (process 0 of 1): compiled (C++ step loop of this process's blocks, two calls per "
                        "step, pre-synaptic values gathered between them)",
                        "runner (process 0 of 1): numpy (array code); the compiled runner does not run: "
                        "runner='numpy' was asked for"]
