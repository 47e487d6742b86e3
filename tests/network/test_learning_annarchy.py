"""simulate_until and disable_learning give ANNarchy 5.0.4.1's numbers.

Measured with ANNarchy 5.0.4.1 on this network (dt = 1.0): ``fast`` = 2 neurons of
``10.0 * dr/dt + r = B`` with ``stop_condition="r > 0.5 : any"`` and ``B = [1.0, 0.5]``;
``pre`` = ``SpikeSourceArray([[2, 9, 16, ...]])``; ``post`` = 1 ``Izhikevich`` with
``i_offset = 20``; two ``STDP`` projections pre -> post (all_to_all, w = 0.5), the first
after ``disable_learning()``; then ``net.simulate_until(100.0, fast)`` and
``net.simulate(53.0)``, reading ``w``, ``x`` and ``y`` of both after each.
"""
import gpunet as gn

# ANNarchy 5.0.4.1: simulate_until returned 7.0 at step 7
ANNARCHY_UNTIL = 7.0
# ANNarchy 5.0.4.1 at step 7: (w, x, y) of the frozen and of the learning projection
ANNARCHY_AT_7 = {"frozen": (0.5, 0.008607079764250578, -0.018607079764250578),
                 "learning": (0.49860707976425056, 0.008607079764250578, -0.018607079764250578)}
# ... and at step 60
ANNARCHY_AT_60 = {"frozen": (0.5, 0.035989971583409566, -0.00810745030190085),
                  "learning": (0.4318537414590253, 0.035989971583409566, -0.00810745030190085)}


def test_simulate_until_and_disable_learning_like_annarchy():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    fast = net.create(2, gn.Neuron(parameters="B = 1.0", equations="10.0 * dr/dt + r = B"),
                      stop_condition="r > 0.5 : any", name="fast")
    pre = net.create(gn.SpikeSourceArray([[float(t) for t in range(2, 100, 7)]], name="pre"))
    post = net.create(1, gn.Izhikevich, name="post")
    frozen = net.connect(pre, post, "exc", gn.STDP, name="frozen").all_to_all(weights=0.5)
    learning = net.connect(pre, post, "exc", gn.STDP, name="learning").all_to_all(weights=0.5)
    fast.B = [1.0, 0.5]
    post.i_offset = 20.0
    frozen.disable_learning()
    projections = {"frozen": frozen, "learning": learning}
    assert net.simulate_until(100.0, fast) == ANNARCHY_UNTIL and net.current_step == 7
    for name, (w, x, y) in ANNARCHY_AT_7.items():
        assert (projections[name].w, projections[name].x, projections[name].y) == ([[w]], [[x]], [[y]]), name
    net.simulate(53.0)
    for name, (w, x, y) in ANNARCHY_AT_60.items():
        assert (projections[name].w, projections[name].x, projections[name].y) == ([[w]], [[x]], [[y]]), name
