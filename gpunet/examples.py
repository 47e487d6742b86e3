"""Example networks used by the demo, the benchmarks and the tests."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from gpunet.model.builtin_neurons import Izhikevich
from gpunet.model.builtin_synapses import STDP
from gpunet.network.distributions import Uniform
from gpunet.network.network import Network


def reference_network(neurons: int = 1000, probability: Optional[float] = None, seed: int = 42,
                      backend: str = "auto", device: Optional[int] = None, dt: float = 1.0, noise: float = 2.0,
                      delay: float = 2.0, precision: str = "float64", kernels: str = "auto",
                      comm: Any = None) -> Network:
    """Two Izhikevich populations connected with STDP (the reference's example network).

    ``pop0`` (``i_offset`` spread over 0..12 plus noise, about 13 Hz) projects
    onto ``pop1`` (``i_offset`` 2 plus noise) through ``proj0`` (STDP with
    ``w_max`` 3, delay ``delay`` ms), which drives ``pop1`` to a few Hz so that
    the weights learn.  With ``probability`` None each post neuron receives
    about 100 synapses.  ``comm``: simulated by the processes of an MPI
    communicator (see :class:`~gpunet.Network`).
    """
    net = Network(dt=dt, seed=seed, backend=backend, device=device, precision=precision, kernels=kernels,
                  comm=comm)
    pop0 = net.create(neurons, Izhikevich, name="pop0")
    pop1 = net.create(neurons, Izhikevich, name="pop1")
    proj = net.connect(pop0, pop1, "exc", STDP(w_max=3.0, A_plus=0.05, A_minus=0.0525), name="proj0")
    p = probability if probability is not None else min(1.0, 100.0 / neurons)
    proj.connect_fixed_probability(p, weights=Uniform(0.0, 1.5), delays=delay)
    pop0.i_offset = np.linspace(0.0, 12.0, neurons)
    pop1.i_offset = 2.0
    pop0.noise = noise
    pop1.noise = noise
    return net
