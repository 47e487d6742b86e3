"""Model description language: Neuron, Synapse and the built-in models."""
from gpunet.model.builtin_neurons import (EIF_cond_exp_isfa_ista, HH_cond_exp, IF_cond_alpha, IF_cond_exp,
                                          IF_curr_alpha, IF_curr_exp, Izhikevich, LeakyIntegrator, PoissonNeuron,
                                          SpikeSourceNeuron)
from gpunet.model.builtin_synapses import STDP, STP, DefaultRate, DefaultSpiking, Hebb, Oja
from gpunet.model.declarations import Constant, Parameter, Variable
from gpunet.model.description import Neuron, Synapse
from gpunet.model.global_functions import add_function
from gpunet.model.ir import Attribute, ModelSpec, Statement

__all__ = ["Neuron", "Synapse", "Izhikevich", "LeakyIntegrator", "IF_curr_exp", "IF_cond_exp",
           "IF_curr_alpha", "IF_cond_alpha", "EIF_cond_exp_isfa_ista", "HH_cond_exp",
           "PoissonNeuron", "SpikeSourceNeuron", "STDP", "STP", "Hebb", "Oja", "DefaultSpiking",
           "DefaultRate", "add_function", "Attribute", "ModelSpec", "Statement", "Parameter", "Variable", "Constant"]
