"""The network of the distributed-engine tests, built the same way by one process or by N under mpiexec.

Spiking: Poisson input (uniform noise) -> Izhikevich neurons with Normal noise, STDP with per-synapse delays
of 2 to 6 ms, a recurrent static projection of 3 ms, spikes at given times from a SpikeSourceArray (so the
minimum delay, the exchange interval, is 2 steps).
Rate-coded: leaky integrators with uniform noise -> Oja synapses -> leaky integrators, plus a recurrent one,
and a projection whose synapses read ``pre.sum(exc)`` and ``post.sum(exc)`` with a semiglobal (postsynaptic)
variable and parameter.
Scheduled inputs: a TimedArray into the leaky integrators, another injected into the Izhikevich neurons as a
current (CurrentInjection), a TimedPoissonPopulation and HomogeneousCorrelatedSpikeTrains onto them (delays of
2 ms and more: the exchange interval stays 2 steps).
Monitors: whole populations, a projection (its semiglobal variable too), and population views (one unordered).
"""
from __future__ import annotations

import numpy as np

import gpunet as gn

RateNoise = gn.Neuron(
    parameters="tau = 10.0 : population\nB = 0.5",
    equations="tau * dv/dt + v = sum(exc) + B + Uniform(-0.5, 0.5)\nr = pos(v)",
    name="NoisyRate")
ReadsSums = gn.Synapse(
    parameters="eta = 0.02 : projection\ntau_a = 5.0 : postsynaptic",
    equations="tau_a * da/dt + a = post.r : postsynaptic\n"
              "dw/dt = eta * (pre.sum(exc) * post.r - 0.5 * post.sum(exc) * a * w) : min = -1.0, max = 1.0",
    name="ReadsSums")


def build(comm=None, seed: int = 2024, recurrent_delay: float = 3.0, backend: str = "numpy",
          runner: str = "numpy") -> gn.Network:
    """The network (not compiled); ``comm`` None builds the plain one-process network."""
    net = gn.Network(dt=1.0, seed=seed, backend=backend, runner=runner, comm=comm)
    inp = net.create(gn.PoissonPopulation(23, rates=60.0, name="inp"))
    exc = net.create(37, gn.Izhikevich, name="exc")
    exc.noise = 3.0
    exc.i_offset = gn.Uniform(2.0, 6.0)
    exc.v = gn.Uniform(-70.0, -60.0)
    stdp = net.connect(inp, exc, "exc", gn.STDP(A_plus=0.05, A_minus=0.05), name="stdp")
    stdp.connect_fixed_probability(0.4, weights=gn.Uniform(0.5, 2.0), delays=gn.Uniform(2.0, 6.0))
    net.connect(exc, exc, "inh", name="recurrent").connect_fixed_probability(0.2, weights=0.5,
                                                                              delays=recurrent_delay)
    times = [[float(t) for t in range(3 + k, 200, 7 + k)] for k in range(6)]
    source = net.create(gn.SpikeSourceArray(times, name="source"))
    net.connect(source, exc, "exc", name="timed").connect_fixed_probability(0.5, weights=2.0, delays=2.0)
    rin = net.create(17, RateNoise, name="rin")
    rout = net.create(11, gn.LeakyIntegrator, name="rout")
    rout.B = gn.Uniform(0.0, 1.0)
    oja = net.connect(rin, rout, "exc", gn.Oja(eta=0.05), name="oja")
    oja.connect_fixed_probability(0.5, weights=gn.Uniform(0.0, 0.3))
    net.connect(rin, rin, "exc", name="rrec").connect_fixed_number_pre(3, weights=gn.Normal(0.0, 0.2))
    sums = net.connect(rin, rout, "exc", ReadsSums, name="sums")
    sums.connect_fixed_probability(0.4, weights=gn.Uniform(-0.2, 0.2))
    rates = [[0.1 * ((k * 7 + i) % 5) for i in range(11)] for k in range(4)]
    timed = net.create(gn.TimedArray(rates, schedule=[0.0, 30.0, 70.0, 120.0], period=150.0, name="ta"))
    net.connect(timed, rout, "exc", name="fromta").connect_fixed_probability(0.5, weights=gn.Uniform(0.0, 0.5))
    currents = net.create(gn.TimedArray([[0.5 * (i % 4) for i in range(37)], [1.0] * 37], schedule=[0.0, 50.0],
                                        name="currents"))
    gn.CurrentInjection(currents, exc, "exc", name="inject", network=net).connect_current()
    tpoisson = net.create(gn.TimedPoissonPopulation(9, rates=[20.0, [5.0 * i for i in range(9)], 60.0],
                                                    schedule=[0.0, 40.0, 110.0], name="tp"))
    net.connect(tpoisson, exc, "exc", name="fromtp").connect_fixed_probability(0.3, weights=1.5, delays=2.0)
    correlated = net.create(gn.HomogeneousCorrelatedSpikeTrains(7, rates=[30.0, 50.0], corr=[0.3, 0.6], tau=10.0,
                                                                 schedule=[0.0, 90.0], name="hc"))
    net.connect(correlated, exc, "exc", name="fromhc").connect_fixed_probability(0.4, weights=1.0,
                                                                                 delays=gn.Uniform(2.0, 4.0))
    net.monitor(exc, ["spike", "v"], name="m_exc")
    net.monitor(inp, ["spike"], name="m_inp")
    net.monitor(tpoisson, ["spike"], name="m_tp")
    net.monitor(correlated, ["spike"], name="m_hc")
    net.monitor(oja, ["w"], period=10.0, name="m_oja")
    net.monitor(sums, ["a", "w"], period=7.0, name="m_sums")
    net.monitor(exc[[30, 2, 17, 9, 36, 0, 21]], ["spike", "v", "u"], period=3.0, name="m_view")
    net.monitor(rin[4:13], ["r"], name="m_rview")
    return net


def build_uneven(comm=None, long_delay: float = 9.0) -> gn.Network:
    """A small network whose longest delays are on the synapses onto its last 2 of 8 neurons (the rows of the
    last process of 2 or more): the processes' own synapses need spike rings of different depths."""
    net = gn.Network(dt=1.0, seed=5, backend="numpy", runner="numpy", comm=comm)
    source = net.create(gn.PoissonPopulation(6, rates=200.0, name="src"))
    target = net.create(8, gn.Izhikevich, name="dst")
    delays = np.full((8, 6), 2.0)
    delays[6:, :] = long_delay
    net.connect(source, target, "exc", name="p").connect_from_matrix(np.full((8, 6), 5.0), delays=delays)
    return net


def build_and_assign(comm=None, seed: int = 2024, backend: str = "numpy", runner: str = "numpy") -> gn.Network:
    """:func:`build`, compiled, then values assigned as a user would (under comm: each process keeps its part)."""
    net = build(comm, seed, backend=backend, runner=runner)
    net.compile()
    exc, rout = net.get_population("exc"), net.get_population("rout")
    exc[5:20].v = -62.0                                  # a view
    exc.u = exc.v * 0.2                                  # a whole array read (gathered) and written back
    rout.B = gn.Uniform(0.0, 2.0)                        # a distribution drawn for the whole population
    stdp, oja = net.get_projection("stdp"), net.get_projection("oja")
    stdp.w = [[min(w * 1.5, 2.0) for w in row] for row in stdp.w]  # one row per post neuron
    oja.w = gn.Uniform(0.0, 0.4)
    net.get_projection("recurrent").w = 0.4
    sums = net.get_projection("sums")
    sums.tau_a = gn.Uniform(3.0, 8.0)                    # a semiglobal: one per post neuron with synapses
    sums.a = [0.1 * k for k in range(len(sums.a))]
    return net


def results(net: gn.Network) -> dict[str, np.ndarray]:
    """Everything the tests compare, for the whole network (gathered on every process under comm)."""
    out: dict[str, np.ndarray] = {"t": np.asarray(net.get_time())}
    for population in net.populations:
        for name in population.spec.variables:
            out[f"{population.name}.{name}"] = np.asarray(getattr(population, name), dtype=np.float64)
    for projection in net.projections:
        post_ranks, row_ptr, pre_ranks = projection.connectivity()
        out[f"{projection.name}.connectivity"] = np.concatenate([post_ranks, row_ptr, pre_ranks])
        assert projection.post_ranks == post_ranks.tolist() and len(projection) == len(post_ranks)
        assert projection.nb_synapses_per_dendrite() == np.diff(row_ptr).tolist()
        delays = projection.delays
        out[f"{projection.name}.delays"] = np.asarray(delays if np.isscalar(delays) else np.concatenate(delays))
        for name in projection.spec.attributes:
            rows = getattr(projection, name)
            if projection.spec.attributes[name].semiglobal:  # one value per post neuron with synapses
                out[f"{projection.name}.{name}"] = np.asarray(rows, dtype=np.float64)
            elif projection.spec.attributes[name].is_global:
                out[f"{projection.name}.{name}"] = np.asarray(rows, dtype=np.float64)
            else:
                out[f"{projection.name}.{name}"] = np.concatenate([np.asarray(r, dtype=np.float64)
                                                                   for r in rows])
    for monitor in net.monitors:
        for name, value in monitor.get(keep=True).items():
            if name == "spike":
                ranks = [rank for rank, steps in value.items() for _ in steps]
                steps = [s for _, steps in value.items() for s in steps]
                out[f"{monitor.name}.spike"] = np.asarray([ranks, steps], dtype=np.int64)
            else:
                out[f"{monitor.name}.{name}"] = np.asarray(value)
    return out


def build_spiking(comm=None, runner: str = "numpy") -> gn.Network:
    """The spiking part of :func:`build` with delays of 3 ms and more and no current injection: no projection
    reads a pre-synaptic value, so the compiled runner under comm runs whole exchange intervals (3 steps) in C++.
    Monitors: spikes (a view's too) every step, ``v`` every 10 ms."""
    net = gn.Network(dt=1.0, seed=99, backend="numpy", runner=runner, comm=comm)
    inp = net.create(gn.PoissonPopulation(23, rates=60.0, name="inp"))
    exc = net.create(37, gn.Izhikevich, name="exc")
    exc.noise = 3.0
    exc.i_offset = gn.Uniform(2.0, 6.0)
    exc.v = gn.Uniform(-70.0, -60.0)
    stdp = net.connect(inp, exc, "exc", gn.STDP(A_plus=0.05, A_minus=0.05), name="stdp")
    stdp.connect_fixed_probability(0.4, weights=gn.Uniform(0.5, 2.0), delays=gn.Uniform(3.0, 7.0))
    net.connect(exc, exc, "inh", name="recurrent").connect_fixed_probability(0.2, weights=0.5, delays=3.0)
    times = [[float(t) for t in range(3 + k, 200, 7 + k)] for k in range(6)]
    source = net.create(gn.SpikeSourceArray(times, name="source"))
    net.connect(source, exc, "exc", name="timed").connect_fixed_probability(0.5, weights=2.0, delays=3.0)
    correlated = net.create(gn.HomogeneousCorrelatedSpikeTrains(7, rates=[30.0, 50.0], corr=[0.3, 0.6], tau=10.0,
                                                                 schedule=[0.0, 90.0], name="hc"))
    net.connect(correlated, exc, "exc", name="fromhc").connect_fixed_probability(0.4, weights=1.0,
                                                                                 delays=gn.Uniform(3.0, 5.0))
    net.monitor(exc, ["spike"], name="m_exc")
    net.monitor(exc, ["v"], period=10.0, name="m_v")
    net.monitor(inp, ["spike"], name="m_inp")
    net.monitor(correlated, ["spike"], name="m_hc")
    net.monitor(exc[[30, 2, 17, 9, 36, 0, 21]], ["spike"], name="m_view")
    return net
