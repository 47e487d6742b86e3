"""Networks, populations, projections, monitors and the simulation loop."""
from gpunet.network.distributions import (Binomial, DiscreteUniform, Distribution, Exponential, Gamma, LogNormal,
                                          Normal, Uniform)
from gpunet.network.monitor import Monitor
from gpunet.network.network import (Network, clear, compile, default_network, disable_learning, enable_learning,
                                    get_current_step, get_time, reset, setup, simulate, simulate_until, step)
from gpunet.network.population import PoissonPopulation, Population, PopulationView, SpikeSourceArray
from gpunet.network.projection import Dendrite, Projection
from gpunet.network.inputs import CurrentInjection, HomogeneousCorrelatedSpikeTrains, TimedArray, TimedPoissonPopulation

__all__ = ["Network", "Population", "PopulationView", "PoissonPopulation", "SpikeSourceArray", "Projection",
           "TimedArray", "TimedPoissonPopulation", "CurrentInjection", "HomogeneousCorrelatedSpikeTrains",
           "Dendrite", "Monitor", "Uniform", "Normal", "LogNormal", "DiscreteUniform", "Exponential", "Gamma",
           "Binomial", "Distribution", "setup",
           "clear", "compile", "simulate", "simulate_until", "enable_learning", "disable_learning", "step",
           "get_time", "get_current_step", "reset", "default_network"]
