"""The state protocol's load side: Population/Projection/Network.load_state_dict and what prepares for it."""
import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import StructureError


def build(seed: int = 3) -> gn.Network:
    net = gn.Network(dt=1.0, seed=seed, backend="numpy")
    drive = gn.PoissonPopulation(8, rates=400.0, name="drive", network=net)
    izh = net.create(6, gn.Izhikevich(noise=2.0, tau_refrac=2.0, i_offset=6.0), name="izh")
    net.connect(drive, izh, "exc", gn.STDP, name="stdp").connect_fixed_probability(
        0.5, weights=gn.Uniform(0.5, 2.0), delays=gn.Uniform(1.0, 4.0))
    return net


def host_state(obj, step=None) -> dict:
    arrays = obj.state_dict(step) if step is not None else obj.state_dict()
    return {key: obj.network.backend.to_host(array) for key, array in arrays.items()}


def transfer(source: gn.Network, target: gn.Network) -> None:
    """Everything of ``source`` into ``target`` through the public protocol alone (Network.state_dict)."""
    saved = source.state_dict()
    step, to_host = saved["step"], source.backend.to_host
    assert step == source.get_current_step() and saved["seed"] == source.seed
    twins = dict(zip(source.populations + source.projections, target.populations + target.projections))
    objects = {}
    for obj, arrays in saved["objects"].items():
        state = {key: to_host(array) for key, array in arrays.items()}
        if obj in source.populations:
            history = state.pop("_spike_history", None)
            state["_spike_history"] = twins[obj].prepare_spike_history(history, step, obj.spike_history_depth)
        objects[twins[obj]] = state
    target.load_state_dict(objects, step=step, seed=saved["seed"])


def fingerprint(net: gn.Network) -> dict:
    step = net.get_current_step()
    prints = {"step": step, "seed": net.seed}
    for obj in net.populations + net.projections:
        state = host_state(obj, step) if obj in net.populations else host_state(obj)
        prints.update({(obj.name, key): value for key, value in state.items()})
    return prints


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=str(key))


def test_a_network_loaded_through_the_protocol_continues_bit_identically():
    run = build()
    run.simulate(25.0)
    other = build()
    other.reseed(99)  # another seed: the load must bring the seed back, and the noise streams with it
    transfer(run, other)
    assert_same(fingerprint(other), fingerprint(run))
    run.simulate(30.0)
    other.simulate(30.0)
    assert_same(fingerprint(other), fingerprint(run))
    assert np.any(fingerprint(run)[("izh", "_last_spike")] > 25)  # the continuation spiked


def test_a_spike_history_comes_back_by_age_in_a_deeper_ring():
    net = build()
    net.compile()
    pop = net.get_population("izh")
    depth = pop.spike_history_depth
    history = np.zeros((3, pop.size), dtype=bool)
    history[0, 1] = history[2, 4] = True  # spikes of steps 6 and 4, loaded at step 7
    pop.load_state_dict({"_spike_history": pop.prepare_spike_history(history, 7, depth + 5)})
    assert pop.spike_history_depth == depth + 5
    by_age = net.backend.to_host(pop.state_dict(7)["_spike_history"])
    expected = np.zeros((depth + 5, pop.size), dtype=bool)
    expected[:3] = history
    np.testing.assert_array_equal(by_age, expected)


def test_prepare_spike_history_refuses_a_shorter_ring_or_other_values():
    net = build()
    pop = net.get_population("drive")
    depth = pop.spike_history_depth  # before compile: the depth compile will allocate
    assert depth == max(net.get_projection("stdp").max_delay, 1)
    with pytest.raises(ValueError, match="shorter"):
        pop.prepare_spike_history(None, 0, depth - 1)
    with pytest.raises(ValueError, match="booleans of shape"):
        pop.prepare_spike_history(np.zeros((2, pop.size)), 0, depth)
    with pytest.raises(ValueError, match="booleans of shape"):
        pop.prepare_spike_history(np.zeros((2, pop.size + 1), dtype=bool), 0, depth)


def test_load_state_dict_checks_everything_before_changing_anything():
    net = build()
    net.simulate(10.0)
    twin = build()
    twin.simulate(10.0)
    before = fingerprint(net)
    pop, proj = net.get_population("izh"), net.get_projection("stdp")
    good = {"v": np.full(pop.size, -50.0)}
    bad_cases = [
        ({pop: good, proj: {"w": np.zeros(proj.nb_synapses + 1)}}, "expected a host array of float64"),
        ({pop: good, proj: {"w": np.zeros(proj.nb_synapses, dtype=np.float32)}}, "float64"),
        ({pop: {**good, "nothing": np.zeros(pop.size)}}, "no array 'nothing'"),
        ({pop: {"_spike_history": twin.get_population("izh").prepare_spike_history(None, 10, 4)}},
         "prepare_spike_history"),
        ({twin.get_population("izh"): good}, "not an object of this network"),
    ]
    for objects, message in bad_cases:
        with pytest.raises(StructureError, match=message):
            net.load_state_dict(objects)
        assert_same(fingerprint(net), before)
    with pytest.raises(StructureError, match="step counter"):
        net.load_state_dict({pop: good}, step=-1)
    assert_same(fingerprint(net), before)
    with pytest.raises(StructureError, match="seed"):
        pop.network.load_state_dict({pop: good}, seed=2 ** 64)
    assert_same(fingerprint(net), before)


def test_population_load_state_dict_compiles_and_copies():
    net = build()
    pop = net.get_population("izh")
    assert pop.state_layout()["v"] == ((6,), np.dtype(np.float64))
    assert pop.state_layout()["_refractory"] == ((6,), np.dtype(np.int32))
    pop.load_state_dict({"v": np.arange(6.0), "_last_spike": np.full(6, 3, dtype=np.int64)})
    assert net.compiled
    assert pop.v.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert net.backend.to_host(pop.state_dict(0)["_last_spike"]).tolist() == [3] * 6


def test_spike_times_are_prepared_then_swapped_in():
    net = gn.Network(backend="numpy", seed=1)
    source = gn.SpikeSourceArray([[1.0], [2.0, 3.0]], name="src", network=net)
    prepared = source.prepare_spike_times([[5.0], []])
    assert source.spike_times == [[1.0], [2.0, 3.0]]  # preparing changes nothing
    with pytest.raises(ValueError, match="neuron 1"):
        source.prepare_spike_times([[1.0], [-1.0]])
    source.load_state_dict({"_spike_times": prepared})
    assert source.spike_times == [[5.0], []]


def test_a_prepared_connectivity_replaces_the_synapses_and_their_values():
    net = build()
    proj = net.get_projection("stdp")
    post, pre, steps = proj.synapse_arrays()
    assert proj.synapse_arrays()[0] is post  # the same objects until the connectivity changes
    assert not post.flags.writeable and not pre.flags.writeable and not steps.flags.writeable
    tau_plus = proj.tau_plus
    prepared = proj.prepare_connectivity(np.array([0, 0, 3]), np.array([1, 5, 2]), np.array([1, 2, 1]),
                                         {"w": np.array([0.1, 0.2, 0.3])})
    assert proj.nb_synapses == len(post)  # preparing changes nothing
    proj.load_state_dict({"_connectivity": prepared})
    assert net.compiled
    assert proj.nb_synapses == 3 and proj.synapse_arrays()[0] is not post
    assert proj.w == [[0.1, 0.2], [0.3]]
    assert proj.delays == [[1.0, 2.0], [1.0]]
    assert proj.tau_plus == tau_plus  # globals keep their values
    proj.load_state_dict({"w": np.array([1.0, 2.0, 3.0])})
    assert proj.w == [[1.0, 2.0], [3.0]]


def test_longer_delays_need_a_deeper_spike_ring_in_the_same_load():
    net = build()
    net.compile()
    proj, drive = net.get_projection("stdp"), net.get_population("drive")
    longer = drive.spike_history_depth + 3
    prepared = proj.prepare_connectivity(np.array([0]), np.array([1]), np.array([longer]), {"w": np.array([1.0])})
    with pytest.raises(StructureError, match="deeper spike ring"):
        proj.load_state_dict({"_connectivity": prepared})
    assert proj.nb_synapses > 1
    ring = drive.prepare_spike_history(None, net.get_current_step(), longer)
    net.load_state_dict({proj: {"_connectivity": prepared}, drive: {"_spike_history": ring}})
    assert proj.nb_synapses == 1 and drive.spike_history_depth == longer
    net.simulate(3 * longer)
    last_event = net.backend.to_host(proj.state_dict()["_last_event"])
    assert longer <= last_event[0] < 3 * longer  # a spike arrived, the delay after it was emitted


def test_delays_in_steps_follows_the_projection_rules():
    net = build()
    proj = net.get_projection("stdp")
    assert proj.delays_in_steps(np.array([0.0, 0.4, 2.6])).tolist() == [1, 1, 3]
    with pytest.raises(StructureError, match="finite and non-negative"):
        proj.delays_in_steps(np.array([np.nan]))
    with pytest.raises(StructureError, match="at most"):
        proj.delays_in_steps(np.array([1e12]))
