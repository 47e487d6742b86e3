"""CUDA code of a neuron model: the fused per-neuron update of ``kernels/neuron_update.cu``.

The element function does, for neuron ``i`` at step ``step``, what
``Population._update`` does with the array code of
:func:`gpunet.codegen.numpy.generator.neuron_update_source`, in the same order:

1. ``active = (refractory[i] == 0)`` (always true without a refractory period);
2. noise: each ``Normal``/``Uniform`` site draws number ``i`` of its stream
   (key ``rng.stream_key(seed, (population.id << 8) | site)``) for ``step``;
   the draw is skipped when a parameter that multiplies the site everywhere
   is zero for this neuron (the array code skips it when the parameter is zero
   for every neuron: the only possible difference is the sign of a zero);
3. the plan's operations (temporaries, assignments, Euler updates), each
   assignment applied only where ``active``;
4. conductances without an equation of their own are set to 0;
5. ``spike = condition && active``; the reset statements for spiking neurons;
6. ``refractory[i] -= 1`` where not active; for spiking neurons
   ``last_spike[i] = step`` and ``refractory[i] = int(refractory_period / dt)``
   (truncated, as ``astype(int32)`` does); ``spiked[i] = spike``.

Equations of global variables (one value per population) that come before
every neuron-wise one run in a kernel of their own, ``neuron_globals``
(:func:`split_global_ops`), launched with one thread before the neuron-wise
kernel: population-wide noise draws take number 0 of their stream, as the
array code's single draw does.
"""
from __future__ import annotations

from typing import Optional

import sympy

from gpunet.codegen.cuda.common import (
    COMMON_PARAMS,
    MERGED_PARAMS,
    REAL_TYPES,
    CudaUnit,
    ElementWriter,
    KernelInfo,
    UnsupportedByCuda,
    attribute_ctype,
    check_signature,
    clipped,
    default_prefix,
    globals_kernel,
    register_name,
    split_global_ops,
    symbols_of,
    table_arguments,
    time_lines,
)
from gpunet.codegen.cuda.templates import render
from gpunet.codegen.plan import Op, continuous_plan, noise_gates, statement_ops, updated_when_refractory
from gpunet.codegen.printers import CudaPrinter
from gpunet.model.ir import ModelSpec


#: Neurons per block item of the merged update kernel (``neuron_update_merged``: one block of threads each).
NEURON_CHUNK = 256


def _check_supported(spec: ModelSpec, ops: list[Op], reset: list[Op]) -> None:
    written_globals = sorted({op.target for op in reset if op.target in spec.global_names})
    if written_globals:
        raise UnsupportedByCuda(f"neuron model {spec.name!r}: the CUDA generator does not assign global "
                                f"variables in reset ({', '.join(written_globals)}); the array code path runs this model")


def global_noise_sites(spec: ModelSpec) -> set[int]:
    """Noise sites drawn once per step for the whole population: those in the equation of a global variable.

    The array code draws the first number of such a site's stream (``Population._global_sites``).
    """
    global_names = set(spec.global_names)
    return {site.index for site in spec.noise_sites
            if any(s.target in global_names and site.symbol in s.expr.free_symbols for s in spec.equations)}


def _check_noise_reads(spec: ModelSpec, global_ops: list[Op]) -> None:
    """The array code draws the noise before the equations: no noise argument nor gate may read an assigned global."""
    assigned = {op.target for op in global_ops if op.kind != "temp"}
    why = f"neuron model {spec.name!r}: the CUDA generator cannot run the global equations of " \
          f"{', '.join(sorted(assigned))} before the neurons' in the array code's order"
    for site in spec.noise_sites:
        read = {s.name for a in (site.arg0, site.arg1) for s in a.free_symbols}
        if read & assigned:
            raise UnsupportedByCuda(f"{why} (a noise argument reads {', '.join(sorted(read & assigned))})")
    for names in noise_gates(spec).values():
        if set(names) & assigned:
            raise UnsupportedByCuda(f"{why} (a noise gate is {', '.join(sorted(set(names) & assigned))})")


def _temporary(name: str) -> str:
    return "tmp_" + name.lstrip("_")


def neuron_unit(spec: ModelSpec, precision: str = "float64", prefix: Optional[str] = None,
                merged: bool = True) -> CudaUnit:
    """The CUDA unit (source and kernel metadata) of neuron model ``spec``.

    Parameters
    ----------
    spec : ModelSpec
        A parsed neuron model.
    precision : {"float64", "float32"}
        Floating type of the population's arrays.
    prefix : str, optional
        C name prefix of the unit's functions (default ``gn_<model>_<f64|f32>``).
    merged : bool
        Whether the unit has the merged update kernel (``"neuron_update_merged"``).

    Returns
    -------
    CudaUnit
        With the kernel of phase ``"neuron_update"``, with ``merged`` ``"neuron_update_merged"``
        (the updates of several populations of the model in one launch, through
        a table of their ``neuron_update`` arguments and block items of
        :data:`NEURON_CHUNK` neurons: a step graph's) and, for a model whose
        equations assign global variables, ``"neuron_globals"`` (one thread,
        launched before the neurons').

    Raises
    ------
    UnsupportedByCuda
        For a model that assigns global variables in ``reset``, or whose
        global equations cannot run before the neurons' in the array code's
        order (:func:`gpunet.codegen.cuda.common.split_global_ops`).
    """
    if spec.kind != "neuron":
        raise ValueError(f"neuron_unit() needs a neuron model, got {spec.kind} model {spec.name!r}")
    real = REAL_TYPES[precision]
    population_sites = global_noise_sites(spec)
    population_noise = {site.symbol.name for site in spec.noise_sites if site.index in population_sites}
    leading, ops = split_global_ops(spec, continuous_plan(spec), f"neuron model {spec.name!r}", population_noise)
    _check_noise_reads(spec, leading)
    reset = statement_ops(spec.reset) if spec.spiking else []
    _check_supported(spec, ops, reset)
    fn = prefix or default_prefix(spec, precision)
    out = ElementWriter(real)
    names: dict[str, str] = {"dt": "dt", "t": "t"}
    printer = CudaPrinter(names, real=real)
    gates = noise_gates(spec)
    if not leading:
        population_sites = set()

    defined = {s.target for s in spec.equations}
    zeroed = [c for c in spec.conductances if c not in defined]
    sites = [site for site in spec.noise_sites if site.index not in population_sites]
    extra = [spec.spike, spec.refractory] + [a for site in sites for a in (site.arg0, site.arg1)]
    used = symbols_of(ops + reset, extra) | set(zeroed) | {g for site in sites for g in gates.get(site.index, [])}
    written = {op.target for op in ops + reset if op.kind != "temp"} | set(zeroed)

    time_lines(out, ("i",))
    for name, attribute in spec.attributes.items():
        if name not in used:
            continue
        ctype = attribute_ctype(attribute, real)
        pointer = out.param(f"a_{name}", f"{ctype}*" if name in written else f"const {ctype}*", "attr", name)
        names[name] = register_name(attribute)
        if attribute.is_global:
            out(f"const {ctype} l_{name} = {pointer}[0];")
        else:
            out(f"{'' if name in written else 'const '}{ctype} l_{name} = {pointer}[i];")
    for target in spec.targets:
        pointer = out.param(f"sum_{target}", f"const {real}*", "sum", target)
        names[f"_sum_{target}"] = f"s_{target}"
        out(f"const {real} s_{target} = {pointer}[i];")
    has_refractory = spec.spiking and spec.refractory is not None
    if has_refractory:
        out.param("refractory", "int*", "attr", "_refractory")
        out("const bool active = refractory[i] == 0;")
    else:
        out("const bool active = true;")
    out("(void)active;")
    _noise_lines(out, spec, names, printer, gates, sites, offset=True)
    for op in ops:
        if op.kind == "temp":
            names[op.target] = _temporary(op.target)
            out(f"const {real} {names[op.target]} = {printer.doprint(op.expr)};")
            continue
        value = printer.doprint(op.expr)
        if op.kind == "update":
            value = f"{names[op.target]} + {value}"
        if updated_when_refractory(op.target):
            out(f"l_{op.target} = {clipped(value, op, printer)};")
        else:
            out(f"if (active) {{ l_{op.target} = {clipped(value, op, printer)}; }}")
    for conductance in zeroed:
        out(f"l_{conductance} = 0;")
    if spec.spiking:
        _spike_lines(out, spec, reset, printer, has_refractory)
    for name in spec.attributes:
        if name in written and name in used:
            out(f"a_{name}[i] = l_{name};")

    params = out.params_text()
    element = tuple(out.params.values())
    body = render("neuron_update.cu", fn=fn, model=spec.name, params=params, args=out.args_text(),
                  body=out.body())
    info = KernelInfo(fn, "neuron_update", COMMON_PARAMS + element)
    check_signature(body, info)
    kernels = {"neuron_update": info}
    if merged:
        body += "\n" + render("neuron_merged.cu", fn=fn, model=spec.name,
                              table_args=table_arguments(element, first=1), chunk=str(NEURON_CHUNK))
        kernels["neuron_update_merged"] = KernelInfo(f"{fn}_merged", "neuron_update_merged",
                                                     COMMON_PARAMS + MERGED_PARAMS, lanes=NEURON_CHUNK)
        check_signature(body, kernels["neuron_update_merged"])
    if leading:
        globals_body, globals_info = _globals_kernel(spec, leading, fn, real, gates, population_sites)
        body = globals_body + "\n" + body
        kernels = {"neuron_globals": globals_info, **kernels}
    return CudaUnit(spec.name, "neuron", precision, fn, body, kernels)


def _globals_kernel(spec: ModelSpec, ops: list[Op], fn: str, real: str, gates: dict[int, list[str]],
                    population_sites: set[int]) -> tuple[str, KernelInfo]:
    """The ``neuron_globals`` kernel: the updates of global variables, once per step (launched with ``n = 1``).

    Population-wide noise draws take number 0 of their stream, as the array
    code's one draw per step does; the assignments apply whatever the
    neurons' refractory state (the array code assigns globals unmasked).
    """
    sites = [site for site in spec.noise_sites if site.index in population_sites]
    body, info = globals_kernel(
        spec, ops, real, fn, "neuron_globals", template="neuron_globals.cu", indices=("i",),
        extra=[a for site in sites for a in (site.arg0, site.arg1)],
        extra_names={g for site in sites for g in gates.get(site.index, [])},
        draws=lambda out, names, printer: _noise_lines(out, spec, names, printer, gates, sites))
    check_signature(body, info)
    return body, info


def _noise_lines(out: ElementWriter, spec: ModelSpec, names: dict, printer: CudaPrinter,
                 gates: dict[int, list[str]], sites: list, offset: bool = False) -> None:
    """Draws of the noise sites, with arguments evaluated as the array code evaluates them.

    With ``offset`` (the neuron-wise kernel) neuron ``i`` draws counter ``i + noise_first``: the global rank of
    the neuron when the kernel runs on one process's block of a population (0 otherwise).

    The array code computes the arguments from the state (in the network's
    precision when they read an attribute, in Python doubles otherwise) and
    the draw ``mean + std * z`` in double, then casts to the precision.
    """
    real = out.real
    double_printer = CudaPrinter({**names, "dt": "dt_host", "t": "t_host"}, real="double")
    attributes = set(spec.attributes)
    counter = "(gn_u64)i"
    if offset and sites:
        counter = f"(gn_u64)(i + {out.param('noise_first', 'const gn_i64', 'noise_first')})"
    for site in sites:
        key = out.param(f"key_{site.index}", "const gn_u64", "key", str(site.index))
        arguments = []
        for argument in (site.arg0, site.arg1):
            reads_state = bool({s.name for s in argument.free_symbols} & attributes)
            text = (printer if reads_state else double_printer).doprint(argument)
            arguments.append(f"(double)({text})")
        draw = "gn_normal" if site.kind == "Normal" else "gn_uniform"
        variable = f"rand_{site.index}"
        names[site.symbol.name] = variable
        out(f"{real} {variable} = ({real})0;")
        condition = " && ".join(f"{names[g]} != 0" for g in gates.get(site.index, []))
        call = f"{variable} = ({real}){draw}({key}, step, {counter}, {arguments[0]}, {arguments[1]});"
        out(f"if ({condition}) {{ {call} }}" if condition else call)


def _spike_lines(out: ElementWriter, spec: ModelSpec, reset: list[Op], printer: CudaPrinter,
                 has_refractory: bool) -> None:
    spiked = out.param("spiked", "bool*", "spiked")
    last_spike = out.param("last_spike", "gn_i64*", "attr", "_last_spike")
    condition = printer.doprint(spec.spike) if spec.spike is not None else "false"
    out(f"const bool spike = ({condition}) && active;")
    if reset:
        out("if (spike) {")
        for op in reset:
            out(f"l_{op.target} = {clipped(printer.doprint(op.expr), op, printer)};", 2)
        out("}")
    if has_refractory:
        period = printer.doprint(spec.refractory if isinstance(spec.refractory, sympy.Basic)
                                 else sympy.Float(spec.refractory))
        out("if (!active) { refractory[i] -= 1; }")
        out("if (spike) {")
        out(f"{last_spike}[i] = step;", 2)
        out(f"refractory[i] = (int)(({period}) / dt);", 2)
        out("}")
    else:
        out(f"if (spike) {{ {last_spike}[i] = step; }}")
    out(f"{spiked}[i] = spike;")
