"""ANNarchy 5 spellings: each one does what it does in ANNarchy 5.0.4.1."""
import logging
import re

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import ModelError, StructureError

# explicit Euler of 10 dr/dt + r = B from r = 0: r_n = B (1 - 0.9^n)
RISING = gn.Neuron(parameters="B = 1.0", equations="10.0 * dr/dt + r = B", name="Rising")


def test_create_takes_a_population_built_beforehand_and_moves_it():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    poisson = net.create(gn.PoissonPopulation(4, rates=20.0, name="input"))
    assert poisson.network is net and poisson.name == "input" and isinstance(poisson, gn.PoissonPopulation)
    assert poisson.rates.tolist() == [20.0] * 4
    built = gn.Population(3, gn.Izhikevich)
    built.v = [-60.0, -61.0, -62.0]
    copied = net.create(population=built)
    assert copied.v.tolist() == [-60.0, -61.0, -62.0] and copied.name == "pop1"  # auto names: this network's
    source = net.create(gn.SpikeSourceArray([[1.0], [2.0]], name="clock"))
    assert source.spike_times == [[1.0], [2.0]]
    assert gn.default_network().populations == []  # nothing left behind in the hidden network
    with pytest.raises(StructureError, match="give a Population alone"):
        net.create(gn.Population(2, gn.Izhikevich), name="other")
    taken = gn.Population(2, gn.Izhikevich, name="input")
    with pytest.raises(StructureError, match="'input' is already used"):
        net.create(taken)
    assert gn.default_network().populations == [gn.default_network().get_population("pop0"), taken]


def test_compile_writes_generated_code_to_directory_and_silent_hides_the_log(tmp_path, caplog):
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pop = net.create(2, gn.Izhikevich, name="exc")
    net.connect(pop, pop, "exc", gn.STDP, name="loop").connect_all_to_all(0.1)
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net.compile(directory=tmp_path / "generated", silent=True)
    assert not [r for r in caplog.records if "compiled" in r.getMessage()]
    assert (tmp_path / "generated" / "population_exc.py").read_text() == pop.generated_source
    assert "pre_event" in (tmp_path / "generated" / "projection_loop.py").read_text()
    loud = gn.Network(dt=1.0, seed=1, backend="numpy")
    loud.create(2, gn.Izhikevich)
    with caplog.at_level(logging.INFO, logger="gpunet"):
        loud.compile()
    assert [r for r in caplog.records if "compiled 1 population(s)" in r.getMessage()]


def test_simulate_measure_time_time_and_current_step(capsys):
    net = gn.Network(dt=0.5, seed=1, backend="numpy")
    net.create(2, gn.Izhikevich)
    net.simulate(2.5, measure_time=True)
    assert re.search(r"Simulating 0.0025 seconds of the network took [0-9.]+ seconds", capsys.readouterr().out)
    assert net.time == 2.5 and net.current_step == 5
    gn.Population(1, gn.Izhikevich)
    gn.simulate(3.0, measure_time=True)
    assert "Simulating 0.003 seconds" in capsys.readouterr().out and gn.get_current_step() == 3


def test_misspelled_simulate_keywords_are_named():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    net.create(2, gn.Izhikevich)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'mesure_time'; did you mean 'measure_time'"):
        net.simulate(1.0, mesure_time=True)
    with pytest.raises(TypeError, match=r"'snapshot_evry'; did you mean 'snapshot_every'"):
        gn.simulate(1.0, snapshot_evry=1.0)
    assert net.current_step == 0


def test_get_populations_and_projections():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    a, b = net.create(2, gn.Izhikevich, name="a"), net.create(2, gn.Izhikevich, name="b")
    ab = net.connect(a, b, "exc", name="ab").connect_one_to_one()
    ba = net.connect(b, a, "inh", name="ba").connect_one_to_one()
    assert net.get_populations() == [a, b] and net.get_projections() == [ab, ba]
    assert net.get_population("b") is b and net.get_projection("ba") is ba
    assert net.get_projections(post=b) == [ab] and net.get_projections(pre="b") == [ba]
    assert net.get_projections(target="inh") == [ba]
    with pytest.raises(StructureError, match="no projection"):
        net.get_projections(post=a, target="exc")
    assert net.get_projections(post=a, target="exc", suppress_error=True) == []
    assert net.get_monitors() == [] and net.monitor(a, "v") is net.get_monitors()[0]


def test_population_views_as_source_and_target():
    # ANNarchy 5.0.4.1, same calls: pre[0:2] -> post[[4, 1]] all_to_all(0.5): post_ranks [1, 4], pre_ranks
    # [[0, 1], [0, 1]]; pre[[3, 2]] -> post[[4, 1]] from_matrix([[1.0, 2.0], [3.0, None]]): post_ranks [1, 4],
    # pre_ranks [[3], [3, 2]], w [[3.0], [1.0, 2.0]] (rows in view order; gpunet sorts each row by pre rank)
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pre = net.create(4, gn.Izhikevich, name="pre")
    post = net.create(5, gn.Izhikevich, name="post")
    proj = net.connect(pre[0:2], post[[4, 1]], "exc").connect_all_to_all(weights=0.5)
    assert proj.post_ranks == [1, 4] and [proj.dendrite(r).pre_ranks for r in (1, 4)] == [[0, 1], [0, 1]]
    other = net.connect(pre[[3, 2]], post[[4, 1]], "inh").connect_from_matrix([[1.0, 2.0], [3.0, None]])
    synapses = {(p, post_rank, w) for post_rank, row in zip(other.post_ranks, other.w)
                for p, w in zip(other.dendrite(post_rank).pre_ranks, row)}
    assert other.post_ranks == [1, 4] and synapses == {(3, 1, 3.0), (3, 4, 1.0), (2, 4, 2.0)}
    assert other.w == [[3.0], [2.0, 1.0]]  # row of post 4 sorted by pre rank: 2, then 3
    # views of one population: ANNarchy leaves out a neuron's pairs with itself (allow_self_connections=False)
    loop = net.connect(pre[0:3], pre[1:4], "exc").connect_all_to_all(weights=1.0)
    assert [loop.dendrite(r).pre_ranks for r in loop.post_ranks] == [[0, 2], [0, 1], [0, 1, 2]]
    both = net.connect(pre[0:3], pre[1:4], "inh").connect_all_to_all(weights=1.0, allow_self_connections=True)
    assert [both.dendrite(r).pre_ranks for r in both.post_ranks] == [[0, 1, 2]] * 3
    net.simulate(1.0)  # compiles and runs


def test_simulate_until_stops_on_the_stop_condition():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    fast = net.create(2, RISING, stop_condition="r > 0.5 : any", name="fast")
    fast.B = [1.0, 0.5]
    assert net.simulate_until(100.0, fast) == 7.0  # 1 - 0.9^7 = 0.52 > 0.5 > 1 - 0.9^6
    assert net.current_step == 7
    every = gn.Network(dt=1.0, seed=1, backend="numpy")
    both = every.create(2, RISING, stop_condition="r > 0.5")
    both.B = [1.0, 0.5]
    assert every.simulate_until(30.0, both) == 30.0  # neuron 1 never exceeds 0.5: runs to the end
    pair = gn.Network(dt=1.0, seed=1, backend="numpy")
    slow = pair.create(1, RISING, stop_condition="r > 0.8")
    quick = pair.create(1, RISING, stop_condition="r > 0.5")
    assert pair.simulate_until(100.0, [slow, quick], operator="or") == 7.0
    assert pair.simulate_until(100.0, [slow, quick], operator="and") == 9.0  # 1 - 0.9^16 > 0.8
    with pytest.raises(ModelError, match="invalid stop_condition"):
        pair.create(1, RISING, stop_condition="q > 1")


def test_simulate_until_spiked_any():
    ramp = gn.Neuron(equations="dv/dt = 1.0", spike="v > 3.0", reset="v = 0.0", name="Ramp")
    net = gn.Network(dt=0.5, seed=1, backend="numpy")
    pop = net.create(2, ramp, stop_condition="spiked : any")
    # v = 0.5 per step: 3.5 > 3.0 after 7 steps, then reset to 0
    assert net.simulate_until(100.0, pop) == 3.5 and net.current_step == 7
    assert gn.simulate_until(100.0, pop) == 3.5 and net.current_step == 14  # module level: pop's own network


def stdp_network():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pre = net.create(gn.SpikeSourceArray([[float(t) for t in range(2, 100, 7)]]))
    post = net.create(1, gn.Izhikevich)
    post.i_offset = 20.0
    proj = net.connect(pre, post, "exc", gn.STDP).connect_all_to_all(weights=0.5)
    return net, proj


def test_disable_learning_freezes_the_weights_but_not_the_traces():
    net, proj = stdp_network()
    learning, _ = stdp_network()
    net.disable_learning()
    assert not proj.learning
    net.simulate(60.0)
    learning.simulate(60.0)
    assert proj.w == [[0.5]] and learning.projections[0].w != [[0.5]]
    assert proj.x == learning.projections[0].x and proj.x[0][0] > 0  # traces go on, as in ANNarchy
    net.enable_learning()
    net.simulate(40.0)
    assert proj.w != [[0.5]]


def test_disable_learning_before_compile_and_rate_coded_projections():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pre = net.create(2, RISING)
    post = net.create(2, gn.Neuron(equations="r = sum(exc)"))
    proj = net.connect(pre, post, "exc", gn.Oja).connect_all_to_all(weights=0.25)
    gn.disable_learning([proj])  # acts on proj's own network, before compile
    net.simulate(20.0)
    # post.r = sum(exc) of the pre rates of the previous step: 2 x 0.25 x (1 - 0.9^19)
    assert proj.w == [[0.25, 0.25], [0.25, 0.25]] and post.r.tolist() == pytest.approx([0.5 * (1 - 0.9 ** 19)] * 2)
    proj.enable_learning()
    net.simulate(5.0)
    assert proj.w != [[0.25, 0.25], [0.25, 0.25]]
    with pytest.raises(NotImplementedError, match="period"):
        proj.enable_learning(period=10.0)
