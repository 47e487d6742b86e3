"""Synaptic transmission: spikes arrive after exactly their delay; rate-coded sums are matrix products."""
import numpy as np
import pytest

import gpunet as gn

# A neuron that shows, in the step it is computed, what arrived on each target.
Probe = gn.Neuron(equations="v = g_exc\ns = g_inh", spike="v > 0.5", name="Probe")
# Rate-coded neurons: a fixed rate, and one whose rate is its summed input.
Fixed = gn.Neuron(parameters="baseline = 0.0", equations="r = baseline", name="Fixed")
Summer = gn.Neuron(equations="r = sum(exc)", name="Summer")


def run_spike_source(times, synapses, steps=12, dt=1.0):
    """Simulate a SpikeSourceArray -> Probe projection; return the recorded v (steps x post)."""
    net = gn.Network(dt=dt, seed=1, backend="numpy")
    source = gn.SpikeSourceArray(times, network=net)
    probe = net.create(max(s[1] for s in synapses) + 1, Probe)
    net.connect(source, probe, "exc").connect_from_list(synapses)
    monitor = net.monitor(probe, "v")
    net.simulate(steps * dt)
    return monitor.get("v")


@pytest.mark.parametrize("delay", [1, 2, 5])
def test_spike_emitted_at_step_t_arrives_at_step_t_plus_uniform_delay(delay):
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    source = gn.SpikeSourceArray([[3.0]], network=net)
    post = net.create(2, gn.Izhikevich)
    net.connect(source, post, "exc").connect_all_to_all(weights=0.25, delays=float(delay))
    monitor = net.monitor(post, "I")
    source_monitor = net.monitor(source, "spike")
    net.simulate(12.0)
    assert source_monitor.get("spike") == {0: [3]}
    current = monitor.get("I")
    expected = np.zeros((12, 2))
    expected[3 + delay] = 0.25  # I = g_exc - g_inh + i_offset in the step the spike arrives, then g_exc is reset
    assert np.array_equal(current, expected)


def test_per_synapse_delays_deliver_each_synapse_at_its_own_step():
    # one spike at step 2 to four post neurons with delays 1, 3, 4, 7 ms
    synapses = [(0, 0, 1.0, 1.0), (0, 1, 1.0, 3.0), (0, 2, 1.0, 4.0), (0, 3, 1.0, 7.0)]
    v = run_spike_source([[2.0]], synapses)
    arrivals = [np.nonzero(v[:, k])[0].tolist() for k in range(4)]
    assert arrivals == [[3], [5], [6], [9]]


def test_delays_in_ms_are_converted_to_steps_with_small_dt():
    v = run_spike_source([[1.0]], [(0, 0, 1.0, 1.5), (0, 1, 1.0, 0.5)], steps=12, dt=0.5)
    # emitted at step 2; 1.5 ms = 3 steps, 0.5 ms = 1 step
    assert np.nonzero(v[:, 0])[0].tolist() == [5]
    assert np.nonzero(v[:, 1])[0].tolist() == [3]


def test_spikes_arriving_together_add_their_weights():
    synapses = [(0, 0, 0.125, 2.0), (1, 0, 0.5, 1.0), (2, 0, 0.25, 2.0)]
    v = run_spike_source([[3.0], [4.0], [3.0, 6.0]], synapses)
    assert v[5, 0] == 0.125 + 0.5 + 0.25  # pre 0 and 2 (emitted at 3, delay 2), pre 1 (emitted at 4, delay 1)
    assert v[8, 0] == 0.25
    assert np.count_nonzero(v[:, 0]) == 2


def test_repeated_spikes_within_the_delay_all_arrive():
    v = run_spike_source([[1.0, 2.0, 3.0]], [(0, 0, 1.0, 4.0)])
    assert np.nonzero(v[:, 0])[0].tolist() == [5, 6, 7]


def test_each_projection_feeds_its_own_target():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    source = gn.SpikeSourceArray([[1.0]], network=net)
    probe = net.create(1, Probe)
    net.connect(source, probe, "exc").connect_all_to_all(weights=0.25, delays=1.0)
    net.connect(source, probe, "inh").connect_all_to_all(weights=2.0, delays=3.0)
    monitor = net.monitor(probe, ["v", "s"])
    net.simulate(6.0)
    assert monitor.get("v")[:, 0].tolist() == [0, 0, 0.25, 0, 0, 0]
    assert monitor.get("s")[:, 0].tolist() == [0, 0, 0, 0, 2.0, 0]


def test_rate_coded_weighted_sum_equals_the_dense_matrix_product():
    rng = np.random.default_rng(0)
    # dyadic weights and rates: every product and partial sum is exact, so any summation order agrees
    weights = rng.integers(-8, 9, size=(7, 11)) / 8.0
    weights[rng.random(weights.shape) < 0.3] = np.nan  # no synapse
    rates = rng.integers(0, 16, size=11) / 4.0
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pre = net.create(11, gn.LeakyIntegrator, name="pre")
    post = net.create(7, Summer, name="post")
    leaky = net.create(7, gn.LeakyIntegrator, name="leaky")
    net.connect(pre, post, "exc").connect_from_matrix(weights)
    net.connect(pre, leaky, "exc").connect_from_matrix(weights)
    net.compile()
    pre.device_view("r")[...] = rates  # the sum of step t uses the pre rates at the start of step t
    net.step()
    dense = np.nan_to_num(weights, nan=0.0) @ rates
    assert np.array_equal(post.r, dense)
    assert np.array_equal(leaky._sums["exc"], dense)  # sum(exc) as the LeakyIntegrator saw it


def test_rate_coded_sum_follows_plastic_weights_without_rebuilding():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pre = net.create(3, Fixed, name="pre")
    post = net.create(2, Summer, name="post")
    proj = net.connect(pre, post, "exc")
    proj.connect_all_to_all(weights=1.0)
    pre.baseline = np.array([1.0, 2.0, 4.0])
    net.simulate(2.0)
    assert post.r.tolist() == [7.0, 7.0]
    proj.w = [[0.5, 0.0, 0.25], [1.0, 1.0, 0.0]]
    net.step()
    assert post.r.tolist() == [1.5, 3.0]


def test_two_rate_projections_on_one_target_add_up():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    first, second = net.create(2, Fixed), net.create(2, Fixed)
    post = net.create(1, Summer)
    net.connect(first, post, "exc").connect_all_to_all(weights=0.5)
    net.connect(second, post, "exc").connect_all_to_all(weights=0.25)
    first.baseline, second.baseline = 2.0, 4.0
    net.simulate(2.0)
    assert post.r.tolist() == [0.5 * 4.0 + 0.25 * 8.0]
