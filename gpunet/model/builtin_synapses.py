"""Built-in synapse models with ANNarchy's attribute names and defaults."""
from __future__ import annotations

from gpunet.model.description import Synapse

STDP = Synapse(
    parameters="""
        tau_plus = 20.0 : projection
        tau_minus = 20.0 : projection
        A_plus = 0.01 : projection
        A_minus = 0.01 : projection
        w_min = 0.0 : projection
        w_max = 1.0 : projection
    """,
    equations="""
        tau_plus * dx/dt = -x : event-driven
        tau_minus * dy/dt = -y : event-driven
    """,
    pre_spike="""
        g_target += w
        x += A_plus * w_max
        w = clip(w + y, w_min, w_max)
    """,
    post_spike="""
        y -= A_minus * w_max
        w = clip(w + x, w_min, w_max)
    """,
    name="STDP",
    description="Online spike-timing dependent plasticity (Song and Abbott, 2001).",
)

STP = Synapse(
    parameters="""
        tau_rec = 100.0 : projection
        tau_facil = 0.01 : projection
        U = 0.5
    """,
    equations="""
        dx/dt = (1 - x)/tau_rec : init = 1.0, event-driven
        du/dt = (U - u)/tau_facil : init = U, event-driven
    """,
    pre_spike="""
        g_target += w * u * x
        x *= (1 - u)
        u += U * (1 - u)
    """,
    name="STP",
    description="Short-term plasticity (Tsodyks and Markram 1997; Tsodyks, Pawelzik and Markram 1998): "
                "depression x and facilitation u, integrated exactly between spikes.",
)

Hebb = Synapse(
    parameters="eta = 0.01 : projection",
    equations="dw/dt = eta * pre.r * post.r : min = 0.0",
    name="Hebb",
    description="Rate-coded Hebbian learning.",
)

Oja = Synapse(
    parameters="""
        eta = 0.01 : projection
        alpha = 1.0 : projection
    """,
    equations="dw/dt = eta * (pre.r * post.r - alpha * post.r^2 * w) : min = 0.0",
    name="Oja",
    description="Rate-coded Hebbian learning regularised by Oja's rule.",
)

DefaultSpiking = Synapse(name="DefaultSpiking", pre_spike="g_target += w",
                         description="Static spiking synapse: a spike adds w to g_target.")
DefaultRate = Synapse(name="DefaultRate", description="Static rate-coded synapse: psp = w * pre.r.")
