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

def _alpha_neuron(name: str, conductance: bool) -> Neuron:
    """IF_curr_alpha / IF_cond_alpha: alpha-shaped synaptic currents or conductances (ANNarchy's equations)."""
    reversal = "\n        e_rev_E = 0.0\n        e_rev_I = -70.0" if conductance else ""
    synaptic = "alpha_exc * (e_rev_E - v) + alpha_inh * (e_rev_I - v)" if conductance else "alpha_exc - alpha_inh"
    return Neuron(
        parameters=f"""
        v_rest = -65.0
        cm = 1.0
        tau_m = 20.0
        tau_refrac = 0.0
        tau_syn_E = 5.0
        tau_syn_I = 5.0
        v_thresh = -50.0
        v_reset = -65.0
        i_offset = 0.0{reversal}
    """,
        equations=f"""
        gmax_exc = exp((tau_syn_E - dt/2.0)/tau_syn_E)
        gmax_inh = exp((tau_syn_I - dt/2.0)/tau_syn_I)
        cm * dv/dt = cm/tau_m*(v_rest - v) + {synaptic} + i_offset : exponential, init = v_reset
        tau_syn_E * dg_exc/dt = - g_exc : exponential
        tau_syn_I * dg_inh/dt = - g_inh : exponential
        tau_syn_E * dalpha_exc/dt = gmax_exc * g_exc - alpha_exc : exponential
        tau_syn_I * dalpha_inh/dt = gmax_inh * g_inh - alpha_inh : exponential
    """,
        spike="v > v_thresh",
        reset="v = v_reset",
        refractory="tau_refrac",
        name=name,
        description=f"Leaky integrate-and-fire neuron with alpha-shaped synaptic "
                    f"{'conductances' if conductance else 'currents'}.",
    )


IF_curr_alpha = _alpha_neuron("IF_curr_alpha", conductance=False)
IF_cond_alpha = _alpha_neuron("IF_cond_alpha", conductance=True)

EIF_cond_exp_isfa_ista = Neuron(
    parameters="""
        v_rest = -70.6
        cm = 0.281
        tau_m = 9.3667
        tau_refrac = 0.1
        tau_syn_E = 5.0
        tau_syn_I = 5.0
        e_rev_E = 0.0
        e_rev_I = -80.0
        tau_w = 144.0
        a = 4.0
        b = 0.0805
        i_offset = 0.0
        delta_T = 2.0
        v_thresh = -50.4
        v_reset = -70.6
        v_spike = -40.0
    """,
    equations="""
        I = g_exc * (e_rev_E - v) + g_inh * (e_rev_I - v) + i_offset
        tau_m * dv/dt = (v_rest - v + delta_T * exp((v - v_thresh)/delta_T)) + tau_m/cm*(I - w) : init = v_reset
        tau_w * dw/dt = a * (v - v_rest) / 1000.0 - w
        tau_syn_E * dg_exc/dt = - g_exc : exponential
        tau_syn_I * dg_inh/dt = - g_inh : exponential
    """,
    spike="v > v_spike",
    reset="""
        v = v_reset
        w += b
    """,
    refractory="tau_refrac",
    name="EIF_cond_exp_isfa_ista",
    description="Adaptive exponential integrate-and-fire neuron (AdEx, Brette and Gerstner 2005) with "
                "exponentially decaying conductances.",
)

HH_cond_exp = Neuron(
    parameters="""
        gbar_Na = 20.0
        gbar_K = 6.0
        gleak = 0.01
        cm = 0.2
        v_offset = -63.0
        e_rev_Na = 50.0
        e_rev_K = -90.0
        e_rev_leak = -65.0
        e_rev_E = 0.0
        e_rev_I = -80.0
        tau_syn_E = 0.2
        tau_syn_I = 2.0
        i_offset = 0.0
        v_thresh = 0.0
    """,
    equations="""
        prev_v = v
        an = 0.032 * (15.0 - v + v_offset) / (exp((15.0 - v + v_offset)/5.0) - 1.0)
        am = 0.32 * (13.0 - v + v_offset) / (exp((13.0 - v + v_offset)/4.0) - 1.0)
        ah = 0.128 * exp((17.0 - v + v_offset)/18.0)
        bn = 0.5 * exp((10.0 - v + v_offset)/40.0)
        bm = 0.28 * (v - v_offset - 40.0) / (exp((v - v_offset - 40.0)/5.0) - 1.0)
        bh = 4.0/(1.0 + exp(10.0 - v + v_offset))
        dn/dt = an * (1.0 - n) - bn * n : init = 0.0, exponential
        dm/dt = am * (1.0 - m) - bm * m : init = 0.0, exponential
        dh/dt = ah * (1.0 - h) - bh * h : init = 1.0, exponential
        cm * dv/dt = gleak*(e_rev_leak - v) + gbar_K * n**4 * (e_rev_K - v) + gbar_Na * m**3 * h * (e_rev_Na - v)
            + g_exc * (e_rev_E - v) + g_inh * (e_rev_I - v) + i_offset : exponential, init = e_rev_leak
        tau_syn_E * dg_exc/dt = - g_exc : exponential
        tau_syn_I * dg_inh/dt = - g_inh : exponential
    """,
    spike="(v > v_thresh) and (prev_v <= v_thresh)",
    name="HH_cond_exp",
    description="Single-compartment Hodgkin-Huxley neuron (Traub and Miles 1991 rates) with exponentially "
                "decaying conductances; spikes when v crosses v_thresh upwards.",
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
