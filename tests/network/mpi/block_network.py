"""The networks of the per-block build tests, built the same way by one process or by N under mpiexec.

:func:`every_connector`: one projection per connector (all_to_all, one_to_one, fixed_probability,
fixed_number_pre, fixed_number_post, from_matrix, from_sparse, from_list), with self-connections left out, weights
and delays of every distribution; :func:`big`: two projections of about 0.7 million synapses together, for the
memory a process needs to build its part.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse

import gpunet as gn


def matrices(n_pre: int = 9, n_post: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """A (post, pre) weight matrix with NaN (no synapse) at about half the entries, and a delay matrix."""
    generator = np.random.default_rng(4)
    dense = generator.uniform(0.0, 1.0, (n_post, n_pre))
    dense[generator.uniform(size=dense.shape) < 0.5] = np.nan
    delays = generator.uniform(1.0, 5.0, (n_post, n_pre))
    return dense, delays


def every_connector(comm=None, precision: str = "float64") -> gn.Network:
    """One network with each connector, weights and delays of every kind the per-block build takes."""
    net = gn.Network(backend="numpy", seed=21, runner="numpy", comm=comm, precision=precision)
    a = net.create(14, gn.Izhikevich, name="a")
    b = net.create(11, gn.Izhikevich, name="b")
    r = net.create(9, gn.LeakyIntegrator, name="r")
    dense, delays = matrices(14, 11)
    net.connect(a, b, "exc", gn.STDP, name="all").connect_all_to_all(gn.Normal(0.5, 0.1), gn.Uniform(1.0, 4.0))
    net.connect(a, a, "exc", name="self").connect_all_to_all(gn.Uniform(0.0, 1.0), 2.0)
    net.connect(b, b, "exc", name="one").connect_one_to_one(gn.Exponential(0.5), gn.DiscreteUniform(1, 3))
    net.connect(a, b, "inh", name="prob").connect_fixed_probability(0.4, gn.Uniform(0.1, 0.9),
                                                                    gn.Uniform(1.0, 6.0))
    net.connect(a, a, "inh", name="prob_self").connect_fixed_probability(0.3, gn.Gamma(2.0, 0.2), 3.0)
    net.connect(b, a, "exc", name="npre").connect_fixed_number_pre(4, gn.LogNormal(0.0, 0.3),
                                                                   gn.Normal(3.0, 1.0, min=1.0, max=5.0))
    net.connect(a, b, "exc", name="npost").connect_fixed_number_post(3, 0.25, gn.Uniform(1.0, 3.0))
    net.connect(a, b, "exc", name="matrix").connect_from_matrix(dense, delays=delays)
    net.connect(a, b, "inh", name="sparse").connect_from_sparse(
        scipy.sparse.csr_matrix(np.nan_to_num(dense.T, nan=0.0)), delays=gn.Uniform(1.0, 2.0))
    net.connect(b, b, "inh", name="list").connect_from_list([(0, 3, 0.5, 2.0), (4, 1, 0.25, 5.0), (2, 10, 1.0, 1.0)])
    net.connect(r, r, "exc", name="rate").connect_fixed_number_pre(2, gn.Uniform(-0.5, 0.5))
    return net


def big(comm=None) -> gn.Network:
    """About 0.7 million STDP synapses: all_to_all 500 x 900 and fixed_probability 0.3 of 900 x 900."""
    net = gn.Network(backend="numpy", seed=8, runner="numpy", comm=comm)
    pre = net.create(500, gn.Izhikevich, name="pre")
    post = net.create(900, gn.Izhikevich, name="post")
    net.connect(pre, post, "exc", gn.STDP, name="dense").connect_all_to_all(gn.Uniform(0.0, 1.0),
                                                                            gn.Uniform(1.0, 5.0))
    net.connect(post, post, "exc", gn.STDP, name="sparse").connect_fixed_probability(0.3, gn.Normal(0.5, 0.1),
                                                                                     2.0)
    return net


def assign_after_compile(net: gn.Network) -> None:
    """Distributions assigned to a compiled network: each process draws its part (skipped or jumped to)."""
    net.get_population("a").v = gn.Normal(-65.0, 3.0)
    net.get_population("b").u = gn.Uniform(-14.0, -12.0)
    net.get_projection("prob").w = gn.Gamma(2.0, 0.1)
    net.get_projection("all").x = gn.Uniform(0.0, 0.5)


def whole_results(net: gn.Network) -> dict[str, np.ndarray]:
    """Every projection's connectivity, weights and delays, the neurons' v and u, STDP's x (gathered on every
    process under comm)."""
    out = {f"{p.name}.{name}": np.asarray(getattr(p, name), dtype=np.float64) for p in net.populations
           for name in ("v", "u") if name in p.spec.attributes}
    out["all.x"] = np.asarray([x for row in net.get_projection("all").x for x in row])
    for projection in net.projections:
        out[f"{projection.name}.connectivity"] = np.concatenate(projection.connectivity())
        out[f"{projection.name}.w"] = np.asarray([w for row in projection.w for w in row], dtype=np.float64)
        delays = projection.delays
        out[f"{projection.name}.delays"] = np.asarray(delays if np.isscalar(delays) else
                                                      [d for row in delays for d in row], dtype=np.float64)
    return out
