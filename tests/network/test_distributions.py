import numpy as np
import pytest

import gpunet as gn


@pytest.mark.parametrize("distribution, check", [
    (gn.Uniform(-1.0, 2.0), lambda v: v.min() >= -1.0 and v.max() < 2.0 and abs(v.mean() - 0.5) < 0.05),
    (gn.Normal(3.0, 0.5), lambda v: abs(v.mean() - 3.0) < 0.02 and abs(v.std() - 0.5) < 0.02),
    (gn.Normal(0.0, 1.0, min=-0.5, max=0.5), lambda v: v.min() == -0.5 and v.max() == 0.5),
    (gn.LogNormal(0.0, 0.25), lambda v: v.min() > 0 and abs(np.log(v).mean()) < 0.01),
    (gn.DiscreteUniform(2, 5), lambda v: set(np.unique(v)) == {2.0, 3.0, 4.0, 5.0}),
    # ANNarchy 5 draws Exponential(Lambda) with numpy's scale Lambda: mean Lambda, standard deviation Lambda
    (gn.Exponential(2.5), lambda v: v.min() >= 0 and abs(v.mean() - 2.5) < 0.06 and abs(v.std() - 2.5) < 0.08),
    (gn.Exponential(1.0, max=2.0), lambda v: v.max() == 2.0 and abs((v == 2.0).mean() - np.exp(-2.0)) < 0.01),
    (gn.Gamma(3.0, 0.5), lambda v: abs(v.mean() - 1.5) < 0.02 and abs(v.var() - 0.75) < 0.03),
    (gn.Gamma(2.0, min=0.5), lambda v: v.min() == 0.5 and abs(v.mean() - 2.0) < 0.04),
    (gn.Binomial(10, 0.3), lambda v: set(np.unique(v)) <= set(map(float, range(11))) and abs(v.mean() - 3.0) < 0.03
     and abs(v.var() - 2.1) < 0.06),
])
def test_distributions_draw_what_they_say(numpy_net, distribution, check):
    pop = numpy_net.create(20_000, gn.Izhikevich)
    pop.v = distribution
    assert check(pop.v)


def test_draws_are_reproducible_from_the_seed():
    def build(seed):
        net = gn.Network(seed=seed, backend="numpy")
        pop = net.create(10, gn.Izhikevich)
        pop.v = gn.Normal(-65.0, 3.0)
        return pop.v
    assert np.array_equal(build(1), build(1))
    assert not np.array_equal(build(1), build(2))


@pytest.mark.parametrize("make", [lambda: gn.Uniform(1.0, 0.0), lambda: gn.Normal(0.0, -1.0),
                                  lambda: gn.DiscreteUniform(3, 1), lambda: gn.LogNormal(0.0, -0.1),
                                  lambda: gn.Exponential(-1.0), lambda: gn.Gamma(0.0), lambda: gn.Gamma(1.0, -2.0),
                                  lambda: gn.Binomial(2.5, 0.5), lambda: gn.Binomial(3, 1.5)])
def test_invalid_distributions_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_a_distribution_for_a_global_is_refused(numpy_net):
    pop = numpy_net.create(3, gn.LeakyIntegrator)
    with pytest.raises(ValueError, match="is global"):
        pop.tau = gn.Uniform(0.0, 1.0)
