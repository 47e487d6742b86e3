"""Built-in neuron models: ANNarchy 5's models, attribute for attribute.

Each is a :class:`~gpunet.Neuron` instance; calling it returns a copy with
other defaults (``Izhikevich(a=0.1, d=2.0)``).  Parameter and variable names,
their order, their flags (global or local), defaults, initial values and
integration methods are those of ANNarchy 5.0.4.1's models of the same name
(``tests/data/annarchy/models.json`` holds ANNarchy's definitions and a test
compares every model here against it), so files and scripts interchange.
"""
from __future__ import annotations

from gpunet.model.description import Neuron

Izhikevich = Neuron(
    parameters="""
        noise = 0.0
        a = 0.02
        b = 0.2
        c = -65.0
        d = 8.0
        v_thresh = 30.0
        i_offset = 0.0
        tau_refrac = 0.0
    """,
    equations="""
        I = g_exc - g_inh + noise * Normal(0.0, 1.0) + i_offset
        dv/dt = 0.04 * v^2 + 5.0 * v + 140.0 - u + I : init = c
        du/dt = a * (b*v - u) : init = b * c
    """,
    spike="v > v_thresh",
    reset="""
        v = c
        u += d
    """,
    refractory="tau_refrac",
    name="Izhikevich",
    description="Izhikevich (2003) quadratic integrate-and-fire neuron with adaptation; explicit Euler.",
)

LeakyIntegrator = Neuron(
    parameters="""
        tau = 10.0 : population
        B = 0.0
        T = 0.0 : population
    """,
    equations="""
        tau * dv/dt + v = sum(exc) - sum(inh) + B : exponential
        r = pos(v - T)
    """,
    name="LeakyIntegrator",
    description="Rate-coded leaky integrator with a rectified-linear transfer function.",
)

IF_curr_exp = Neuron(
    parameters="""
        v_rest = -65.0
        cm = 1.0
        tau_m = 20.0
        tau_refrac = 0.0
        tau_syn_E = 5.0
        tau_syn_I = 5.0
        v_thresh = -50.0
        v_reset = -65.0
        i_offset = 0.0
    """,
    equations="""
        cm * dv/dt = cm/tau_m*(v_rest - v) + g_exc - g_inh + i_offset : exponential, init = v_reset
        tau_syn_E * dg_exc/dt = - g_exc : exponential
        tau_syn_I * dg_inh/dt = - g_inh : exponential
    """,
    spike="v > v_thresh",
    reset="v = v_reset",
    refractory="tau_refrac",
    name="IF_curr_exp",
    description="Leaky integrate-and-fire neuron with exponentially decaying synaptic currents.",
)

IF_cond_exp = Neuron(
    parameters="""
        v_rest = -65.0
        cm = 1.0
        tau_m = 20.0
        tau_refrac = 0.0
        tau_syn_E = 5.0
        tau_syn_I = 5.0
        v_thresh = -50.0
        v_reset = -65.0
        i_offset = 0.0
        e_rev_E = 0.0
        e_rev_I = -70.0
    """,
    equations="""
        cm * dv/dt = cm/tau_m*(v_rest - v) + g_exc * (e_rev_E - v) + g_inh * (e_rev_I - v) + i_offset : exponential, init = v_reset
        tau_syn_E * dg_exc/dt = - g_exc : exponential
        tau_syn_I * dg_inh/dt = - g_inh : exponential
    """,
    spike="v > v_thresh",
    reset="v = v_reset",
    refractory="tau_refrac",
    name="IF_cond_exp",
    description="Leaky integrate-and-fire neuron with exponentially decaying synaptic conductances.",
)

PoissonNeuron = Neuron(
    parameters="rates = 10.0",
    equations="p = Uniform(0.0, 1.0) * 1000.0 / dt",
    spike="p < rates",
    name="Poisson",
    description="Poisson spike source: spikes with probability rates * dt / 1000 in each step.",
)

SpikeSourceNeuron = Neuron(
    spike="False",
    name="SpikeSourceArray",
    description="Emits the spikes of a list of spike times.",
)
