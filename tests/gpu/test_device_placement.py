"""Device placement and kernel fallback on the CuPy path (run on the CuPy stand-in in CI).

The stand-in refuses an array used in another device's context, so every
write below that landed on device 0 (or ran outside the network's device
context) fails here; on a real GPU it went through a peer pointer.
"""
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn
from gpunet.backend import gpu_available

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from helpers import assert_same_state, small_network, snapshot  # noqa: E402

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpu_available(1), reason="needs a second CUDA device")]


def _run(device):
    net = small_network(backend="cupy", device=device, seed=5)
    monitor = net.monitor(net.populations[1], ["v", "spike"])
    net.simulate(10.0)
    pop0, proj = net.populations[0], net.projections[0]
    pop0.v = np.linspace(-70.0, -60.0, pop0.size)          # Population assignment
    pop0[2:5].u = -14.0                                     # PopulationView assignment (indexed)
    proj.dendrite(proj.post_ranks[0]).w = 0.25              # Dendrite assignment
    proj.w = proj.w                                         # Projection assignment
    net.simulate(10.0)
    return net, monitor.get()


def test_a_network_on_device_1_keeps_every_array_there_and_matches_device_0():
    net1, recorded1 = _run(1)
    net0, recorded0 = _run(0)
    for population in net1.populations:
        arrays = [population._spiked, population._history, *population._state.values()]
        arrays += list(population._sums.values())
        assert all(a.device.id == 1 for a in arrays), population.name
    for projection in net1.projections:
        assert all(getattr(a, "device", None) is None or a.device.id == 1 for a in projection._state.values())
    assert recorded1["spike"] == recorded0["spike"]
    assert np.array_equal(recorded1["v"], recorded0["v"])
    assert_same_state(snapshot(net0), snapshot(net1))


def test_restore_onto_device_1_from_numpy_and_back(tmp_path):
    cpu = small_network(backend="numpy", seed=3)
    cpu.simulate(15.0)
    gn.save(tmp_path / "cpu.npz", network=cpu)
    gpu = small_network(backend="cupy", device=1, seed=3)
    gpu.load(tmp_path / "cpu.npz")
    assert_same_state(snapshot(cpu), snapshot(gpu))
    gpu.simulate(5.0)
    cpu.simulate(5.0)
    gn.save(tmp_path / "gpu.npz", network=gpu)
    back = small_network(backend="numpy", seed=3)
    back.load(tmp_path / "gpu.npz")
    assert_same_state(snapshot(gpu), snapshot(back))


def test_kernels_that_do_not_compile_fall_back_to_array_code_with_a_warning(monkeypatch):
    from gpunet.codegen.runtime import eligibility

    real_model_unit = eligibility.model_unit

    def broken_for_izhikevich(spec, precision, index=None):
        unit = real_model_unit(spec, precision, index) if index else real_model_unit(spec, precision)
        if unit.kind == "neuron":
            unit = dataclasses.replace(unit, body=unit.body + "\n#error injected compile error\n")
        return unit

    monkeypatch.setattr(eligibility, "model_unit", broken_for_izhikevich)
    net = small_network(backend="cupy", seed=4)  # kernels="auto": compile() attaches the fused kernels
    with pytest.warns(RuntimeWarning, match=r"pop[01] runs the array code, its generated kernels did not compile: "
                                            r".*injected compile error"):
        net.compile()
    assert sorted(net.fused.array_code) == ["pop0", "pop1"] and net.fused.fused == ["proj0"]
    reference = small_network(backend="cupy", seed=4, kernels="off")
    net.simulate(20.0)
    reference.simulate(20.0)
    assert_same_state(snapshot(reference), snapshot(net))
