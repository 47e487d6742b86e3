"""Write the complete CUDA source of every built-in model and example network (``gpunet kernels``).

One file per built-in model and precision (``neuron_Izhikevich_f64.cu``,
``synapse_STDP_f32.cu``, ...), one per example network and precision with all
its models in one translation unit (``network_reference_network_f64.cu``),
one per input and precision (``input_TimedArray_f64.cu``, ...; see
:data:`INPUTS`) and all inputs in one unit (``network_inputs_f64.cu``),
one per network of the model language's features
(``network_parity_language_f64.cu``: semiglobal variables, ``pre.sum()``,
every integration method; see :func:`feature_networks`), plus ``rng.cu``
and ``pack.cu``.  Every file is self-contained, so CI can
compile each with ``nvcc --ptx`` (:mod:`gpunet.codegen.cuda.nvcc`).
"""
from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any, Callable, Optional, TextIO

from gpunet.codegen.cuda.clocked import clocked_unit, step_source
from gpunet.codegen.cuda.codegen import model_unit, module_source, network_units, pack_source, rng_source
from gpunet.codegen.cuda.common import PRECISION_SUFFIX
from gpunet.codegen.cuda.inputs import input_kind, input_unit

PRECISIONS = ("float32", "float64")


def builtin_models() -> dict[str, Any]:
    """The built-in neuron and synapse models, by name."""
    from gpunet import model
    names = ("Izhikevich", "LeakyIntegrator", "IF_curr_exp", "IF_cond_exp", "IF_curr_alpha", "IF_cond_alpha",
             "EIF_cond_exp_isfa_ista", "HH_cond_exp", "PoissonNeuron", "SpikeSourceNeuron",
             "STDP", "STP", "Hebb", "Oja", "DefaultSpiking", "DefaultRate")
    return {name: getattr(model, name) for name in names}


def example_networks() -> dict[str, Callable[[], Any]]:
    """Builders of the example networks of :mod:`gpunet.examples` (small sizes, NumPy backend).

    Every public function of that module whose name ends in ``_network`` is
    an example; ``backend="numpy"`` and a small ``neurons`` are passed when it
    takes them.
    """
    from gpunet import examples
    builders: dict[str, Callable[[], Any]] = {}
    for name, function in vars(examples).items():
        if name.startswith("_") or not name.endswith("_network") or not inspect.isfunction(function):
            continue
        if function.__module__ != examples.__name__:
            continue
        parameters = inspect.signature(function).parameters
        options = {key: value for key, value in (("backend", "numpy"), ("neurons", 20)) if key in parameters}
        builders[name] = lambda function=function, options=options: function(**options)
    return builders


#: The inputs whose kernels are emitted (one file each per precision: ``input_<name>_<f64|f32>.cu``).
INPUTS = ("TimedArray", "TimedPoissonPopulation", "HomogeneousCorrelatedSpikeTrains", "CurrentInjection")


def input_network() -> Any:
    """A small NumPy network holding one of each input of :data:`INPUTS` (by name), for their kernels."""
    import gpunet as gn
    net = gn.Network(backend="numpy", runner="numpy")
    timed = gn.TimedArray(rates=[[0.0, 1.0], [1.0, 0.0]], schedule=[0.0, 10.0], period=20.0, name="TimedArray",
                          network=net)
    gn.TimedPoissonPopulation(2, rates=[10.0, 20.0], schedule=[0.0, 10.0], name="TimedPoissonPopulation",
                              network=net)
    gn.HomogeneousCorrelatedSpikeTrains(2, rates=10.0, corr=0.1, tau=10.0, refractory=2.0,
                                        name="HomogeneousCorrelatedSpikeTrains", network=net)
    post = net.create(2, gn.IF_curr_exp, name="post")
    gn.CurrentInjection(timed, post, "exc", name="CurrentInjection", network=net).connect_current()
    return net


def feature_networks() -> dict[str, Callable[[], Any]]:
    """Builders of networks whose models use the model language's features beyond the built-in models.

    The GPU parity tests run them (:data:`gpunet.testing.parity.NETWORKS`):
    ``parity_language`` has semiglobal (``postsynaptic``) variables,
    ``pre.sum()``/``post.sum()`` in synapse equations and one ODE per
    integration method.
    """
    from gpunet.testing import parity
    return {"parity_language": lambda: parity.NETWORKS["language"]("numpy", "float64")}


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def emit_all(directory: Path | str) -> list[Path]:
    """Write every generated CUDA source into ``directory`` (created if needed).

    Parameters
    ----------
    directory : path
        Output folder; existing files of the same names are replaced.

    Returns
    -------
    list of Path
        The files written, in a stable order.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [_write(directory, "rng.cu", rng_source()), _write(directory, "pack.cu", pack_source()),
             _write(directory, "step.cu", step_source())]
    for name, model in builtin_models().items():
        spec = model.spec
        for precision in PRECISIONS:
            unit = model_unit(spec, precision)
            paths.append(_write(directory, f"{spec.kind}_{name}_{PRECISION_SUFFIX[precision]}.cu", unit.source))
        # the clocked kernels a CUDA graph of a step replays (float64; float32 differs in types only)
        paths.append(_write(directory, f"clocked_{spec.kind}_{name}_f64.cu",
                            clocked_unit(model_unit(spec, "float64")).source))
    inputs = input_network()
    for name in INPUTS:
        obj = inputs.get_projection(name) if name == "CurrentInjection" else inputs.get_population(name)
        indexes = ("int32", "int64") if input_kind(obj) == "current" else ("int32",)
        for precision in PRECISIONS:
            for index in indexes:
                suffix = PRECISION_SUFFIX[precision] + ("_i64" if index == "int64" else "")
                paths.append(_write(directory, f"input_{name}_{suffix}.cu",
                                    input_unit(obj, precision, index).source))
    for precision in PRECISIONS:
        title = f"the inputs' kernels in one translation unit ({precision})"
        paths.append(_write(directory, f"network_inputs_{PRECISION_SUFFIX[precision]}.cu",
                            module_source(network_units(inputs, precision), title)))
    for name, build in {**example_networks(), **feature_networks()}.items():
        network = build()
        for precision in PRECISIONS:
            units = network_units(network, precision)
            title = f"the models of example network {name} ({precision})"
            paths.append(_write(directory, f"network_{name}_{PRECISION_SUFFIX[precision]}.cu",
                                module_source(units, title)))
    return paths


def kernels_command(directory: Path | str, check: bool = False, arch: Optional[str] = None,
                    jobs: Optional[int] = None, out: Optional[TextIO] = None) -> int:
    """``gpunet kernels --emit DIR [--check]``: emit, optionally compile each file; return the exit status.

    Without ``nvcc`` the check is skipped with a message saying why (status 0);
    a file that does not compile makes the status 1.
    """
    import sys

    from gpunet.codegen.cuda import nvcc
    out = out or sys.stdout
    paths = emit_all(directory)
    print(f"gpunet kernels: wrote {len(paths)} CUDA sources to {Path(directory)}", file=out)
    if not check:
        return 0
    compiler = nvcc.find_nvcc()
    if compiler is None:
        print("gpunet kernels: compile check skipped: nvcc not found (not on PATH, nor in $CUDA_HOME/bin "
              "or $CUDA_PATH/bin)", file=out)
        return 0
    arch = arch or nvcc.DEFAULT_ARCH
    start = time.perf_counter()
    results = nvcc.compile_all(paths, compiler, arch, jobs)
    for result in results:
        print(result.line(), file=out)
    failed = [r for r in results if not r.ok]
    print(f"gpunet kernels: {len(results) - len(failed)} of {len(results)} compiled with {compiler} -arch={arch} "
          f"--ptx in {time.perf_counter() - start:.1f} s", file=out)
    for result in failed:
        print(f"--- {result.path.name}\n{result.output}", file=out)
    return 1 if failed else 0
