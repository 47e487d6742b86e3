"""Small networks that use every built-in model, and a comparison of two runs of each.

They check that fused kernels compute what the array code computes: build a
network twice, run one copy with array code and the other through
:func:`gpunet.codegen.runtime.fused.attach`, then :func:`compare` the recordings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

Builder = Callable[[str, str], Any]  # (backend, precision) -> Network


def _reference(backend: str, precision: str) -> Any:
    from gpunet.examples import reference_network
    # kernels="off": the run without before_run must be the array code, also on a GPU (with "auto" a CuPy
    # network attaches fused kernels at compile, and a comparison with the fused run compared fused with fused)
    return reference_network(neurons=100, backend=backend, precision=precision, seed=7, kernels="off")


def _spiking(backend: str, precision: str) -> Any:
    from gpunet import model
    from gpunet.network.distributions import Uniform
    from gpunet.network.network import Network
    from gpunet.network.population import PoissonPopulation, SpikeSourceArray
    net = Network(dt=0.5, seed=11, backend=backend, precision=precision, kernels="off")  # record() attaches
    poisson = PoissonPopulation(80, rates=np.linspace(5.0, 80.0, 80), name="poisson", network=net)
    times = [[float(t) for t in range(5 + k, 200, 17)] for k in range(10)]
    source = SpikeSourceArray(times, name="source", network=net)
    cond = net.create(40, model.IF_cond_exp(tau_refrac=2.0), name="cond")
    curr = net.create(30, model.IF_curr_exp(tau_refrac=1.0, i_offset=0.2), name="curr")
    izh = net.create(25, model.Izhikevich(tau_refrac=1.5), name="izh")
    izh.noise = 3.0
    izh.i_offset = np.linspace(0.0, 8.0, 25)
    net.connect(poisson, cond, "exc", name="p_cond").connect_fixed_probability(
        0.3, weights=Uniform(0.0, 0.08), delays=Uniform(0.5, 3.0))
    net.connect(source, cond, "inh", name="s_cond").connect_all_to_all(weights=0.05, delays=1.0)
    net.connect(poisson, curr, "exc", model.STDP(w_max=2.0), name="p_curr").connect_fixed_probability(
        0.4, weights=Uniform(0.0, 1.5), delays=Uniform(0.5, 2.0))
    net.connect(curr, izh, "exc", name="c_izh").connect_fixed_number_pre(5, weights=4.0, delays=1.0)
    net.connect(izh, izh, "inh", model.STDP, name="izh_izh").connect_fixed_probability(
        0.2, weights=Uniform(0.0, 0.5), delays=2.0)
    return net


def _rate(backend: str, precision: str) -> Any:
    from gpunet import model
    from gpunet.network.distributions import Uniform
    from gpunet.network.network import Network
    net = Network(dt=1.0, seed=5, backend=backend, precision=precision, kernels="off")  # record() attaches
    inputs = net.create(60, model.LeakyIntegrator(tau=5.0), name="inputs")
    inputs.B = np.linspace(0.0, 1.5, 60)
    hidden = net.create(40, model.LeakyIntegrator(tau=10.0, T=0.1), name="hidden")
    output = net.create(20, model.LeakyIntegrator, name="output")
    net.connect(inputs, hidden, "exc", name="in_hidden").connect_fixed_probability(0.3, weights=Uniform(0.0, 0.2))
    net.connect(inputs, hidden, "inh", model.Hebb(eta=0.001), name="hebb").connect_fixed_probability(
        0.2, weights=Uniform(0.0, 0.1))
    net.connect(hidden, output, "exc", model.Oja(eta=0.01, alpha=0.5), name="oja").connect_all_to_all(
        weights=Uniform(0.0, 0.3))
    return net


def _models(backend: str, precision: str) -> Any:
    """Alpha synapses, AdEx, Hodgkin-Huxley, short-term plasticity, the rk4 and implicit methods, and inputs."""
    from gpunet import model
    from gpunet.model.description import Neuron
    from gpunet.network.network import Network
    from gpunet.network.inputs import (CurrentInjection, HomogeneousCorrelatedSpikeTrains, TimedArray,
                                       TimedPoissonPopulation)
    from gpunet.network.population import PoissonPopulation, SpikeSourceArray
    net = Network(dt=1.0, seed=3, backend=backend, precision=precision, kernels="off")  # record() attaches
    times = [[float(t) for t in np.arange(2.0 + k, 200.0, 6.0 + k)] for k in range(8)]
    source = SpikeSourceArray(times, name="source", network=net)
    curr = net.create(12, model.IF_curr_alpha(tau_refrac=1.0), name="curr_alpha")
    curr.i_offset = np.linspace(0.3, 1.2, 12)
    cond = net.create(12, model.IF_cond_alpha, name="cond_alpha")
    cond.i_offset = np.linspace(1.0, 2.0, 12)
    adex = net.create(12, model.EIF_cond_exp_isfa_ista, name="adex")
    adex.i_offset = np.linspace(0.3, 1.0, 12)
    hh = net.create(12, model.HH_cond_exp, name="hh")
    # at rest: near its threshold HH amplifies the one-ulp differences of libm's and NumPy's exp beyond 1e-12
    hh.i_offset = np.linspace(0.0, 0.1, 12)
    methods = Neuron(parameters="tau = 8.0 : population\nthreshold = 0.9",
                     equations="tau * dv/dt = 1.2 * (1.0 + 0.5 * sin(0.05 * t)) - v + g_exc : rk4\n"
                               "tau * dw/dt = v - w : implicit\n"
                               "tau * dg_exc/dt = -g_exc : implicit",
                     spike="w > threshold", reset="v = 0.0\nw = 0.0", name="MethodsNeuron")
    custom = net.create(12, methods, name="methods")
    custom.threshold = np.linspace(0.5, 1.0, 12)
    for target, scale in ((curr, 2.0), (custom, 0.3)):
        net.connect(source, target, "exc", model.STP(tau_rec=80.0, tau_facil=20.0, U=0.3),
                    name=f"stp_{target.name}").connect_fixed_probability(0.5, weights=scale, delays=1.0)
    net.connect(curr, cond, "inh", name="curr_cond").connect_fixed_number_pre(3, weights=0.05, delays=2.0)
    # inputs: a timed array injected as a current, a Poisson rate expression, rates on a schedule
    stimulus = TimedArray(np.linspace(0.0, 0.6, 60).reshape(5, 12), schedule=15.0, period=90.0, name="stimulus",
                          network=net)
    CurrentInjection(stimulus, curr, "inh", name="injection", network=net).connect_current()
    wave = PoissonPopulation(10, rates="40.0 * (1.0 + sin(t / 20.0))", name="wave", network=net)
    net.connect(wave, cond, "exc", name="wave_cond").connect_fixed_probability(0.5, weights=0.1, delays=1.0)
    timed = TimedPoissonPopulation(10, rates=[20.0, 80.0, 5.0], schedule=[0.0, 40.0, 90.0], period=150.0,
                                   name="timed", network=net)
    net.connect(timed, adex, "exc", name="timed_adex").connect_fixed_probability(0.5, weights=0.05, delays=1.0)
    correlated = HomogeneousCorrelatedSpikeTrains(10, rates=30.0, corr=0.2, tau=10.0, name="correlated", network=net)
    net.connect(correlated, custom, "exc", name="correlated_methods").connect_fixed_probability(
        0.5, weights=0.1, delays=1.0)
    return net


#: A rate neuron with one ODE per integration method and a global variable (``gm``, integrated before the
#: neurons read it); exp is the only transcendental function of this network's models (the host builds of the
#: kernels bind NumPy's, so float64 runs agree bit for bit).
METHODS_RATE = dict(
    parameters="tau = 6.0 : population\nk = 0.4\ntau_g = 30.0 : population",
    equations="tau_g * dgm/dt = 1.0 - gm : population, exponential\n"
              "tau * dx/dt = sum(exc) - x : explicit\n"
              "r = pos(x)\n"
              "tau * dy/dt = r - y : midpoint\n"
              "tau * dz/dt = k * (y - z) * (1.0 - z) : rk4\n"
              "tau * du/dt = z - u : implicit\n"
              "tau * dq/dt = u - q + 0.1 * exp(-y) : exponential\n"
              "tau * dp/dt = q - p + 0.1 * exp(-p) * gm : semiimplicit",
    name="MethodsRate")
#: Semiglobal (postsynaptic) variables: a midpoint ODE per post neuron, read by the synapses' equation and psp;
#: and a global variable (``scale``) with an equation, read by the psp.
SEMIGLOBAL_RATE = dict(
    parameters="eta = 0.01 : projection\ntau_alpha = 5.0 : postsynaptic\nbeta = 0.1 : postsynaptic\n"
               "tau_scale = 40.0 : projection",
    equations="tau_alpha * dalpha/dt + alpha = post.r - beta : postsynaptic, midpoint\n"
              "tau_scale * dscale/dt = 1.5 - scale : projection, init = 1.0\n"
              "dw/dt = eta * (0.1 * pre.r - alpha * w) : min = 0.0",
    psp="w * pre.r * (1.0 + 0.5 * alpha) * scale", name="SemiglobalRate")
#: pre.sum(exc) and post.sum(exc) inside synapse equations.
READS_SUMS = dict(parameters="eta = 0.002 : projection",
                  equations="s = pre.sum(exc) + 2.0 * post.sum(exc)\ndw/dt = eta * (0.01 * s - w) : rk4",
                  name="ReadsSums")
#: A spiking synapse with a semiglobal gain (its own ODE, read at pre- and post-synaptic events) and an
#: event-driven ODE that is not a pure decay (a resource recovering towards 1, as in short-term plasticity).
SEMIGLOBAL_SPIKING = dict(
    parameters="tau_rec = 30.0 : projection\ntau_gain = 20.0 : postsynaptic",
    equations="tau_gain * dgain/dt = 1.0 - gain + 0.05 * post.g_exc : postsynaptic, implicit, init = 1.0\n"
              "dx/dt = (1.0 - x) / tau_rec : init = 1.0, event-driven",
    pre_spike="g_target += gain * w * x\nx -= 0.25 * x",
    post_spike="w = clip(w + 0.01 * gain, 0.0, 2.0)",
    name="SemiglobalSpiking")


def _language(backend: str, precision: str) -> Any:
    """Semiglobal variables, pre.sum()/post.sum() in synapse equations, every integration method, and STP."""
    from gpunet import model
    from gpunet.model.description import Neuron, Synapse
    from gpunet.network.distributions import Uniform
    from gpunet.network.network import Network
    from gpunet.network.population import SpikeSourceArray
    net = Network(dt=0.5, seed=13, backend=backend, precision=precision, kernels="off")  # record() attaches
    inputs = net.create(20, model.LeakyIntegrator(tau=4.0), name="inputs")
    inputs.B = np.linspace(0.1, 1.0, 20)
    hidden = net.create(12, Neuron(**METHODS_RATE), name="hidden")
    hidden.k = np.linspace(0.2, 0.8, 12)
    output = net.create(6, model.LeakyIntegrator(tau=8.0), name="output")
    semiglobal = net.connect(inputs, hidden, "exc", Synapse(**SEMIGLOBAL_RATE), name="semiglobal")
    semiglobal.connect_fixed_probability(0.5, weights=Uniform(0.0, 0.3))
    net.connect(hidden, output, "exc", Synapse(**READS_SUMS), name="sums").connect_all_to_all(
        weights=Uniform(0.0, 0.2))
    times = [[float(t) for t in np.arange(1.0 + k, 150.0, 4.0 + k)] for k in range(10)]
    source = SpikeSourceArray(times, name="source", network=net)
    cells = net.create(10, model.IF_cond_exp(tau_refrac=1.0), name="cells")
    cells.i_offset = np.linspace(0.0, 0.5, 10)
    net.connect(source, cells, "exc", Synapse(**SEMIGLOBAL_SPIKING), name="gain").connect_fixed_probability(
        0.6, weights=Uniform(0.02, 0.08), delays=Uniform(0.5, 2.0))
    net.connect(source, cells, "inh", model.STP(tau_rec=60.0, tau_facil=15.0, U=0.4), name="stp").connect_all_to_all(
        weights=0.03, delays=1.0)
    return net


#: Networks by name: builder(backend, precision) -> an uncompiled Network running the array code
#: (``kernels="off"``) until :func:`record`'s ``before_run`` attaches fused kernels.
NETWORKS: dict[str, Builder] = {"reference": _reference, "spiking": _spiking, "rate": _rate, "models": _models,
                                "language": _language}


@dataclass
class Recording:
    """Spike trains, per-step variables and final synaptic state of one run."""

    spikes: dict[str, dict] = field(default_factory=dict)
    variables: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    synapses: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)


def record(network: Any, duration: float, before_run: Optional[Callable[[Any], Any]] = None) -> Recording:
    """Simulate ``duration`` ms with monitors on every population variable; return the recording.

    ``before_run(network)`` runs after compile() and before the simulation
    (e.g. :func:`gpunet.codegen.runtime.fused.attach`).
    """
    monitors = {}
    for population in network.populations:
        names = list(population.spec.variables) + (["spike"] if population.spiking else [])
        monitors[population.name] = network.monitor(population, names)
    network.compile()
    if before_run is not None:
        before_run(network)
    network.simulate(duration, progress=False)
    network.backend.synchronize()
    result = Recording()
    for name, monitor in monitors.items():
        data = monitor.get()
        if "spike" in data:
            result.spikes[name] = data.pop("spike")
        for variable, values in data.items():
            result.variables[(name, variable)] = np.asarray(values)
    for projection in network.projections:
        arrays = projection.state_dict()
        for variable in projection.spec.variables:
            result.synapses[(projection.name, variable)] = network.backend.to_host(arrays[variable])
    return result


@dataclass
class Comparison:
    """Differences between two recordings: spike trains that differ and the largest deviations."""

    different_spikes: list[str]
    max_abs: dict[tuple[str, str], float]
    max_rel: dict[tuple[str, str], float]

    def worst(self) -> float:
        return max(self.max_abs.values(), default=0.0)

    def summary(self) -> str:
        items = sorted(self.max_abs.items(), key=lambda kv: -kv[1])[:5]
        return (f"spike trains differing: {self.different_spikes or 'none'}; largest deviations: "
                + ", ".join(f"{a}.{b} {v:.3g}" for (a, b), v in items))


def compare(reference: Recording, other: Recording) -> Comparison:
    """Compare ``other`` with ``reference`` (same network, same duration)."""
    different = [name for name, trains in reference.spikes.items() if other.spikes.get(name) != trains]
    max_abs, max_rel = {}, {}
    for source_ref, source_other in ((reference.variables, other.variables), (reference.synapses, other.synapses)):
        for key, values in source_ref.items():
            mine = source_other[key]
            if values.shape != mine.shape:
                raise ValueError(f"{key}: shapes {values.shape} and {mine.shape} differ")
            a, b = values.astype(np.float64), mine.astype(np.float64)
            difference = np.abs(a - b)
            max_abs[key] = float(difference.max(initial=0.0))
            max_rel[key] = float((difference / np.maximum(np.abs(a), 1e-12)).max(initial=0.0))
    return Comparison(different, max_abs, max_rel)


def _input_network(backend: str, precision: str, dt: float = 1.0) -> Any:
    from gpunet.network.network import Network
    # the NumPy runner (array code), not the compiled loop, is the reference; record() attaches the kernels
    return Network(dt=dt, seed=5, backend=backend, precision=precision, kernels="off", runner="numpy")


def _timed_array(backend: str, precision: str) -> Any:
    """Two TimedArrays: a listed schedule with a period, and a spacing without one on a 2-D geometry."""
    from gpunet.network.inputs import TimedArray
    net = _input_network(backend, precision)
    rows = np.random.default_rng(1).uniform(-1.0, 5.0, (6, 10))
    TimedArray(rows, schedule=[0.0, 4.0, 9.0, 30.0, 31.0, 50.0], period=70.0, name="listed", network=net)
    TimedArray(np.arange(24.0).reshape(4, 2, 3), schedule=25.0, name="spaced", network=net)
    return net


def _timed_poisson(backend: str, precision: str) -> Any:
    """Rates (Hz) on a schedule that starts after step 0 and repeats, one row neuron by neuron."""
    from gpunet.network.inputs import TimedPoissonPopulation
    net = _input_network(backend, precision, dt=0.5)
    TimedPoissonPopulation(20, rates=[100.0, list(np.linspace(0.0, 400.0, 20)), 20.0], schedule=[3.0, 40.0, 80.0],
                           period=110.0, name="timed", network=net)
    return net


def _correlated(backend: str, precision: str) -> Any:
    """Correlated trains whose rate and correlation change at 60 ms, with a refractory period."""
    from gpunet.network.inputs import HomogeneousCorrelatedSpikeTrains
    net = _input_network(backend, precision, dt=0.5)
    HomogeneousCorrelatedSpikeTrains(20, rates=[40.0, 150.0], corr=[0.2, 0.7], tau=5.0, schedule=[0.0, 60.0],
                                     period=-1.0, refractory=2.0, name="correlated", network=net)
    return net


def _current_injection(backend: str, precision: str) -> Any:
    """A TimedArray injected into the g_exc of a view of a linear integrate-and-fire population."""
    from gpunet.model.description import Neuron
    from gpunet.network.inputs import CurrentInjection, TimedArray
    net = _input_network(backend, precision)
    stimulus = TimedArray(np.random.default_rng(2).uniform(0.0, 0.3, (5, 6)), schedule=15.0, period=90.0,
                          name="stimulus", network=net)
    linear = Neuron(parameters="tau = 10.0 : population", equations="tau * dv/dt = -v + 3.0 * g_exc",
                    spike="v > 0.5", reset="v = 0.0", name="LinearIntegrator")
    post = net.create(10, linear, name="post")
    CurrentInjection(stimulus, post[2:8], "exc", name="injection", network=net).connect_current()
    return net


#: Networks of each input with generated kernels, by input name (same builders' contract as :data:`NETWORKS`);
#: their arithmetic has no exp, log or cos but for the normal draws of HomogeneousCorrelatedSpikeTrains.
INPUT_NETWORKS: dict[str, Builder] = {"TimedArray": _timed_array, "TimedPoissonPopulation": _timed_poisson,
                                      "HomogeneousCorrelatedSpikeTrains": _correlated,
                                      "CurrentInjection": _current_injection}
