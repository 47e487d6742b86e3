"""Model description language: Neuron, Synapse and the built-in models."""
from gpunet.model.builtin_neurons import (IF_cond_exp, IF_curr_exp, Izhikevich, LeakyIntegrator,
                                          PoissonNeuron, SpikeSourceNeuron)
from gpunet.model.builtin_synapses import STDP, DefaultRate, DefaultSpiking, Hebb, Oja
from gpunet.model.declarations import Constant, Parameter, Variable
from gpunet.model.description import Neuron, Synapse
from gpunet.model.ir import Attribute, ModelSpec, Statement

__all__ = ["Neuron", "Synapse", "Izhikevich", "LeakyIntegrator", "IF_curr_exp", "IF_cond_exp",
           "PoissonNeuron", "SpikeSourceNeuron", "STDP", "Hebb", "Oja", "DefaultSpiking",
           "DefaultRate", "Attribute", "ModelSpec", "Statement", "Parameter", "Variable", "Constant"]
