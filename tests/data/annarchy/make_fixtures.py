#!/usr/bin/env python
"""Write the ANNarchy 5 fixtures that gpunet's tests read (this folder's other files).

Run it with an interpreter that has ANNarchy 5.0.4.1 (``pip install annarchy==5.0.4.1``), with that
interpreter's ``bin`` folder first on PATH (ANNarchy's build step calls ``python3``)::

    python tests/data/annarchy/make_fixtures.py [OUTDIR]      # default OUTDIR: this file's folder
    python tests/data/annarchy/make_fixtures.py --models -    # ANNarchy's model definitions as JSON, to stdout

The tests never import this file; they read what it wrote, and the ANNarchy-marked tests run the
``--models`` form to compare the installed ANNarchy's definitions with the committed ``models.json``.

What it writes
--------------
``models.json``
    ANNarchy's definition of every model gpunet has built in (parameters and variables in order, global or
    local, C type, initial value, integration method, bounds, and the model's text).
``<network>/``, one folder per network of ``NETWORKS``
    ``data.txt``, ``data.txt.gz``, ``data.mat``, ``data.npz`` (``net.save`` after ``SAVE_STEPS`` steps),
    ``network.json`` (``save_parameters``), ``final.txt`` (the state after the continuation below) and
    ``expected.json``: how the network is built (populations, models, projections, spike times), and the
    spikes (step indices per rank) of the continuation.  The continuation is ANNarchy's own restart: a freshly
    built copy of the network (same seed, hence the same connectivity) loads ``data.txt`` and simulates
    ``CONTINUE_STEPS`` steps, so it starts, like a gpunet network that loads the file, without delayed spikes in
    flight, refractory counters or last-spike times (ANNarchy saves none of these).
``models/``
    The neuron models with alpha-shaped synapses, AdEx and Hodgkin-Huxley, and short-term plasticity (STP).
``inputs/recording.json``
    Timed inputs, a Poisson rate expression and current injection, recorded step by step (``make_inputs``).
``semiglobal/``
    A rate-coded synapse with postsynaptic (semiglobal) attributes and a network constant.
``chapter/``
    The saving-and-loading chapter's example network (two Izhikevich populations, one STDP projection), with
    the single-object files ``pop.txt``, ``proj.txt`` and ``data_nopop.txt`` as well.

A run writes the same bytes every time, except for the time stamps in the headers of ``.gz`` and ``.mat`` files;
``net_id`` in the files numbers the networks in the order this process builds them, so regenerate all networks
in one run (the default).

ANNarchy compiles with ``-O2 -ffp-contract=off`` here (no fused multiply-adds), so that its arithmetic is the
IEEE arithmetic NumPy does; ``chapter`` alone uses ANNarchy's default flags (``-march=native -O3``), so that its
files are, byte for byte, the ones the reference documentation's fixtures hold.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

import ANNarchy as ann
from ANNarchy.models.Synapses import DefaultRateCodedSynapse, DefaultSpikingSynapse
from ANNarchy.parser.AnalyseNeuron import analyse_neuron
from ANNarchy.parser.AnalyseSynapse import analyse_synapse

COMPILER_FLAGS = "-O2 -ffp-contract=off"
SAVE_STEPS = 200
CONTINUE_STEPS = 300
FORMATS = ("data.txt", "data.txt.gz", "data.mat", "data.npz")


# ---------------------------------------------------------------- model definitions
def _model_factories():
    """(gpunet name, constructor overrides, ANNarchy expression, kind, factory) of every built-in model."""
    def poisson():
        return ann.PoissonPopulation(geometry=1, rates=10.0).neuron_type

    def spike_source():
        return ann.SpikeSourceArray(spike_times=[1.0]).neuron_type

    return [
        ("Izhikevich", {}, "Izhikevich()", "neuron", ann.Izhikevich),
        ("Izhikevich", {"a": 0.1, "b": 0.25, "c": -50.0, "d": 2.0}, "Izhikevich(a=0.1, b=0.25, c=-50.0, d=2.0)",
         "neuron", lambda: ann.Izhikevich(a=0.1, b=0.25, c=-50.0, d=2.0)),
        ("LeakyIntegrator", {}, "LeakyIntegrator()", "neuron", ann.LeakyIntegrator),
        ("IF_curr_exp", {}, "IF_curr_exp()", "neuron", ann.IF_curr_exp),
        ("IF_curr_exp", {"v_reset": -70.0}, "IF_curr_exp(v_reset=-70.0)", "neuron",
         lambda: ann.IF_curr_exp(v_reset=-70.0)),
        ("IF_cond_exp", {}, "IF_cond_exp()", "neuron", ann.IF_cond_exp),
        ("IF_curr_alpha", {}, "IF_curr_alpha()", "neuron", ann.IF_curr_alpha),
        ("IF_cond_alpha", {}, "IF_cond_alpha()", "neuron", ann.IF_cond_alpha),
        ("EIF_cond_exp_isfa_ista", {}, "EIF_cond_exp_isfa_ista()", "neuron", ann.EIF_cond_exp_isfa_ista),
        ("HH_cond_exp", {}, "HH_cond_exp()", "neuron", ann.HH_cond_exp),
        ("PoissonNeuron", {}, "PoissonPopulation(rates=10.0).neuron_type", "neuron", poisson),
        ("SpikeSourceNeuron", {}, "SpikeSourceArray(...).neuron_type", "neuron", spike_source),
        ("STDP", {}, "STDP()", "synapse", ann.STDP),
        ("STP", {}, "STP()", "synapse", ann.STP),
        ("STP", {"tau_rec": 200.0, "U": 0.2}, "STP(tau_rec=200.0, U=0.2)", "synapse",
         lambda: ann.STP(tau_rec=200.0, U=0.2)),
        ("Hebb", {}, "Hebb()", "synapse", ann.Hebb),
        ("Oja", {}, "Oja()", "synapse", ann.Oja),
        ("DefaultSpiking", {}, "DefaultSpikingSynapse()", "synapse", DefaultSpikingSynapse),
        ("DefaultRate", {}, "DefaultRateCodedSynapse()", "synapse", DefaultRateCodedSynapse),
    ]


def _text(value):
    if value is None:
        return None
    return value if isinstance(value, str) else repr(value)


def _attribute(entry: dict, variable: bool) -> dict:
    out = {"name": entry["name"], "locality": entry["locality"], "ctype": entry["ctype"],
           "init": entry["init"] if not isinstance(entry["init"], np.generic) else entry["init"].item()}
    if variable:
        out["method"] = entry.get("method")
        out["eq"] = entry.get("eq", "")
        out["min"] = entry.get("bounds", {}).get("min")
        out["max"] = entry.get("bounds", {}).get("max")
    return out


def model_definitions() -> dict:
    """What the installed ANNarchy defines for each of gpunet's built-in models."""
    models = []
    for gpunet_name, overrides, expression, kind, factory in _model_factories():
        model = factory()
        desc = analyse_neuron(model, 0) if kind == "neuron" else analyse_synapse(model, 0)
        blocks = ("parameters", "equations", "spike", "reset", "refractory") if kind == "neuron" else \
            ("parameters", "equations", "psp", "pre_spike", "post_spike")
        models.append({
            "gpunet": gpunet_name, "overrides": overrides, "annarchy": expression, "kind": kind,
            "type": model.type,
            "parameters": [_attribute(p, False) for p in desc["parameters"]],
            "variables": [_attribute(v, True) for v in desc["variables"]],
            "text": {block: _text(getattr(model, block, None)) for block in blocks},
        })
    return {"annarchy": ann.__release__, "models": models}


# ---------------------------------------------------------------- networks
def _deterministic(proj, scale: float, offset: float = 0.0):
    """Weights that are a function of (pre, post): Uniform() weights differ between two runs of ANNarchy."""
    proj.w = [[offset + scale * (((7 * pre + 13 * post) % 17) / 16.0) for pre in row]
              for post, row in zip(proj.post_ranks, proj.cyInstance.pre_ranks())]


def build_chapter(net, restart_step=0):
    """The chapter's example: Izhikevich populations, STDP projection (delays 2 ms)."""
    exc = net.create(50, ann.Izhikevich, name="PFC_exc")
    inh = net.create(30, ann.Izhikevich(a=0.1, d=2.0), name="PFC_inh")
    proj = net.connect(exc, inh, "exc", ann.STDP, name="PFC_exc_to_inh")
    proj.fixed_probability(0.2, weights=ann.Uniform(0.0, 0.5), delays=2.0)

    def after_compile():
        exc.i_offset = np.linspace(0.0, 12.0, 50)
        proj.w = [[((7 * pre + 13 * post) % 50) / 100.0 for pre in row]
                  for post, row in zip(proj.post_ranks, proj.cyInstance.pre_ranks())]
        proj.tau_plus = 25.0
    structure = {
        "populations": [{"name": "PFC_exc", "geometry": [50], "model": "Izhikevich"},
                        {"name": "PFC_inh", "geometry": [30], "model": "Izhikevich",
                         "overrides": {"a": 0.1, "d": 2.0}}],
        "projections": [{"name": "PFC_exc_to_inh", "pre": "PFC_exc", "post": "PFC_inh", "target": "exc",
                         "synapse": "STDP", "connector": "fixed_probability"}],
    }
    return structure, after_compile


def build_izhikevich2003(net, restart_step=0):
    """Izhikevich (2003): excitatory and inhibitory neurons, each with its own a, b, c, d.

    The recipe's thalamic noise is replaced by a constant per-neuron input current (i_offset) so that the
    continuation is deterministic; all-to-all connectivity, weights 0.5 * rand (excitatory) and rand
    (inhibitory, target inh), delay one step.
    """
    n_exc, n_inh = 80, 20
    rng = np.random.default_rng(2003)
    re, ri = rng.random(n_exc), rng.random(n_inh)
    exc = net.create(n_exc, ann.Izhikevich, name="exc")
    inh = net.create(n_inh, ann.Izhikevich, name="inh")
    projections = {}
    for pre, target in ((exc, "exc"), (inh, "inh")):
        for post in (exc, inh):
            name = f"{pre.name}_{post.name}"
            projections[name] = net.connect(pre, post, target, name=name)
            projections[name].all_to_all(weights=1.0, force_multiple_weights=True)
    w_exc, w_inh = rng.random((n_exc + n_inh, n_exc)) * 0.5, rng.random((n_exc + n_inh, n_inh))
    i_exc, i_inh = 2.0 + 4.0 * rng.random(n_exc), 1.0 + 2.0 * rng.random(n_inh)

    def after_compile():
        exc.a, exc.b = 0.02, 0.2
        exc.c, exc.d = -65.0 + 15.0 * re ** 2, 8.0 - 6.0 * re ** 2
        inh.a, inh.b = 0.02 + 0.08 * ri, 0.25 - 0.05 * ri
        inh.c, inh.d = -65.0, 2.0
        for pop, current in ((exc, i_exc), (inh, i_inh)):
            pop.i_offset = current
            pop.v = -65.0
            pop.u = pop.b * -65.0
        for name, proj in projections.items():
            matrix = w_exc if name.startswith("exc") else w_inh
            rows = slice(0, n_exc) if name.endswith("_exc") else slice(n_exc, n_exc + n_inh)
            block = matrix[rows]
            proj.w = [[float(block[post, pre]) for pre in row]
                      for post, row in zip(proj.post_ranks, proj.cyInstance.pre_ranks())]
    structure = {
        "populations": [{"name": "exc", "geometry": [n_exc], "model": "Izhikevich"},
                        {"name": "inh", "geometry": [n_inh], "model": "Izhikevich"}],
        "projections": [{"name": f"{pre}_{post}", "pre": pre, "post": post, "target": pre,
                         "synapse": "DefaultSpiking", "connector": "all_to_all"}
                        for pre in ("exc", "inh") for post in ("exc", "inh")],
    }
    return structure, after_compile


SOURCE_TIMES = [[float(t) for t in range(3 + k, 500, 11 + k % 5)] for k in range(20)]


def build_spiking(net, restart_step=0):
    """Every spiking model and connector, uniform and per-synapse delays, STDP and static synapses.

    After ``load``, ANNarchy 5.0.4.1's SpikeSourceArray still counts steps from its own start: it emits the time
    ``t`` at step ``time_step + t`` (measured: every source spike of the restart came 200 steps late).  The
    restarted copy (``restart_step`` > 0) is therefore given the remaining times shifted back by the loaded step,
    so that its sources emit at the times of ``SOURCE_TIMES``, as a continuation of the first network would.
    """
    times = SOURCE_TIMES if not restart_step else \
        [[t - restart_step for t in neuron if t >= restart_step] for neuron in SOURCE_TIMES]
    source = net.create(ann.SpikeSourceArray(spike_times=times, name="source"))
    driver = net.create(20, ann.Izhikevich(a=0.1, d=2.0), name="driver")
    curr = net.create(30, ann.IF_curr_exp(tau_refrac=2.0), name="curr")
    cond = net.create((4, 5), ann.IF_cond_exp, name="cond")
    izh = net.create(25, ann.Izhikevich, name="izh")
    specs = [
        # name, pre, post, target, synapse, connector, arguments
        ("source_curr", source, curr, "exc", "STDP", "fixed_number_pre",
         dict(number=8, weights=0.0, delays=ann.DiscreteUniform(1, 5))),
        ("driver_curr", driver, curr, "exc", "DefaultSpiking", "fixed_probability",
         dict(probability=0.3, weights=0.0, delays=2.0, force_multiple_weights=True)),
        ("source_cond", source, cond, "exc", "DefaultSpiking", "one_to_one",
         dict(weights=0.05, delays=1.0)),
        ("driver_cond", driver, cond, "inh", "STDP", "fixed_number_post",
         dict(number=4, weights=0.0, delays=2.0)),
        ("curr_izh", curr, izh, "exc", "STDP", "all_to_all", dict(weights=0.0, delays=3.0)),
        ("cond_izh", cond, izh, "inh", "DefaultSpiking", "from_matrix", None),
        ("izh_curr", izh, curr, "inh", "DefaultSpiking", "from_sparse", None),
        ("source_izh", source, izh, "exc", "DefaultSpiking", "from_function", None),
    ]
    # Per-synapse delays only where every post neuron has as many synapses: ANNarchy 5.0.4.1 cannot load its
    # own file when the rows of per-synapse delays differ in length (Projection._set_delay indexes a 2-D array).
    synapses = {"STDP": ann.STDP(tau_plus=15.0, A_minus=0.012, w_max=2.0), "DefaultSpiking": None}
    projections = {}
    matrix = np.array([[1.5 + 0.1 * ((3 * i + j) % 5) if (i + 2 * j) % 3 == 0 else np.nan
                        for j in range(20)] for i in range(25)])
    sparse = __import__("scipy.sparse").sparse.random(25, 30, density=0.2, random_state=5, format="lil") * 2.0

    def pattern(pre, post, dt):
        synapses_ = ann.LILConnectivity(dt=dt)
        for post_rank in range(post.size):
            ranks = sorted({(post_rank + 3 * k) % pre.size for k in range(4)})
            synapses_.add(post_rank, ranks, [1.0 + 0.2 * (r % 3) for r in ranks],
                          [float(1 + (r + post_rank) % 4) for r in ranks])
        return synapses_

    for name, pre, post, target, synapse, connector, arguments in specs:
        proj = net.connect(pre, post, target, synapses[synapse], name=name) if synapses[synapse] is not None \
            else net.connect(pre, post, target, name=name)
        if connector == "from_matrix":
            weights = np.array([[None if np.isnan(x) else float(x) for x in row] for row in matrix], dtype=object)
            proj.from_matrix(weights, delays=2.0)  # rows: post-synaptic ranks (pre_post=False)
        elif connector == "from_sparse":
            proj.from_sparse(sparse.tocsr(), delays=1.0)  # rows: pre-synaptic ranks
        elif connector == "from_function":
            proj.from_function(pattern)
        else:
            getattr(proj, connector)(**arguments)
        projections[name] = (proj, synapse)

    def after_compile():
        driver.i_offset = np.linspace(4.0, 14.0, 20)
        izh.i_offset = 1.0
        curr.i_offset = 0.5
        for name, (proj, synapse) in projections.items():
            if synapse == "STDP" or name == "driver_curr":
                _deterministic(proj, 1.2 if name == "source_curr" else 0.8)
        # DiscreteUniform() delays, like Uniform() weights, differ between two runs of ANNarchy: replace them
        # by a function of (pre, post), 1 to 5 ms, so that the generator writes the same files every time.
        source_curr = projections["source_curr"][0]
        source_curr.delay = [[float(1 + (3 * pre + post) % 5) for pre in row]
                             for post, row in zip(source_curr.post_ranks, source_curr.cyInstance.pre_ranks())]
    structure = {
        "populations": [{"name": "source", "geometry": [20], "model": "SpikeSourceNeuron",
                         "spike_times": SOURCE_TIMES},
                        {"name": "driver", "geometry": [20], "model": "Izhikevich",
                         "overrides": {"a": 0.1, "d": 2.0}},
                        {"name": "curr", "geometry": [30], "model": "IF_curr_exp",
                         "overrides": {"tau_refrac": 2.0}},
                        {"name": "cond", "geometry": [4, 5], "model": "IF_cond_exp"},
                        {"name": "izh", "geometry": [25], "model": "Izhikevich"}],
        "projections": [{"name": n, "pre": pre.name, "post": post.name, "target": target, "synapse": synapse,
                         "connector": connector, **({"parameters": {"tau_plus": 15.0, "A_minus": 0.012,
                                                                     "w_max": 2.0}} if synapse == "STDP" else {})}
                        for n, pre, post, target, synapse, connector, _ in specs],
    }
    return structure, after_compile


def build_rate(net, restart_step=0):
    """Rate-coded: LeakyIntegrator populations on 2-D grids (gaussian and dog connectors), Hebb, Oja, static."""
    inp = net.create((4, 5), ann.LeakyIntegrator, name="input")
    hidden = net.create((4, 4), ann.LeakyIntegrator(tau=20.0, T=0.1), name="hidden")
    out = net.create((2, 3), ann.LeakyIntegrator, name="output")
    specs = [
        ("input_hidden", inp, hidden, "exc", "Hebb", "fixed_probability", dict(probability=0.5, weights=0.0)),
        ("input_hidden_inh", inp, hidden, "inh", "DefaultRate", "gaussian", dict(amp=0.3, sigma=0.4)),
        ("hidden_output", hidden, out, "exc", "Oja", "all_to_all", dict(weights=0.0)),
        ("hidden_hidden", hidden, hidden, "inh", "DefaultRate", "fixed_number_pre", dict(number=3, weights=0.2)),
        ("input_output", inp, out, "exc", "DefaultRate", "dog",
         dict(amp_pos=0.4, sigma_pos=0.3, amp_neg=0.2, sigma_neg=0.6)),
    ]
    models = {"Hebb": ann.Hebb(eta=0.002), "Oja": ann.Oja(eta=0.005, alpha=2.0), "DefaultRate": None}
    projections = {}
    for name, pre, post, target, synapse, connector, arguments in specs:
        proj = net.connect(pre, post, target, models[synapse], name=name) if models[synapse] is not None \
            else net.connect(pre, post, target, name=name)
        getattr(proj, connector)(**arguments)
        projections[name] = (proj, synapse)

    def after_compile():
        inp.B = np.linspace(0.0, 1.0, 20).reshape((4, 5))
        hidden.B = np.linspace(-0.2, 0.3, 16).reshape((4, 4))
        for name, (proj, synapse) in projections.items():
            if synapse in ("Hebb", "Oja"):
                _deterministic(proj, 0.3, 0.05)
    structure = {
        "populations": [{"name": "input", "geometry": [4, 5], "model": "LeakyIntegrator"},
                        {"name": "hidden", "geometry": [4, 4], "model": "LeakyIntegrator",
                         "overrides": {"tau": 20.0, "T": 0.1}},
                        {"name": "output", "geometry": [2, 3], "model": "LeakyIntegrator"}],
        "projections": [{"name": n, "pre": pre.name, "post": post.name, "target": target, "synapse": synapse,
                         "connector": connector,
                         **({"parameters": {"Hebb": {"eta": 0.002}, "Oja": {"eta": 0.005, "alpha": 2.0}}[synapse]}
                            if synapse in ("Hebb", "Oja") else {})}
                        for n, pre, post, target, synapse, connector, _ in specs],
    }
    return structure, after_compile


def build_poisson(net, restart_step=0):
    """Poisson sources (per-neuron rates) driving IF_curr_exp neurons: its spikes depend on ANNarchy's RNG."""
    rates = np.linspace(5.0, 100.0, 40)
    source = net.create(ann.PoissonPopulation(geometry=40, rates=rates, name="poisson"))
    post = net.create(10, ann.IF_curr_exp, name="target")
    proj = net.connect(source, post, "exc", name="poisson_target")
    proj.fixed_number_pre(8, weights=0.8, delays=1.0)

    def after_compile():
        source.rates = rates
    structure = {
        "populations": [{"name": "poisson", "geometry": [40], "model": "PoissonNeuron"},
                        {"name": "target", "geometry": [10], "model": "IF_curr_exp"}],
        "projections": [{"name": "poisson_target", "pre": "poisson", "post": "target", "target": "exc",
                         "synapse": "DefaultSpiking", "connector": "fixed_number_pre"}],
        "random_spikes": True,
    }
    return structure, after_compile


MODELS_SOURCE_TIMES = [[float(t) for t in range(2 + k, 500, 7 + 2 * k)] for k in range(10)]


def build_models(net, restart_step=0):
    """The alpha-synapse, adaptive exponential and Hodgkin-Huxley neurons, driven through STP and static synapses.

    Spike sources as in ``build_spiking`` (times shifted back after a load); every neuron also gets its own
    constant current so that each model spikes on its own.
    """
    times = MODELS_SOURCE_TIMES if not restart_step else \
        [[t - restart_step for t in neuron if t >= restart_step] for neuron in MODELS_SOURCE_TIMES]
    source = net.create(ann.SpikeSourceArray(spike_times=times, name="source"))
    curr = net.create(10, ann.IF_curr_alpha, name="curr_alpha")
    cond = net.create(10, ann.IF_cond_alpha(tau_refrac=2.0), name="cond_alpha")
    adex = net.create(10, ann.EIF_cond_exp_isfa_ista, name="adex")
    hh = net.create(10, ann.HH_cond_exp, name="hh")
    specs = [
        ("source_curr", source, curr, "exc", "STP", {}, 1.0),
        ("source_cond", source, cond, "exc", "STP", {"tau_rec": 200.0, "U": 0.2}, 0.05),
        ("source_adex", source, adex, "exc", "STP", {}, 0.02),
        ("source_hh", source, hh, "exc", "DefaultSpiking", {}, 0.05),
        ("curr_cond", curr, cond, "inh", "DefaultSpiking", {}, 0.02),
    ]
    projections = []
    for name, pre, post, target, synapse, parameters, scale in specs:
        model = ann.STP(**parameters) if synapse == "STP" else None
        proj = net.connect(pre, post, target, model, name=name) if model is not None \
            else net.connect(pre, post, target, name=name)
        proj.all_to_all(weights=1.0, delays=1.0, force_multiple_weights=True)
        projections.append((proj, scale))

    def after_compile():
        curr.i_offset = np.linspace(0.0, 1.2, 10)
        cond.i_offset = np.linspace(0.6, 1.6, 10)
        adex.i_offset = np.linspace(0.2, 1.0, 10)
        hh.i_offset = np.linspace(3.0, 6.0, 10)
        for proj, scale in projections:
            _deterministic(proj, scale)
    structure = {
        "populations": [{"name": "source", "geometry": [10], "model": "SpikeSourceNeuron",
                         "spike_times": MODELS_SOURCE_TIMES},
                        {"name": "curr_alpha", "geometry": [10], "model": "IF_curr_alpha"},
                        {"name": "cond_alpha", "geometry": [10], "model": "IF_cond_alpha",
                         "overrides": {"tau_refrac": 2.0}},
                        {"name": "adex", "geometry": [10], "model": "EIF_cond_exp_isfa_ista"},
                        {"name": "hh", "geometry": [10], "model": "HH_cond_exp"}],
        "projections": [{"name": n, "pre": pre.name, "post": post.name, "target": target, "synapse": synapse,
                         "connector": "all_to_all", **({"parameters": parameters} if parameters else {})}
                        for n, pre, post, target, synapse, parameters, _ in specs],
    }
    return structure, after_compile


SEMIGLOBAL_CONSTANTS = {"k_sg": 0.5}
SEMIGLOBAL_SYNAPSE = {
    "parameters": "eta = 0.01 : projection\ntau_alpha = 20.0 : postsynaptic\nbeta = 0.2 : postsynaptic",
    "equations": "tau_alpha * dalpha/dt + alpha = post.r - beta : postsynaptic\n"
                 "dw/dt = eta * (pre.r * post.r - k_sg * alpha * w)",
}


def build_semiglobal(net, restart_step=0):
    """Rate-coded, one synapse model with postsynaptic (semiglobal) parameters and variable, and a constant.

    The output neuron 2 has no synapses (``post_ranks`` skips it), so the files hold one semiglobal value per
    post neuron with synapses.
    """
    import scipy.sparse
    for name, value in SEMIGLOBAL_CONSTANTS.items():
        net.constant(name, value)
    inp = net.create(6, ann.LeakyIntegrator, name="input")
    out = net.create(5, ann.LeakyIntegrator, name="output")
    proj = net.connect(inp, out, "exc", ann.Synapse(**SEMIGLOBAL_SYNAPSE), name="input_output")
    pattern = np.array([[(pre + 2 * post) % 3 != 0 and post != 2 for post in range(5)] for pre in range(6)], float)
    proj.from_sparse(scipy.sparse.csr_matrix(pattern * 0.1))  # first dimension: pre-synaptic ranks

    def after_compile():
        inp.B = np.linspace(0.1, 1.0, 6)
        out.B = np.linspace(-0.1, 0.3, 5)
        proj.tau_alpha = [10.0 + 5.0 * k for k in range(len(proj.post_ranks))]
        proj.beta = [0.1 * k for k in range(len(proj.post_ranks))]
        _deterministic(proj, 0.3, 0.05)
    structure = {
        "populations": [{"name": "input", "geometry": [6], "model": "LeakyIntegrator"},
                        {"name": "output", "geometry": [5], "model": "LeakyIntegrator"}],
        "projections": [{"name": "input_output", "pre": "input", "post": "output", "target": "exc",
                         "synapse": "Synapse", "definition": SEMIGLOBAL_SYNAPSE, "connector": "from_sparse"}],
        "constants": SEMIGLOBAL_CONSTANTS,
    }
    return structure, after_compile


# name: (builder, seed, steps before saving, compiler flags)
NETWORKS = {"chapter": (build_chapter, 2024, 100, "default"),
            "izhikevich2003": (build_izhikevich2003, 7, SAVE_STEPS, COMPILER_FLAGS),
            "spiking": (build_spiking, 11, SAVE_STEPS, COMPILER_FLAGS),
            "rate": (build_rate, 13, SAVE_STEPS, COMPILER_FLAGS),
            "poisson": (build_poisson, 17, SAVE_STEPS, COMPILER_FLAGS),
            "models": (build_models, 19, SAVE_STEPS, COMPILER_FLAGS),
            "semiglobal": (build_semiglobal, 23, SAVE_STEPS, COMPILER_FLAGS)}


def _compile(net, build, folder, tag, flags, restart_step=0):
    structure, after_compile = build(net, restart_step=restart_step)
    monitors = {pop.name: net.monitor(pop, ["spike"]) for pop in net.get_populations()
                if pop.neuron_type.type == "spike"}
    net.compile(directory=os.path.join(folder, "_build_" + tag), compiler_flags=flags, silent=True)
    after_compile()
    return structure, monitors


def _spikes(monitors, start):
    out = {}
    for name, monitor in monitors.items():
        spikes = monitor.get("spike")
        out[name] = {str(rank): [int(s) for s in steps if s >= start] for rank, steps in spikes.items()
                     if any(s >= start for s in steps)}
    return out


def _connectivity(net):
    return {proj.name: ([int(r) for r in proj.post_ranks], [[int(x) for x in row] for row in proj.cyInstance.pre_ranks()])
            for proj in net.get_projections()}


def make_network(name: str, out: str, build_root: str) -> None:
    build, seed, save_steps, flags = NETWORKS[name]
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    path = lambda f: os.path.join(folder, f)  # noqa: E731

    first = ann.Network(dt=1.0, seed=seed)
    structure, _ = _compile(first, build, build_root, name + "_a", flags)
    first.simulate(float(save_steps))
    for fmt in FORMATS:
        first.save(path(fmt))
    ann.save_parameters(path("network.json"), net_id=first.id)
    if name == "chapter":
        first.save(path("data_nopop.txt"), populations=False)
        first.get_population("PFC_exc").save(path("pop.txt"))
        first.get_projection("PFC_exc_to_inh").save(path("proj.txt"))

    # ANNarchy's own restart: a fresh copy of the network loads the file and continues.
    second = ann.Network(dt=1.0, seed=seed)
    _, monitors = _compile(second, build, build_root, name + "_b", flags, restart_step=save_steps)
    assert _connectivity(first) == _connectivity(second), f"{name}: connectivity differs between two builds"
    second.load(path("data.txt"))
    assert second.current_step == save_steps
    second.simulate(float(CONTINUE_STEPS))
    second.save(path("final.txt"))
    expected = {"annarchy": ann.__release__, "dt": 1.0, "seed": seed, "save_step": save_steps,
                "continue_steps": CONTINUE_STEPS, "compiler_flags": flags, **structure,
                "spikes": _spikes(monitors, save_steps)}
    with open(path("expected.json"), "w") as handle:
        json.dump(expected, handle, indent=1)
        handle.write("\n")


def _prepost_sums(build_root: str) -> list:
    """``s = pre.sum(exc) + 2 * post.sum(exc)`` of the first synapse, after each of 5 steps (rate-coded, dt 1)."""
    net = ann.Network(dt=1.0, seed=1)
    inp = net.create(2, ann.LeakyIntegrator, name="inp")
    pre = net.create(5, ann.LeakyIntegrator, name="pre")
    post = net.create(3, ann.LeakyIntegrator, name="post")
    proj = net.connect(pre, post, "exc", ann.Synapse(equations="s = pre.sum(exc) + 2 * post.sum(exc)"), name="proj")
    proj.all_to_all(weights=0.1)
    net.connect(inp, pre, "exc", name="feed").all_to_all(weights=0.5)
    net.compile(directory=os.path.join(build_root, "sums"), compiler_flags=COMPILER_FLAGS, silent=True)
    pre.B = np.linspace(0.2, 1.0, 5)
    inp.B = np.array([0.3, 0.6])
    values = []
    for _ in range(5):
        net.simulate(1.0)
        values.append(float(proj.s[0][0]))
    return values


METHOD_EQUATIONS = {"rk4": "tau * dv/dt = E - v + 0.5 * sin(v) : rk4, init = 0.3",
                    "implicit": "tau * dv/dt = E - v : implicit, init = -1.0",
                    "midpoint": "dv/dt = 1.0 - 0.1 * v * v : midpoint, init = 0.5"}


def _methods(build_root: str) -> dict:
    """v of one population per method (rk4, implicit, midpoint) after each of 40 steps of 0.5 ms.

    One ODE per model: ANNarchy solves several implicit / midpoint / rk4 ODEs of one model as one coupled
    system and refuses to mix these methods in a model.
    """
    net = ann.Network(dt=0.5, seed=1)
    monitors = {}
    for method, equation in METHOD_EQUATIONS.items():
        neuron = ann.Neuron(parameters="tau = 7.0 : population\nE = 2.0", equations=f"{equation}\nr = v")
        pop = net.create(2, neuron, name=method)
        monitors[method] = (pop, net.monitor(pop, "v"))
    net.compile(directory=os.path.join(build_root, "methods"), compiler_flags=COMPILER_FLAGS, silent=True)
    for pop, _ in monitors.values():
        pop.E = np.array([2.0, -3.0])
    net.simulate(20.0)
    return {method: np.asarray(monitor.get("v")).tolist() for method, (_, monitor) in monitors.items()}


SEMIIMPLICIT_EQUATIONS = {
    "nonlinear_exp": "tau * dv/dt = E - v + 0.3 * exp(-v) : semiimplicit, init = 0.3",
    "nonlinear_sin": "dv/dt = (E - v) / tau + 0.2 * sin(v) : semiimplicit, init = 0.5",
    "linear": "tau * dv/dt = E - v : semiimplicit, init = -1.0",
    "state_dependent_rate": "dv/dt = -0.3 * v * exp(-v) + 0.1 * E : semiimplicit, init = 0.7"}


def make_semiimplicit(out: str, build_root: str) -> None:
    """``methods/semiimplicit.json``: v of one population per ODE of the semiimplicit method, 40 steps of 0.5 ms.

    Implicit for the linear part, explicit for the rest (``exp(-v)``, ``sin(v)``), a linear ODE, and one whose
    coefficient of v depends on v.
    """
    net = ann.Network(dt=0.5, seed=1)
    monitors = {}
    for name, equation in SEMIIMPLICIT_EQUATIONS.items():
        neuron = ann.Neuron(parameters="tau = 7.0 : population\nE = 2.0", equations=f"{equation}\nr = v")
        pop = net.create(2, neuron, name=name)
        monitors[name] = (pop, net.monitor(pop, "v"))
    net.compile(directory=os.path.join(build_root, "semiimplicit"), compiler_flags=COMPILER_FLAGS, silent=True)
    for pop, _ in monitors.values():
        pop.E = np.array([2.0, -3.0])
    net.simulate(20.0)
    folder = os.path.join(out, "methods")
    os.makedirs(folder, exist_ok=True)
    expected = {"annarchy": ann.__release__, "dt": 0.5, "equations": SEMIIMPLICIT_EQUATIONS,
                "v": {name: np.asarray(monitor.get("v")).tolist() for name, (_, monitor) in monitors.items()}}
    with open(os.path.join(folder, "semiimplicit.json"), "w") as handle:
        json.dump(expected, handle, indent=1)
        handle.write("\n")


def make_inputs(out: str, build_root: str) -> None:
    """``inputs/recording.json``: what ANNarchy's timed inputs, rate expressions and current injection do, step by step.

    A TimedArray with a schedule and a period, another shown every step, a PoissonPopulation whose rates are an
    expression of ``t`` (its variable ``rates`` is recorded: the spikes depend on ANNarchy's generator) and
    Izhikevich neurons driven by a TimedArray through CurrentInjection (their spikes and ``v``); and a synapse
    that reads ``pre.sum(exc)`` and ``post.sum(exc)`` (``_prepost_sums``); the rk4, implicit and midpoint
    methods (``_methods``).  A
    TimedPoissonPopulation's rates cannot be read from Python in ANNarchy 5.0.4.1 (nor its spikes reproduced).  ANNarchy 5.0.4.1 cannot set the values of a TimedArray whose first schedule time is
    after 0 (``set_buffer`` reads row -1: ``std::bad_array_new_length``), so every schedule here starts at 0.
    """
    folder = os.path.join(out, "inputs")
    os.makedirs(folder, exist_ok=True)
    dt, steps = 0.5, 80
    net = ann.Network(dt=dt, seed=3)
    rows = np.arange(9.0).reshape(3, 3)
    scheduled = net.create(ann.TimedArray(rates=rows, schedule=[0.0, 1.0, 3.0], period=5.0, name="scheduled"))
    currents = np.array([[4.0, 8.0, 12.0], [0.0, 20.0, 6.0], [10.0, 10.0, 10.0]])
    stepwise = net.create(ann.TimedArray(rates=currents, schedule=10.0, name="stepwise"))
    poisson = net.create(ann.PoissonPopulation(4, rates="amp * (1.0 + sin(2.0 * pi_ * f * t / 1000.0)) / 2.0",
                                               parameters={"amp": 80.0, "f": 25.0, "pi_": 3.141592653589793},
                                               name="poisson_expr"))
    izh = net.create(3, ann.Izhikevich, name="izh")
    injection = net.connect(ann.CurrentInjection(stepwise, izh, "exc", name="injection"))
    injection.connect_current()
    monitors = {"scheduled": net.monitor(scheduled, "r"), "stepwise": net.monitor(stepwise, "r"),
                "poisson_expr": net.monitor(poisson, "rates"), "izh": net.monitor(izh, ["v", "spike"])}
    net.compile(directory=os.path.join(build_root, "inputs"), compiler_flags=COMPILER_FLAGS, silent=True)
    net.simulate(steps * dt)
    traces = {"scheduled": monitors["scheduled"].get("r"), "stepwise": monitors["stepwise"].get("r"),
              "poisson_expr": monitors["poisson_expr"].get("rates")}
    izh_data = monitors["izh"].get()
    expected = {"annarchy": ann.__release__, "dt": dt, "steps": steps,
                "traces": {name: np.asarray(values).tolist() for name, values in traces.items()},
                "izh_v": np.asarray(izh_data["v"]).tolist(),
                "izh_spikes": {str(rank): [int(s) for s in times] for rank, times in izh_data["spike"].items()},
                "prepost_sums": _prepost_sums(build_root), "methods": _methods(build_root)}
    with open(os.path.join(folder, "recording.json"), "w") as handle:
        json.dump(expected, handle, indent=1)
        handle.write("\n")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--models"]:
        text = json.dumps(model_definitions(), indent=1) + "\n"
        if len(argv) > 1 and argv[1] != "-":
            with open(argv[1], "w") as handle:
                handle.write(text)
        else:
            sys.stdout.write(text)
        return
    out = os.path.abspath(argv[0] if argv else os.path.dirname(os.path.abspath(__file__)))
    only = argv[1:] or list(NETWORKS) + ["inputs", "semiimplicit"]
    build_root = os.environ.get("ANNARCHY_BUILD_DIR", os.path.join(out, "_annarchy_build"))
    with open(os.path.join(out, "models.json"), "w") as handle:
        handle.write(json.dumps(model_definitions(), indent=1) + "\n")
    for name in only:
        if name == "inputs":
            make_inputs(out, build_root)
        elif name == "semiimplicit":
            make_semiimplicit(out, build_root)
        else:
            make_network(name, out, build_root)
        print(f"{name}: done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
