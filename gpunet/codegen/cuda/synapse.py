"""CUDA code of a synapse model: event, continuous and weighted-sum kernels.

Each phase mirrors one function of :mod:`gpunet.codegen.numpy.generator`:

* ``pre_events`` (``kernels/spike_propagation.cu``) = ``pre_event``: per
  synapse, event-driven traces decay by ``exp(dt * (last - (step - 1)) / tau)``,
  ``last = step``, then the ``pre_spike`` statements; ``g_target += c`` becomes
  the element's return value, added to the post neuron's conductance by the
  kernel (in row order, or with atomicAdd);
* ``post_events`` (``kernels/synapse_events.cu``) = ``post_event``, with
  ``exp(dt * (last - step) / tau)``;
* ``semiglobal`` (``kernels/semiglobal_update.cu``) = the first part of
  ``continuous``: the equations of the semiglobal (``postsynaptic``)
  variables, one thread per post-synaptic neuron (all of the post
  population's, as the array code's arrays over ``post.size``);
* ``continuous`` (``kernels/synapse_update.cu``) = the rest of
  ``continuous``, per synapse;
* ``rate_sum`` (``kernels/rate_sum.cu``) = rate-coded transmission (``psp``).

``pre.x``/``post.x`` read the pre/post population's local attribute ``x`` at
the synapse's ranks; ``pre.sum(exc)``/``post.sum(exc)`` read the population's
summed input of target ``exc`` there (roles ``pre_sum``/``post_sum``: the
population's ``sums``).  A semiglobal attribute is an array over the post
population, read at the synapse's post rank and written only by its own
equation (the model language allows nothing else).  Several
``g_target +=`` statements in one block are summed per synapse before being
added (the array code adds them one statement at a time: equal up to
rounding).
"""
from __future__ import annotations

from typing import Optional

import sympy

from gpunet.codegen.cuda.common import (
    COMMON_PARAMS,
    INDEX_TYPES,
    REAL_TYPES,
    CudaUnit,
    ElementWriter,
    KernelInfo,
    UnsupportedByCuda,
    attribute_ctype,
    check_signature,
    clipped,
    default_prefix,
    fixed_params,
    globals_kernel,
    register_name,
    split_global_ops,
    symbols_of,
    table_arguments,
    time_lines,
)
from gpunet.codegen.cuda.templates import render
from gpunet.codegen.plan import Op, continuous_plan, event_driven_decays, statement_ops
from gpunet.codegen.printers import CudaPrinter
from gpunet.model.ir import ModelSpec

_G = sympy.Symbol("g_target")
_ELAPSED = sympy.Symbol("_elapsed")
_PSP_CSR = sympy.Symbol("w") * sympy.Symbol("_pre_r")
#: Threads of a block item of the spike-list and ordered propagation kernels, and neurons per chunk of a spike
#: list (``GN_SPIKE_CHUNK``; at most ``GN_BLOCK_TILE``, the size of their block-shared tables).
SPIKE_CHUNK = 256


def _list_params(index: str, listing: bool) -> tuple:
    """The spike-list kernels: ``n`` = rows x chunks; counts per chunk, then (``listing``) the lists."""
    common = COMMON_PARAMS + fixed_params(
        ("history", "const bool*", "history"), ("depth", "const gn_i64", "depth"),
        ("pre_size", "const gn_i64", "pre_size"), ("chunks", "const gn_i64", "chunks"),
        ("lag", "const gn_i64", "lag"))
    if not listing:
        return common + fixed_params(("chunk_counts", "gn_i64*", "chunk_counts"))
    return common + fixed_params(("chunk_counts", "const gn_i64*", "chunk_counts"),
                                 ("counts", "gn_i64*", "spike_counts"), ("lists", f"{index}*", "spike_lists"))


def _arrivals_params(index: str) -> tuple:
    """What both one-launch propagation kernels read to find the arriving events: spike lists and groups."""
    return fixed_params(
        ("depth", "const gn_i64", "depth"), ("pre_size", "const gn_i64", "pre_size"),
        ("groups", "const gn_u64*", "group_table"), ("n_groups", "const gn_i64", "n_groups"),
        ("counts", "const gn_i64*", "spike_counts"), ("lists", f"const {index}*", "spike_lists"))


def _ordered_params(real: str, index: str) -> tuple:
    """One launch per step, one block per slice of post neurons, walking the arriving events in order."""
    return COMMON_PARAMS + _arrivals_params(index) + fixed_params(
        ("row_ptr", f"const {index}*", "attr", "_row_ptr"), ("post_idx", f"const {index}*", "attr", "_post_idx"),
        ("slice", "const gn_i64", "slice"), ("post_size", "const gn_i64", "post_size"),
        ("work", "gn_u64*", "work"), ("g_target", f"{real}*", "g_target"))


def _merged_list_params() -> tuple:
    """One launch listing several spike rings: a table of 8 words per ring, block items (ring, k, chunk)."""
    return COMMON_PARAMS + fixed_params(("table", "const gn_u64*", "list_table"),
                                        ("items", "const gn_i64*", "list_items"))


def _merged_params() -> tuple:
    """One launch for several projections of the model: a table of their ordered-kernel arguments, block items."""
    return COMMON_PARAMS + fixed_params(("table", "const gn_u64*", "merged_table"),
                                        ("width", "const gn_i64", "merged_width"),
                                        ("items", "const gn_i64*", "merged_items"))


def merged_row_params(ordered: KernelInfo) -> tuple:
    """The parameters of ``ordered`` (a ``pre_events_ordered`` kernel, clocked or not) that a row of the merged
    kernel's table holds, in order: every one after ``dt_host``.

    Parameters
    ----------
    ordered : KernelInfo
        The unit's ``pre_events_ordered`` kernel.
    """
    names = [p.name for p in ordered.params]
    return ordered.params[names.index("dt_host") + 1:]


def _atomic_groups_params(real: str, index: str) -> tuple:
    """One launch per step: the warps share the arriving events."""
    return COMMON_PARAMS + _arrivals_params(index) + fixed_params(
        ("post_idx", f"const {index}*", "attr", "_post_idx"), ("work", "gn_u64*", "work"),
        ("g_target", f"{real}*", "g_target"))


def _event_params(real: str, index: str) -> tuple:
    return COMMON_PARAMS + fixed_params(
        ("spikes", "const bool*", "spikes"), ("delay", "const gn_i64", "delay"),
        ("row_ptr", f"const {index}*", "attr", "_row_ptr"), ("pre_idx", f"const {index}*", "attr", "_pre_idx"),
        ("post_idx", f"const {index}*", "attr", "_post_idx"), ("delays", "const int*", "attr", "_delays"),
        ("pre_ptr", "const gn_i64*", "pre_ptr"), ("pre_syn", f"const {index}*", "pre_syn"),
        ("g_target", f"{real}*", "g_target"))


class _SynapseWriter:
    """Element code of one phase of a synapse model."""

    def __init__(self, spec: ModelSpec, real: str, phase: str) -> None:
        self.spec = spec
        self.phase = phase
        self.out = ElementWriter(real)
        self.names: dict[str, str] = {"dt": "dt", "t": "t", "_elapsed": "elapsed"}
        self.index: dict[str, str] = {}  # attribute -> its element index ("s", "post" or "0")
        self.printer = CudaPrinter(self.names, real=real)

    def check(self, ops: list[Op]) -> None:
        spec = self.spec
        for op in ops:
            if op.kind != "temp" and op.target in spec.global_names:
                raise UnsupportedByCuda(f"synapse model {spec.name!r} ({self.phase}): the CUDA generator does not "
                                        f"assign the global variable {op.target!r}")
            reads = op.expr - _G if op.target == "g_target" else op.expr
            if _G in reads.free_symbols:
                raise UnsupportedByCuda(f"synapse model {spec.name!r} ({self.phase}): g_target may only be "
                                        "added to (g_target += ...), not read")

    def bind(self, ops: list[Op], extra=(), always_written=()) -> set[str]:
        """Parameters and registers for what ``ops`` use; returns the written attributes that are not global.

        Element indexes: ``s`` for a local attribute, ``post`` for a
        semiglobal one, ``0`` for a global; the semiglobal phase has only ``post``.
        """
        spec, out, real = self.spec, self.out, self.out.real
        per_post = self.phase == "semiglobal"
        used = symbols_of(ops, extra) | set(always_written)
        written = {op.target for op in ops if op.kind != "temp"} | set(always_written)
        time_lines(out, ("post",) if per_post else ("s", "pre", "post"))
        for name, attribute in spec.attributes.items():
            if name not in used:
                continue
            if per_post and not (attribute.is_global or attribute.semiglobal):
                raise UnsupportedByCuda(f"synapse model {spec.name!r} (semiglobal equations): they read the "
                                        f"synapse-specific {name!r}")
            if attribute.semiglobal and name in written and not per_post:
                raise UnsupportedByCuda(f"synapse model {spec.name!r} ({self.phase}): the CUDA generator assigns "
                                        f"the postsynaptic variable {name!r} only in its own equation")
            ctype = attribute_ctype(attribute, real)
            write = name in written
            pointer = out.param(f"a_{name}", f"{ctype}*" if write else f"const {ctype}*", "attr", name)
            self.names[name] = register_name(attribute)
            index = "0" if attribute.is_global else "post" if attribute.semiglobal else "s"
            self.index[name] = index
            constant = "const " if attribute.is_global or not write else ""
            out(f"{constant}{ctype} l_{name} = {pointer}[{index}];")
        for side, attribute in spec.prepost:
            symbol = f"_{side}_{attribute}"
            if symbol not in used:
                continue
            if per_post and side == "pre":
                raise UnsupportedByCuda(f"synapse model {spec.name!r} (semiglobal equations): they read "
                                        f"pre-synaptic {attribute!r}")
            if attribute.startswith("_sum_"):
                target = attribute[len("_sum_"):]
                pointer = out.param(f"{side}_sum_{target}", f"const {real}*", f"{side}_sum", target)
            else:
                pointer = out.param(f"{side}_a_{attribute}", f"const {real}*", side, attribute)
            self.names[symbol] = f"{pointer}[{side}]"
        return {n for n in written if n in spec.attributes and not spec.attributes[n].is_global}

    def statements(self, ops: list[Op], contribution: Optional[str] = None) -> None:
        out, names, printer = self.out, self.names, self.printer
        for op in ops:
            if op.kind == "temp":
                names[op.target] = "tmp_" + op.target.lstrip("_")
                out(f"const {out.real} {names[op.target]} = {printer.doprint(op.expr)};")
            elif op.target == "g_target":
                out(f"{contribution} += {printer.doprint(op.expr - _G)};")
            else:
                value = printer.doprint(op.expr)
                if op.kind == "update":
                    value = f"{names[op.target]} + {value}"
                out(f"l_{op.target} = {clipped(value, op, printer)};")

    def write_back(self, written: set[str]) -> None:
        for name in self.spec.attributes:
            if name in written:
                self.out(f"a_{name}[{self.index[name]}] = l_{name};")


def _event_phase(spec: ModelSpec, which: str, real: str) -> Optional[_SynapseWriter]:
    statements = spec.pre_spike if which == "pre" else spec.post_spike
    if not statements:
        return None
    writer = _SynapseWriter(spec, real, f"{which}_spike")
    decays = event_driven_decays(spec, _ELAPSED)
    body = statement_ops(statements)
    writer.check(body)
    decayed = [op.target for op in decays]
    written = writer.bind(decays + body, always_written=decayed)
    out = writer.out
    if decays:
        last = out.param("last_event", "gn_i64*", "attr", "_last_event")
        reference = "(step - 1)" if which == "pre" else "step"
        out(f"const {real} elapsed = dt * ({real})({last}[s] - {reference});")
        for op in decays:
            out(f"l_{op.target} = {writer.printer.doprint(op.expr)};")
        out(f"{last}[s] = step;")
    if which == "pre":
        out(f"{real} contribution = ({real})0;")
    writer.statements(body, "contribution")
    writer.write_back(written)
    if which == "pre":
        out("return contribution;")
    return writer


def synapse_unit(spec: ModelSpec, precision: str = "float64", index: str = "int32",
                 prefix: Optional[str] = None) -> CudaUnit:
    """The CUDA unit (source and kernel metadata) of synapse model ``spec``.

    Parameters
    ----------
    spec : ModelSpec
        A parsed synapse model.
    precision : {"float64", "float32"}
        Floating type of the projection's arrays.
    index : {"int32", "int64"}
        Type of the projection's ``_row_ptr``, ``_pre_idx`` and ``_post_idx``.
    prefix : str, optional
        C name prefix (default ``gn_<model>_<f64|f32>_<i32|i64>``).

    Returns
    -------
    CudaUnit
        Kernels by phase: ``spike_count`` and ``spike_list`` (the spiking
        ranks of rows of the pre population's spike ring), ``pre_events_ordered``
        (one block per slice of post neurons, in the array code's order),
        ``pre_events_merged`` (the ordered propagation of several projections of
        the model in one launch, through a table of their arguments),
        ``spike_count_merged`` and ``spike_list_merged`` (the spike lists of
        several spike rings in one launch each),
        ``pre_events_atomic`` (one launch per delay value) and
        ``pre_events_atomic_groups`` (one launch for all, from the spike
        lists) (models with ``pre_spike``), ``post_events``, ``semiglobal``
        (one thread per post neuron, before ``continuous``), ``synapse_globals``
        (one thread, the global equations, after ``semiglobal``), ``continuous``,
        ``rate_sum`` (rate-coded models), each only where the model needs it.

    Raises
    ------
    UnsupportedByCuda
        For a model that assigns a global variable in ``pre_spike`` /
        ``post_spike`` or out of the array code's order, or reads
        ``g_target`` (their projections run the array code).
    """
    if spec.kind != "synapse":
        raise ValueError(f"synapse_unit() needs a synapse model, got {spec.kind} model {spec.name!r}")
    real, index_type = REAL_TYPES[precision], INDEX_TYPES[index]
    fn = prefix or default_prefix(spec, precision, index)
    bodies: list[str] = []
    kernels: dict[str, KernelInfo] = {}

    pre = _event_phase(spec, "pre", real)
    if pre is not None:
        name = f"{fn}_pre_events"
        element = tuple(pre.out.params.values())
        ordered = _ordered_params(real, index_type) + element
        bodies.append(render("spike_propagation.cu", fn=name, model=spec.name, real=real, index=index_type,
                             params=pre.out.params_text(), args=pre.out.args_text(), body=pre.out.body(),
                             table_args=table_arguments(ordered[len(COMMON_PARAMS):])))
        kernels["spike_count"] = KernelInfo(f"{name}_spike_count", "spike_count", _list_params(index_type, False),
                                            lanes=SPIKE_CHUNK)
        kernels["spike_list"] = KernelInfo(f"{name}_spike_list", "spike_list", _list_params(index_type, True),
                                           lanes=SPIKE_CHUNK)
        for phase in ("spike_count_merged", "spike_list_merged"):
            kernels[phase] = KernelInfo(f"{name}_{phase}", phase, _merged_list_params(), lanes=SPIKE_CHUNK)
        kernels["pre_events_ordered"] = KernelInfo(f"{name}_ordered", "pre_events_ordered", ordered,
                                                   lanes=SPIKE_CHUNK)
        kernels["pre_events_merged"] = KernelInfo(f"{name}_merged", "pre_events_merged", _merged_params(),
                                                  lanes=SPIKE_CHUNK)
        kernels["pre_events_atomic"] = KernelInfo(f"{name}_atomic", "pre_events_atomic",
                                                  _event_params(real, index_type) + element, lanes=32)
        kernels["pre_events_atomic_groups"] = KernelInfo(f"{name}_atomic_groups", "pre_events_atomic_groups",
                                                         _atomic_groups_params(real, index_type) + element, lanes=32)

    post = _event_phase(spec, "post", real)
    if post is not None:
        name = f"{fn}_post_events"
        bodies.append(render("synapse_events.cu", fn=name, model=spec.name, index=index_type,
                             params=post.out.params_text(), args=post.out.args_text(), body=post.out.body()))
        fixed = COMMON_PARAMS + fixed_params(
            ("spiked", "const bool*", "spiked"), ("row_ptr", f"const {index_type}*", "attr", "_row_ptr"),
            ("pre_idx", f"const {index_type}*", "attr", "_pre_idx"))
        kernels["post_events"] = KernelInfo(name, "post_events", fixed + tuple(post.out.params.values()), lanes=32)

    semiglobal_ops = continuous_plan(spec, spec.semiglobal_equations)
    if semiglobal_ops:
        writer = _SynapseWriter(spec, real, "semiglobal")
        writer.check(semiglobal_ops)
        written = writer.bind(semiglobal_ops)
        writer.statements(semiglobal_ops)
        writer.write_back(written)
        name = f"{fn}_semiglobal"
        bodies.append(render("semiglobal_update.cu", fn=name, model=spec.name, params=writer.out.params_text(),
                             args=writer.out.args_text(), body=writer.out.body()))
        kernels["semiglobal"] = KernelInfo(name, "semiglobal", COMMON_PARAMS + tuple(writer.out.params.values()))

    # the array code's split: the semiglobal equations first (above), then the others as one plan
    semiglobal = {s.target for s in spec.semiglobal_equations}
    ops = continuous_plan(spec, [s for s in spec.continuous if s.target not in semiglobal])
    global_ops, ops = split_global_ops(spec, ops, f"synapse model {spec.name!r}")
    if global_ops:  # one thread, after the semiglobal equations (which read the old values, as the array code)
        globals_body, kernels["synapse_globals"] = globals_kernel(spec, global_ops, real, fn, "synapse_globals")
        bodies.append(globals_body)
    if ops:
        writer = _SynapseWriter(spec, real, "equations")
        writer.check(ops)
        written = writer.bind(ops)
        writer.statements(ops)
        writer.write_back(written)
        name = f"{fn}_continuous"
        bodies.append(render("synapse_update.cu", fn=name, model=spec.name, index=index_type,
                             params=writer.out.params_text(), args=writer.out.args_text(), body=writer.out.body()))
        fixed = COMMON_PARAMS + fixed_params(
            ("pre_idx", f"const {index_type}*", "attr", "_pre_idx"),
            ("post_idx", f"const {index_type}*", "attr", "_post_idx"))
        kernels["continuous"] = KernelInfo(name, "continuous", fixed + tuple(writer.out.params.values()))

    if not spec.spiking and spec.psp is not None:
        writer = _SynapseWriter(spec, real, "psp")
        writer.bind([], extra=[spec.psp])
        writer.out(f"return ({real})({writer.printer.doprint(spec.psp)});")
        name = f"{fn}_rate_sum"
        from_zero = "true" if spec.psp == _PSP_CSR else "false"
        bodies.append(render("rate_sum.cu", fn=name, model=spec.name, real=real, index=index_type,
                             from_zero=from_zero, params=writer.out.params_text(), args=writer.out.args_text(),
                             body=writer.out.body()))
        fixed = COMMON_PARAMS + fixed_params(
            ("row_ptr", f"const {index_type}*", "attr", "_row_ptr"),
            ("pre_idx", f"const {index_type}*", "attr", "_pre_idx"), ("total", f"{real}*", "total"))
        kernels["rate_sum"] = KernelInfo(name, "rate_sum", fixed + tuple(writer.out.params.values()), lanes=32)

    body = "\n".join(bodies)
    for info in kernels.values():
        check_signature(body, info)
    return CudaUnit(spec.name, "synapse", precision, fn, body, kernels, index)
