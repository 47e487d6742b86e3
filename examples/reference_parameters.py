"""The network of the reference's section 2.15.1 ("Global parameters"), and its parameter file.

Two populations of Izhikevich neurons with AMPA and NMDA conductances,
``pop0`` and ``pop1``, whose parameters ``a, b, c, d, tau_ampa, tau_nmda,
v_rev, v_thresh`` are global, connected by ``proj0``: an STDP synapse with
the global parameters ``tau_plus, tau_minus, A_plus, A_minus, w_max``.
``save_parameters`` on this network writes the reference's JSON, value for
value.

Run it to write the file (default ``network.json``)::

    python examples/reference_parameters.py [network.json]

then read it back, with the ``"network"`` dictionary used as the reference
shows::

    params = gn.load_parameters("network.json")
    pop1.r = gn.Uniform(params["pop1_r_min"], params["pop1_r_max"])
"""
from __future__ import annotations

import sys
from typing import Optional

import numpy as np

import gpunet as gn

IzhikevichAmpaNmda = gn.Neuron(
    parameters="""
        a = 0.02 : population
        b = 0.2 : population
        c = -65.0 : population
        d = 8.0 : population
        tau_ampa = 5.0 : population
        tau_nmda = 150.0 : population
        v_rev = 0.0 : population
        v_thresh = 30.0 : population
        i_offset = 0.0
    """,
    equations="""
        I = g_ampa * (v_rev - v) + g_nmda * nmda(v, -80.0, 60.0) * (v_rev - v) + i_offset
        tau_ampa * dg_ampa/dt = -g_ampa : exponential
        tau_nmda * dg_nmda/dt = -g_nmda : exponential
        dv/dt = 0.04 * v^2 + 5.0 * v + 140.0 - u + I : init = c
        du/dt = a * (b * v - u) : init = b * c
    """,
    spike="v >= v_thresh",
    reset="""
        v = c
        u += d
    """,
    functions="nmda(v, t, s) = ((v - t) / s)^2 / (1.0 + ((v - t) / s)^2)",
    name="IzhikevichAmpaNmda",
    description="Izhikevich neuron driven by AMPA and NMDA conductances (voltage-dependent NMDA block).",
)
"""Izhikevich (2003) neuron with conductance-based AMPA and NMDA inputs; ``i_offset`` is local."""

STDPReference = gn.Synapse(
    parameters="""
        tau_plus = 20.0 : projection
        tau_minus = 60.0 : projection
        A_plus = 0.0002 : projection
        A_minus = 6.6e-05 : projection
        w_max = 0.03 : projection
    """,
    equations="""
        tau_plus * dx/dt = -x : event-driven
        tau_minus * dy/dt = -y : event-driven
    """,
    pre_spike="""
        g_target += w
        x += A_plus * w_max
        w = clip(w + y, 0.0, w_max)
    """,
    post_spike="""
        y -= A_minus * w_max
        w = clip(w + x, 0.0, w_max)
    """,
    name="STDP",
    description="Online STDP with weights kept in [0, w_max].",
)
"""Online STDP whose only parameters are the five the reference's file lists."""


def build(network: Optional[gn.Network] = None, size: int = 100) -> gn.Network:
    """Create the reference's network in ``network`` (default: the default network).

    Parameters
    ----------
    network : Network, optional
        Where to create the objects; None uses the module-level network.
    size : int
        Neurons per population.

    Returns
    -------
    Network
        The network holding ``pop0``, ``pop1`` and ``proj0`` (connected, not
        compiled), whose global parameters are the reference's values.

    Examples
    --------
    >>> import gpunet as gn
    >>> net = build(gn.Network(backend="numpy", seed=1), size=10)
    >>> net.get_population("pop0").a, net.get_projection("proj0").A_minus
    (0.1, 6.6e-05)
    """
    net = network if network is not None else gn.default_network()
    pop0 = net.create(size, IzhikevichAmpaNmda(a=0.1), name="pop0")
    pop1 = net.create(size, IzhikevichAmpaNmda, name="pop1")
    proj0 = net.connect(pop0, pop1, "ampa", STDPReference, name="proj0")
    proj0.connect_fixed_probability(0.1, weights=gn.Uniform(0.0, 0.03), delays=2.0)
    pop0.i_offset = np.linspace(0.0, 12.0, size)
    return net


def main(argv: Optional[list[str]] = None) -> None:
    """Build the network and write its parameters to ``argv[0]`` (default ``network.json``)."""
    arguments = sys.argv[1:] if argv is None else argv
    target = arguments[0] if arguments else "network.json"
    net = build(gn.Network(dt=1.0, seed=42, backend="auto"))
    net.save_parameters(target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
