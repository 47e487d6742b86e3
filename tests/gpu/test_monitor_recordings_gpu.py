"""Monitors' recordings on the GPU: a resumed run records what the uninterrupted one does (kernels and array code)."""
import numpy as np
import pytest

import gpunet as gn

pytestmark = pytest.mark.gpu


def build(kernels: str):
    net = gn.Network(backend="cupy", seed=5, kernels=kernels)
    pop = net.create(30, gn.Izhikevich, name="exc")
    pop.i_offset = gn.Uniform(0.0, 12.0)
    proj = net.connect(pop, pop, "exc", gn.STDP, name="rec")
    proj.connect_fixed_probability(0.2, weights=0.5, delays=2.0)
    return net, (net.monitor(pop, ["spike", "v"], period=2.0), net.monitor(pop[3:9], ["spike"]),
                 net.monitor(proj, ["w"], period=5.0))


def recordings(monitors) -> list:
    return [m.get() for m in monitors]


@pytest.mark.parametrize("kernels", ["auto", "off"])
def test_resumed_gpu_run_records_like_the_uninterrupted_run(tmp_path, kernels):
    net, monitors = build(kernels)
    net.simulate(60.0)
    expected = recordings(monitors)
    net, monitors = build(kernels)
    net.simulate(20.0, snapshot_every=10.0, snapshot_dir=tmp_path, monitors=True)
    resumed, again = build(kernels)
    resumed.load_latest(tmp_path)
    resumed.simulate(40.0)
    found = recordings(again)
    assert sum(len(t) for t in expected[0]["spike"].values()) > 10
    for a, b in zip(expected, found):
        for key in a:
            assert a[key] == b[key] if key == "spike" else np.array_equal(a[key], b[key])
    assert isinstance(found[0]["v"], np.ndarray) and found[2]["w"].shape[0] == 12
