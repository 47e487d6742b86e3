"""gpunet: neural networks whose state lives on the GPU, saved and restored without loss.

The API follows ANNarchy's::

    import gpunet as gn
    gn.setup(dt=1.0, seed=42)
    pop0 = gn.Population(100, gn.Izhikevich, name="pop0")
    pop1 = gn.Population(100, gn.Izhikevich, name="pop1")
    proj = gn.Projection(pop0, pop1, "exc", gn.STDP, name="proj0")
    proj.connect_fixed_probability(0.1, weights=gn.Uniform(0.0, 0.01), delays=2.0)
    gn.compile()
    gn.simulate(1000.0)
    gn.save("state.npz")
"""
import os as _os

if _os.environ.get("GPUNET_CUPY_STANDIN") == "1":  # CuPy stand-in switch (no GPU): see gpunet.testing.cupy_standin
    from gpunet.testing.cupy_standin import install as _install_cupy_standin
    _install_cupy_standin()  # registered as the modules cupy and cupyx before gpunet.backend imports them

from gpunet.backend import gpu_available  # noqa: E402
from gpunet.errors import (BackendError, FileAccessError, FormatError, GpunetError, ModelError,  # noqa: E402
                           StructureError, UnsafeFileError)
from gpunet.api import load, load_latest, load_parameters, save, save_parameters, wait_for_saves  # noqa: E402
from gpunet.io.api import read_state  # noqa: E402
from gpunet.io.pipeline.saving import SaveHandle, SaveOptions, SaveQueueFull
from gpunet.io.pipeline.restore import LoadWarning
from gpunet.io.snapshots import Snapshotter, SnapshotWarning, list_snapshots
from gpunet.model import (STDP, STP, Constant, EIF_cond_exp_isfa_ista, Hebb, HH_cond_exp, IF_cond_alpha,
                          IF_cond_exp, IF_curr_alpha, IF_curr_exp, Izhikevich, LeakyIntegrator, Neuron, Oja,
                          Parameter, Synapse, Variable, add_function)
from gpunet.codegen.numpy.generator import functions
from gpunet.network import (Binomial, CurrentInjection, DiscreteUniform, Exponential, Gamma, LogNormal,
                            HomogeneousCorrelatedSpikeTrains, TimedArray, TimedPoissonPopulation, Monitor, Network, Normal, PoissonPopulation, Population,
                            PopulationView, Projection, SpikeSourceArray, Uniform, clear, compile,
                            default_network, disable_learning, enable_learning, get_current_step, get_time, reset,
                            setup, simulate, simulate_until, step)
from gpunet.version import __version__

__all__ = [
    "__version__", "setup", "clear", "compile", "simulate", "simulate_until", "enable_learning",
    "disable_learning", "step", "get_time", "get_current_step", "reset",
    "default_network", "Network", "Population", "PopulationView", "PoissonPopulation", "SpikeSourceArray",
    "TimedArray", "TimedPoissonPopulation", "CurrentInjection", "HomogeneousCorrelatedSpikeTrains",
    "Projection", "Monitor", "Neuron", "Synapse", "Parameter", "Variable", "Constant", "add_function", "functions", "Izhikevich", "LeakyIntegrator", "IF_curr_exp", "IF_cond_exp",
    "IF_curr_alpha", "IF_cond_alpha", "EIF_cond_exp_isfa_ista", "HH_cond_exp", "STDP", "STP", "Hebb", "Oja", "Uniform", "Normal", "LogNormal", "DiscreteUniform", "Exponential", "Gamma", "Binomial", "gpu_available",
    "GpunetError", "FormatError", "UnsafeFileError", "StructureError", "ModelError", "BackendError",
    "FileAccessError",
    "save_parameters", "load_parameters", "save", "load", "read_state", "wait_for_saves", "SaveHandle",
    "SaveQueueFull", "SaveOptions", "Snapshotter", "list_snapshots", "load_latest", "LoadWarning",
    "SnapshotWarning",
]
