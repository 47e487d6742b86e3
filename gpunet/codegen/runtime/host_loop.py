"""The compiled CPU step loop: many steps of a whole network in one call of generated C++.

The kernels of every population and projection (the very sources a GPU runs,
:mod:`gpunet.codegen.cuda.codegen`) are compiled as host C++ together with a
generated *driver*: one function ``gn_network_run(P, I, K, first, count, dt)``
that runs ``count`` steps in the network's step order (reset inputs, spike
arrival or rate sums per projection, population updates, spike history, continuous
synaptic equations, post-synaptic events), with every array bound once through
a table of addresses ``P`` (sizes in ``I``, noise stream keys in ``K``).  The
driver's text depends only on the network's *structure* (models, precision,
object order, phases), not on sizes or values, so networks of any size built
from the same models share one library, cached on disk by source hash
(:func:`gpunet.codegen.runtime.host_build.build_library`).

Bitwise equality with the NumPy path (float64): the kernels run their loops
sequentially, so every sum is taken in the array code's order (spike arrival:
pre neurons ascending, then their synapses; ``-ffp-contract=off``, no fast
math), and ``exp`` and ``log`` call NumPy's own float64 loops (NumPy's SIMD
versions differ from the C library's in the last bit of a few percent of
values): :func:`numpy_math_loops` reads their addresses from the ufuncs and
checks them against NumPy before use; without them the results equal NumPy's
within a few ulp.

What this module takes is plain data (:class:`NetworkBinding`): the network
layer (``gpunet.network.compiled_loop``) builds it from its objects.
"""
from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from gpunet.codegen.cuda.common import CudaUnit, KernelInfo, UnsupportedByCuda
from gpunet.codegen.runtime import host_monitors
from gpunet.codegen.runtime.host_build import build_library, find_compiler, openmp_flags
from gpunet.codegen.runtime.kernel_calls import C_DTYPES

#: Name of the driver's entry point in the library.
ENTRY = "gn_network_run"


def compiled_runner_available() -> bool:
    """Whether the compiled runner can be built here (a host C++ compiler is found)."""
    return find_compiler() is not None


@dataclass
class PopulationBinding:
    """What the driver needs of one population whose update is a generated kernel."""

    name: str
    unit: CudaUnit
    size: int
    state: Mapping[str, np.ndarray]
    sums: Mapping[str, np.ndarray]              # target -> input sum, zeroed at the start of each step
    spiked: Optional[np.ndarray] = None         # spike mask written by the update (spiking models)
    history: Optional[np.ndarray] = None        # (depth, size) ring of masks; row step % depth gets ``spiked``
    noise_keys: Mapping[int, int] = field(default_factory=dict)
    #: A spike source instead of equations: (steps, ranks) of its events, sorted by step (int64 arrays);
    #: each step sets ``spiked`` to the ranks of that step's events and stamps ``state["_last_spike"]``.
    events: Optional[tuple[np.ndarray, np.ndarray]] = None
    #: Spike recording: (steps, ranks, count) int64 arrays; every step of a call but its last appends its
    #: spikes as (step, rank) events at ``count[0]`` (the caller sizes the buffers for the call's steps).
    record: Optional[tuple[np.ndarray, np.ndarray, np.ndarray]] = None
    #: A timed input (``unit`` has a ``schedule`` kernel): its schedule table and rows, and the values per row;
    #: the schedule kernel runs before the unit's neuron kernels (a unit without ``neuron_update`` has none).
    schedule: Optional[tuple[np.ndarray, np.ndarray]] = None
    schedule_width: int = 0
    #: Under comm (``NetworkBinding.blocks``): the global rank of the block's first neuron, the offset of its noise
    #: counters and the column of the whole population's spike ring where its ``size`` neurons' spikes go.
    first: int = 0


@dataclass
class ProjectionBinding:
    """What the driver needs of one projection; a phase missing from ``unit.kernels`` is skipped."""

    name: str
    unit: CudaUnit
    spiking: bool
    state: Mapping[str, np.ndarray]
    pre_state: Mapping[str, np.ndarray]
    post_state: Mapping[str, np.ndarray]
    pre_size: int
    post_size: int
    synapses: int
    g_target: Optional[np.ndarray] = None       # spiking or current injection: the post population's g_<target>
    total: Optional[np.ndarray] = None          # rate-coded: the post population's sum of the target (or None)
    pre_history: Optional[np.ndarray] = None    # spiking: the pre population's spike ring
    post_spiked: Optional[np.ndarray] = None    # spiking: the post population's spike mask
    groups: Sequence[tuple] = ()                # (delay, pre_ptr, pre_syn) per delay value, ascending
    pre_sums: Mapping[str, np.ndarray] = field(default_factory=dict)   # the pre population's sums by target
    post_sums: Mapping[str, np.ndarray] = field(default_factory=dict)  # the post population's sums by target


@dataclass
class NetworkBinding:
    """A network as the driver sees it: populations and projections in step order."""

    precision: str
    populations: list[PopulationBinding]
    projections: list[ProjectionBinding]
    #: Under comm: populations are blocks (``PopulationBinding.first``), and the step runs in two phases the
    #: caller selects with ``gn_set_phases`` (see :func:`phased_loop_text`).
    blocks: bool = False
    #: The header of a :class:`~gpunet.codegen.runtime.host_monitors.RecordTable`: variables recorded at the end
    #: of every step of a call but its last (None: the driver records no variables).
    value_records: Optional[np.ndarray] = None


class _Slots:
    """Collects the arrays (``P``), integers (``I``) and keys (``K``) a driver reads, in generation order."""

    def __init__(self) -> None:
        self.pointers: list[Any] = []
        self.integers: list[int] = []
        self.keys: list[int] = []
        self.key_sources: list[tuple[Mapping[int, int], int]] = []  # (noise key mapping, site) of each key
        self.referenced: list[Any] = []  # arrays whose addresses sit inside a bound table

    def key(self, mapping: Mapping[int, int], site: int) -> int:
        self.keys.append(int(mapping[site]))
        self.key_sources.append((mapping, site))
        return len(self.keys) - 1

    def pointer(self, array: Any) -> int:
        self.pointers.append(array)
        return len(self.pointers) - 1

    def integer(self, value: int) -> int:
        self.integers.append(int(value))
        return len(self.integers) - 1



def _cast(kernel: KernelInfo, param: Any, slot: int) -> str:
    return f"({param.base_type}*)P[{slot}]"


def _unread(source: str, kernel: KernelInfo) -> frozenset:
    """Parameters ``kernel`` marks unread with ``(void)name;`` at the top of its body (a signature shared by
    variants): they get a null pointer, so the array behind one is neither read nor built for the call."""
    start = source.find(f"GN_KERNEL {kernel.name}(")
    if start < 0:
        return frozenset()
    body = source.find("{", source.find(")", start))
    line = source[body + 1:].lstrip("\n").split("\n", 1)[0].strip()
    return frozenset(re.findall(r"\(void\)(\w+);", line)) if line.startswith("(void)") else frozenset()


def _arguments(kernel: KernelInfo, slots: _Slots, values: Mapping[str, Any], owner: str,
               unread: frozenset = frozenset()) -> list[str]:
    """C expressions of ``kernel``'s arguments; ``values`` maps a role to an array/mapping or a C expression.

    A pointer parameter in ``unread`` gets a null pointer of its type, its array untouched."""
    arguments = []
    for param in kernel.params:
        role = param.role
        if param.is_pointer and param.name in unread:
            arguments.append(f"({param.ctype})0")
        elif role in ("step", "t", "dt"):
            arguments.append({"step": "step", "t": "t", "dt": "dt"}[role])
        elif role == "n":
            arguments.append(f"I[{slots.integer(values['n'])}]")
        elif role == "key":
            arguments.append(f"K[{slots.key(values['key'], int(param.key))}]")
        elif role in ("attr", "pre", "post", "sum", "pre_sum", "post_sum"):
            source = values[role]
            if param.key not in source:
                raise UnsupportedByCuda(f"{owner}: kernel {kernel.name} needs {role} {param.key!r}, which is missing")
            array = source[param.key]
            _check_array(kernel, param, array, owner)
            arguments.append(_cast(kernel, param, slots.pointer(array)))
        elif role in values and isinstance(values[role], str):
            arguments.append(values[role])
        elif role in values and values[role] is not None:
            _check_array(kernel, param, values[role], owner)
            arguments.append(_cast(kernel, param, slots.pointer(values[role])))
        else:
            raise UnsupportedByCuda(f"{owner}: kernel {kernel.name} has a parameter of role {role!r} the compiled "
                                    "runner does not bind")
    return arguments


def _check_array(kernel: KernelInfo, param: Any, array: Any, owner: str) -> None:
    if not param.is_pointer:
        raise UnsupportedByCuda(f"{owner}: kernel {kernel.name} takes {param.name} by value")
    expected = C_DTYPES[param.base_type]
    if not isinstance(array, np.ndarray) or array.dtype != expected or not array.flags.c_contiguous:
        raise UnsupportedByCuda(f"{owner}: {param.name} of kernel {kernel.name} must be a C-contiguous {expected} "
                                f"NumPy array, got {type(array).__name__} {getattr(array, 'dtype', '')}")


def _call(kernel: KernelInfo, arguments: list[str], indent: str) -> str:
    return f"{indent}{kernel.name}({', '.join(arguments)});"


def generate(binding: NetworkBinding) -> tuple[str, _Slots]:
    """The driver's C++ text (without the unit sources) and the slots it reads, for ``binding``."""
    slots = _Slots()
    body: list[str] = []
    ind = "        "
    resets = []
    for pop in binding.populations:
        for target in sorted(pop.sums):
            array = pop.sums[target]
            resets.append(f"{ind}gn_zero(({_real(binding)}*)P[{slots.pointer(array)}], I[{slots.integer(array.size)}]);")
    body += resets
    spike_lists: dict[int, tuple] = {}  # id(history) -> (history, spiking ranks per row, count per row)
    fused = _fusable(binding)  # id(projection) -> its row sums, taken with its synaptic update
    for proj in binding.projections:
        kernels = proj.unit.kernels
        if proj.spiking and "pre_events_atomic" in kernels:
            kernel = kernels["pre_events_atomic"]
            table = np.asarray([[int(d), int(ptr.ctypes.data), int(syn.ctypes.data)] for d, ptr, syn in proj.groups],
                               dtype=np.uint64).reshape(-1, 3)
            for _delay, pre_ptr, pre_syn in proj.groups:
                _check_array(kernel, _param(kernel, "pre_ptr"), pre_ptr, proj.name)
                _check_array(kernel, _param(kernel, "pre_syn"), pre_syn, proj.name)
                slots.referenced += [pre_ptr, pre_syn]
            syn_type = _param(kernel, "pre_syn").base_type  # the projection's index type (int32 below 2**31)
            history = proj.pre_history
            depth, size = history.shape
            table_slot = slots.pointer(table)
            groups_slot = slots.integer(len(table))
            history_slot = slots.pointer(history)
            depth_slot, size_slot = slots.integer(depth), slots.integer(size)
            values = {"n": proj.pre_size, **_sides(proj), "spikes": "spikes", "delay": "delay", "pre_ptr": "(const gn_i64*)(uintptr_t)table[3 * g + 1]",
                      "pre_syn": f"(const {syn_type}*)(uintptr_t)table[3 * g + 2]", "g_target": proj.g_target}
            arguments = _arguments(kernel, slots, values, proj.name, _unread(proj.unit.source, kernel))
            sparse = _element_call(proj.unit, kernel, arguments)
            lists = spike_lists.get(id(history)) if sparse is not None else None
            if lists is None and sparse is not None and history.size <= MAX_SPIKE_LIST_ENTRIES:
                lists = spike_lists[id(history)] = (history, np.zeros(history.shape, np.int64),
                                                    np.zeros(depth, np.int64))
                slots.referenced.append(history)
            if lists is not None:
                element, rest, post_idx = sparse
                list_slot, counts_slot = slots.pointer(lists[1]), slots.pointer(lists[2])
                threaded = _owned_writes(kernel, proj.state, proj.synapses, ("g_target",))
                loop = [f"for (gn_i64 g = 0; g < I[{groups_slot}]; ++g) {{",
                        f"    const gn_i64 row = gn_ring_row(step - (gn_i64)table[3 * g], I[{depth_slot}]);",
                        "    const gn_i64* pre_ptr = (const gn_i64*)(uintptr_t)table[3 * g + 1];",
                        f"    const {syn_type}* pre_syn = (const {syn_type}*)(uintptr_t)table[3 * g + 2];",
                        f"    const gn_i64* spiking = lists + row * I[{size_slot}];",
                        "    for (gn_i64 k = 0; k < counts[row]; ++k) {",
                        "        const gn_i64 pre = spiking[k];",
                        "        for (gn_i64 j = pre_ptr[pre]; j < pre_ptr[pre + 1]; ++j) {",
                        "            const gn_i64 s = pre_syn[j];",
                        f"            const gn_i64 post = {post_idx}[s];",
                        "            if (post < gn_lo || post >= gn_hi) continue;  // threads only" if threaded else "",
                        f"            g_target[post] += {element}(s, pre, post, step, t, dt{rest});",
                        "        }", "    }", "}"]
                if threaded:  # each thread walks every event in order and takes those onto its posts
                    work = (f"gn_arrival_work(table, I[{groups_slot}], lists, counts, "
                            f"I[{depth_slot}], I[{size_slot}], step)")
                    loop = _over_range(f"I[{slots.integer(proj.post_size)}]", work, [line for line in loop if line],
                                       [line for line in loop if line and not line.endswith("// threads only")])
                body += [f"{ind}{{  // {proj.name}: spikes arriving at this step, one pass per delay value over the "
                         "spiking ranks (the atomic kernel's order: pre ascending, then its synapses"
                         + ("; threads take post ranges" if threaded else "") + ")",
                         f"{ind}    const gn_u64* table = (const gn_u64*)P[{table_slot}];",
                         f"{ind}    const gn_i64* lists = (const gn_i64*)P[{list_slot}];",
                         f"{ind}    const gn_i64* counts = (const gn_i64*)P[{counts_slot}];",
                         f"{ind}    {_real(binding)}* g_target = ({_real(binding)}*)P[{slots.pointer(proj.g_target)}];",
                         *(f"{ind}    {line}" for line in loop if line), f"{ind}}}"]
                continue
            body += [f"{ind}{{  // {proj.name}: spikes arriving at this step, one pass per delay value",
                     f"{ind}    const gn_u64* table = (const gn_u64*)P[{table_slot}];",
                     f"{ind}    for (gn_i64 g = 0; g < I[{groups_slot}]; ++g) {{",
                     f"{ind}        const gn_i64 delay = (gn_i64)table[3 * g];",
                     f"{ind}        const bool* spikes = (const bool*)P[{history_slot}] + "
                     f"gn_ring_row(step - delay, I[{depth_slot}]) * I[{size_slot}];",
                     _call(kernel, arguments, ind + "        "),
                     f"{ind}    }}", f"{ind}}}"]
        elif "current_injection" in kernels:
            kernel = kernels["current_injection"]
            values = {"n": proj.post_size, "attr": proj.state, "pre": proj.pre_state, "g_target": proj.g_target}
            body.append(_call(kernel, _arguments(kernel, slots, values, proj.name), ind))
        elif not proj.spiking and "rate_sum" in kernels and proj.total is not None:
            kernel = kernels["rate_sum"]
            values = {"n": proj.post_size, **_sides(proj), "total": proj.total}
            if id(proj) not in fused:
                body += _rate_rows(binding, proj, slots, ind)
                continue
            call = _call(kernel, _arguments(kernel, slots, values, proj.name), ind + "    ")
            rows = fused[id(proj)]
            row_sums, total = slots.pointer(rows), slots.pointer(proj.total)
            body += [f"{ind}if (step > first) {{  // {proj.name}: row sums taken by the last step's synaptic update",
                     f"{ind}    {_real(binding)}* total = ({_real(binding)}*)P[{total}];",
                     f"{ind}    const {_real(binding)}* rows = (const {_real(binding)}*)P[{row_sums}];",
                     f"{ind}    for (gn_i64 i = 0; i < I[{slots.integer(proj.post_size)}]; ++i) "
                     "total[i] = total[i] + rows[i];",
                     f"{ind}}} else {{", call, f"{ind}}}"]
    for pop in binding.populations:
        if pop.events is not None:
            body += _source_events(pop, slots, ind)
            continue
        # noise counters from the block's first global rank (0 for a whole population)
        values = {"n": pop.size, "attr": pop.state, "sum": pop.sums, "key": pop.noise_keys, "spiked": pop.spiked,
                  "noise_first": f"I[{slots.integer(pop.first)}]" if binding.blocks else "0"}
        if "schedule" in pop.unit.kernels:  # a timed input: the row in force first
            kernel = pop.unit.kernels["schedule"]
            table, rows = pop.schedule
            body.append(_call(kernel, _arguments(kernel, slots, {**values, "n": pop.schedule_width, "schedule": table,
                                                                 "schedule_rows": rows}, pop.name), ind))
        if "neuron_globals" in pop.unit.kernels:  # global variables first, once per step
            kernel = pop.unit.kernels["neuron_globals"]
            body.append(_call(kernel, _arguments(kernel, slots, {**values, "n": 1}, pop.name), ind))
        if "neuron_update" in pop.unit.kernels:
            body += _neuron_update(pop, slots, values, ind)
    prologue = []
    for history, lists, counts in spike_lists.values():
        depth, size = history.shape
        prologue.append(f"    gn_list_rows((const bool*)P[{slots.pointer(history)}], I[{slots.integer(depth)}], "
                        f"I[{slots.integer(size)}], (gn_i64*)P[{slots.pointer(lists)}], "
                        f"(gn_i64*)P[{slots.pointer(counts)}]);")
    for pop in binding.populations:
        if pop.history is not None and pop.spiked is not None and id(pop.history) in spike_lists:
            _history, lists, counts = spike_lists[id(pop.history)]
            depth, size = pop.history.shape
            pushed = (f"(const bool*)P[{slots.pointer(pop.history)}] + gn_ring_row(step, I[{slots.integer(depth)}]) "
                      f"* I[{slots.integer(size)}]")
            pop_push = (f"{ind}gn_list_rows({pushed}, 1, I[{slots.integer(size)}], (gn_i64*)P[{slots.pointer(lists)}] "
                        f"+ gn_ring_row(step, I[{slots.integer(depth)}]) * I[{slots.integer(size)}], "
                        f"(gn_i64*)P[{slots.pointer(counts)}] + gn_ring_row(step, I[{slots.integer(depth)}]));")
        else:
            pop_push = None
        if pop.history is not None and pop.spiked is not None and binding.blocks:
            body.append(_block_ring_copy(pop, slots, ind))
            if pop_push is not None:
                body.append(pop_push)
        elif pop.history is not None and pop.spiked is not None:
            depth, size = pop.history.shape
            body.append(f"{ind}gn_copy_mask((bool*)P[{slots.pointer(pop.history)}] + gn_ring_row(step, "
                        f"I[{slots.integer(depth)}]) * I[{slots.integer(size)}], (const bool*)P[{slots.pointer(pop.spiked)}], "
                        f"I[{slots.integer(size)}]);")
            if pop_push is not None:
                body.append(pop_push)
        if pop.record is not None and pop.spiked is not None:
            for array in pop.record:
                if array.dtype != np.int64 or not array.flags.c_contiguous:
                    raise UnsupportedByCuda(f"{pop.name}: spike recording buffers must be C-contiguous int64 arrays")
            steps, ranks, counter = (slots.pointer(a) for a in pop.record)
            body.append(f"{ind}if (step + 1 < first + count) gn_record_spikes((const bool*)P[{slots.pointer(pop.spiked)}], "
                        f"I[{slots.integer(pop.size)}], step, (gn_i64*)P[{steps}], (gn_i64*)P[{ranks}], "
                        f"(gn_i64*)P[{counter}]);")
    split = len(body)  # the synaptic updates from here on (a second phase under comm)
    for proj in binding.projections:
        if "semiglobal" in proj.unit.kernels:  # the postsynaptic variables first, one per post neuron
            kernel = proj.unit.kernels["semiglobal"]
            body.append(_call(kernel, _arguments(kernel, slots, {"n": proj.post_size, **_sides(proj)}, proj.name),
                              ind))
        if "synapse_globals" in proj.unit.kernels:  # then the global equations, one thread
            kernel = proj.unit.kernels["synapse_globals"]
            body.append(_call(kernel, _arguments(kernel, slots, {"n": 1, **_sides(proj)}, proj.name), ind))
        if "continuous" in proj.unit.kernels:
            body += _continuous(binding, proj, slots, fused.get(id(proj)), ind)
    for proj in binding.projections:
        if proj.spiking and "post_events" in proj.unit.kernels:
            body += _post_events(proj, slots, ind)
    body += host_monitors.record_lines(binding.value_records, slots, ind)
    text = "\n".join([
        "",
        "// gpunet compiled step loop: the network's steps in the array code's order.",
        "static inline gn_i64 gn_ring_row(gn_i64 step, gn_i64 depth) { gn_i64 r = step % depth; "
        "return r < 0 ? r + depth : r; }",
        f"static inline void gn_zero({_real(binding)}* a, gn_i64 n) {{ for (gn_i64 i = 0; i < n; ++i) a[i] = 0; }}",
        "static inline void gn_copy_mask(bool* to, const bool* from, gn_i64 n) { "
        "for (gn_i64 i = 0; i < n; ++i) to[i] = from[i]; }",
        "static inline void gn_list_rows(const bool* rows, gn_i64 depth, gn_i64 size, gn_i64* lists, gn_i64* counts) "
        "{ for (gn_i64 r = 0; r < depth; ++r) { gn_i64 c = 0; for (gn_i64 i = 0; i < size; ++i) { "
        "if (rows[r * size + i]) lists[r * size + c++] = i; } counts[r] = c; } }",
        "static inline void gn_record_spikes(const bool* spiked, gn_i64 n, gn_i64 step, gn_i64* steps, gn_i64* ranks, "
        "gn_i64* count) { gn_i64 c = count[0]; for (gn_i64 i = 0; i < n; ++i) { if (spiked[i]) { steps[c] = step; "
        "ranks[c] = i; ++c; } } count[0] = c; }",
        host_monitors.HELPERS,
        f'extern "C" void {ENTRY}(void* const* P, const gn_i64* I, const gn_u64* K, gn_i64 first, gn_i64 count, '
        "double dt)",
        "{",
        *prologue,
        "    for (gn_i64 step = first; step < first + count; ++step) {",
        "        const double t = (double)step * dt;",
        "        (void)t;",
        *body,
        "    }",
        "}",
        ""])
    if binding.blocks:
        text = phased_loop_text(text, prologue, body, split)
    return text, slots


def _block_ring_copy(pop: PopulationBinding, slots: _Slots, ind: str) -> str:
    """Under comm: the block's spike mask into its own columns of the whole population's ring row of the step."""
    depth, width = pop.history.shape
    return (f"{ind}gn_copy_mask((bool*)P[{slots.pointer(pop.history)}] + gn_ring_row(step, I[{slots.integer(depth)}]) "
            f"* I[{slots.integer(width)}] + I[{slots.integer(pop.first)}], (const bool*)P[{slots.pointer(pop.spiked)}], "
            f"I[{slots.integer(pop.size)}]);")


def phased_loop_text(text: str, prologue: list[str], body: list[str], split: int) -> str:
    """The driver ``text`` with its step in two phases, run as the bits of ``gn_set_phases(phases)`` say (3: both;
    per thread, so networks sharing the library may step in several threads).

    Phase 1 resets the sums, transmits, updates the populations and writes their spikes (the prologue's spike
    lists are built then only); phase 2 runs the synaptic updates and post-synaptic events.  Under comm the
    pre-synaptic values the second phase reads are gathered between the two (``gpunet.network.distributed``).

    Parameters
    ----------
    text : str
        The driver made by :func:`generate`.
    prologue : list of str
        Its lines before the step loop.
    body : list of str
        Its lines of one step.
    split : int
        Index in ``body`` of the first line of the second phase.

    Raises
    ------
    UnsupportedByCuda
        When ``text`` does not hold ``prologue`` and ``body`` as :func:`generate` writes them.
    """
    whole = "\n".join(body) + "\n    }\n}"
    lists = "\n".join(prologue) + "\n    for (gn_i64 step" if prologue else None
    phases = ("        if (gn_phases & 1) {\n" + "\n".join(body[:split]) + "\n        }\n        if (gn_phases & 2) {\n"
              + "\n".join(body[split:]) + "\n        }\n    }\n}")
    if whole not in text or (lists is not None and lists not in text):
        raise UnsupportedByCuda("the driver's step could not be split into phases (its text changed)")
    text = text.replace(whole, phases, 1)
    if lists is not None:
        text = text.replace(lists, "    if (gn_phases & 1) {\n" + "\n".join(prologue) + "\n    }\n    for (gn_i64 step", 1)
    return '\nstatic thread_local gn_i64 gn_phases = 3;\nextern "C" void gn_set_phases(gn_i64 phases) { gn_phases = phases; }' + text


#: Least work (elements: neurons, synapses, events) one OpenMP thread is given; smaller loops run on fewer
#: threads, or serially on the calling thread.  Read at each run.
PARALLEL_GRAIN = 2048


def _over_range(n: str, work: str, parallel: list[str], serial: list[str]) -> list[str]:
    """Lines that run ``serial`` (the loop as one thread runs it), or, when ``work`` gives more than one thread
    at least the grain each (``gn_team_for`` of :data:`PARALLEL_HEADER`), ``parallel`` on a team of threads,
    each with its contiguous range ``gn_lo <= element < gn_hi`` of ``[0, n)``.  Without OpenMP only the
    serial lines are compiled, and with it they compile as they would alone (the threads' copy is outlined)."""
    return ["{",
            "#ifdef _OPENMP",
            f"    const gn_i64 gn_n = {n};",
            f"    const int gn_size = gn_threads > 1 ? gn_team_for(gn_n, {work}) : 1;",
            "    if (gn_size > 1) {",
            "        gn_regions.fetch_add(1);  // the threads' own exp memos from now",
            "#pragma omp parallel num_threads(gn_size) firstprivate(step, t, dt)",
            "        {",
            "            const gn_i64 gn_lo = gn_range(gn_n, 0), gn_hi = gn_range(gn_n, 1);",
            *(f"            {line}" for line in parallel),
            "        }",
            "        gn_regions.fetch_sub(1);",
            "    } else",
            "#endif",
            "    {",
            *(f"        {line}" for line in serial),
            "    }", "}"]


def _owned_writes(kernel: KernelInfo, state: Mapping[str, Any], count: int, shared_ok: tuple[str, ...]) -> bool:
    """Whether every array ``kernel`` may write holds one value per element of its loop (``count`` values of
    ``state``), apart from those of the roles ``shared_ok`` that the caller splits by itself: then elements of
    different threads never write the same place and the threads leave the bits of one thread."""
    for param in kernel.params:
        if not param.is_pointer or param.ctype.startswith("const") or param.role in shared_ok:
            continue
        if param.role != "attr" or np.size(state.get(param.key)) != count:
            return False
    return True


def _neuron_update(pop: PopulationBinding, slots: _Slots, values: Mapping[str, Any], ind: str) -> list[str]:
    """The update of ``pop``: its kernel, called by each thread on a contiguous block of neurons as the
    distributed engine calls it on a process's block (per-neuron arrays from the block's first neuron, the
    noise counters from ``noise_first``), so every neuron computes what one call computes."""
    kernel = pop.unit.kernels["neuron_update"]
    arguments = _arguments(kernel, slots, values, pop.name)
    serial = _call(kernel, arguments, "")
    if pop.size < 2 or not _owned_writes(kernel, pop.state, pop.size, ("spiked",)) or \
            (any(p.role == "key" for p in kernel.params) and not any(p.role == "noise_first" for p in kernel.params)):
        return [ind + serial]
    block = []
    for param, argument in zip(kernel.params, arguments):
        match = re.fullmatch(r"\((?:const )?[\w ]+\*\)P\[(\d+)\]", argument)
        if param.role == "n":
            block.append("gn_hi - gn_lo")
        elif param.role == "noise_first":
            block.append(f"gn_lo + ({argument})")
        elif param.is_pointer and match is not None and np.size(slots.pointers[int(match.group(1))]) == pop.size:
            block.append(f"{argument} + gn_lo")
        elif param.is_pointer and (match is None or np.size(slots.pointers[int(match.group(1))]) != 1):
            return [ind + serial]  # neither one value per neuron nor a global: no block of it is known
        else:
            block.append(argument)
    return [ind + line for line in _over_range(arguments[0], arguments[0], [_call(kernel, block, "")], [serial])]


def _element_names(unit: CudaUnit, kernel: KernelInfo, head: str) -> Optional[list[str]]:
    """Parameter names ``kernel`` passes after ``dt_host`` to its element function called as ``head``, or None."""
    start = unit.source.find(f"GN_KERNEL {kernel.name}(")
    call = unit.source.find(f"{kernel.name}_element({head}, step, t_host, dt_host", start)
    if start < 0 or call < 0:
        return None
    close = unit.source.find(")", call + len(kernel.name) + len("_element(") + len(head))
    names = [n.strip() for n in unit.source[call:close].split("dt_host", 1)[1].split(",")]
    names = [n for n in names if n]
    known = {param.name for param in kernel.params}
    return names if all(name in known for name in names) else None


def _rows(proj: ProjectionBinding) -> Optional[np.ndarray]:
    """The projection's post-major row pointers when its synapses are stored row by row (else None)."""
    row_ptr, post_idx = proj.state.get("_row_ptr"), proj.state.get("_post_idx")
    if not isinstance(row_ptr, np.ndarray) or not isinstance(post_idx, np.ndarray) \
            or len(row_ptr) != proj.post_size + 1 or len(post_idx) != proj.synapses or row_ptr[0] != 0 \
            or row_ptr[-1] != proj.synapses or np.any(np.diff(row_ptr) < 0):
        return None
    expected = np.repeat(np.arange(proj.post_size), np.diff(row_ptr))
    return row_ptr if np.array_equal(post_idx, expected) else None


def _fusable(binding: NetworkBinding) -> dict[int, np.ndarray]:
    """Rate-coded projections whose next weighted sums are taken in the pass of their synaptic update.

    The update of step t writes only the projection's own per-synapse variables, and nothing runs between it and
    the weighted sum of step t + 1 that could change what the sum reads (no synaptic kernel in the network
    writes a neuron variable; the population updates come after the sums); the sum of a row from zero in
    storage order, added to the target's total at the sum's place in step t + 1, is the rate_sum kernel's.
    """
    if any("current_injection" in proj.unit.kernels for proj in binding.projections):
        return {}  # it writes a neuron variable (g_target) at the start of a step
    for proj in binding.projections:
        for name in ("continuous", "post_events", "pre_events_atomic"):
            kernel = proj.unit.kernels.get(name)
            if kernel is not None and any(p.role in ("pre", "post") and not p.ctype.startswith("const")
                                          for p in kernel.params):
                return {}
    fused = {}
    for proj in binding.projections:
        kernels = proj.unit.kernels
        if proj.spiking or proj.total is None or "rate_sum" not in kernels or "continuous" not in kernels:
            continue
        rate = kernels["rate_sum"]
        if any(p.role in ("pre_sum", "post_sum") for p in rate.params):
            continue  # the sums it reads are those of its own step, not yet taken when the last step ends
        start = proj.unit.source.find(f"GN_KERNEL {rate.name}(")
        if start < 0 or "const bool from_zero = true;" not in proj.unit.source[start:start + 2000]:
            continue
        if _rows(proj) is None or _element_names(proj.unit, rate, "s, pre_idx[s], post") is None \
                or _element_names(proj.unit, kernels["continuous"], "s, pre_idx[s], post_idx[s]") is None:
            continue
        if any(p.role == "attr" and p.is_pointer and not p.ctype.startswith("const")
               and np.size(proj.state.get(p.key)) != proj.synapses for p in kernels["continuous"].params):
            continue  # it writes a variable shared by synapses: a sum between two synapses' updates would see it
        fused[id(proj)] = np.zeros(proj.post_size, dtype=proj.total.dtype)
    return fused


def _continuous(binding: NetworkBinding, proj: ProjectionBinding, slots: _Slots, row_sums: Optional[np.ndarray],
                ind: str) -> list[str]:
    """The synaptic update of ``proj``: row by row when its synapses are stored so (no post index read),
    taking the next step's weighted sums (``row_sums``) in the same pass when given."""
    kernel = proj.unit.kernels["continuous"]
    values = {"n": proj.synapses, **_sides(proj)}
    arguments = _arguments(kernel, slots, values, proj.name)
    names = _element_names(proj.unit, kernel, "s, pre_idx[s], post_idx[s]")
    rows = _rows(proj)
    index = next((p for p in kernel.params if p.name == "pre_idx" and p.is_pointer), None)
    if names is None or rows is None or index is None or rows.dtype != C_DTYPES[index.base_type]:
        return [_call(kernel, arguments, ind)]
    by_name = {param.name: argument for param, argument in zip(kernel.params, arguments)}
    uses = [(param, by_name[param.name]) for param in kernel.params if param.name in names]
    rate = rate_names = rate_by_name = None
    if row_sums is not None:
        rate = proj.unit.kernels["rate_sum"]
        rate_values = {"n": proj.post_size, **_sides(proj), "total": proj.total}
        rate_by_name = {param.name: argument for param, argument in
                        zip(rate.params, _arguments(rate, slots, rate_values, proj.name))}
        rate_names = _element_names(proj.unit, rate, "s, pre_idx[s], post")
        uses += [(param, rate_by_name[param.name]) for param in rate.params if param.name in rate_names]
    local, declarations = _restricted(uses, slots)
    index_type = index.base_type
    row_slot = slots.pointer(rows)
    update = f"{kernel.name}_element(s, pre, post, step, t, dt{''.join(', ' + local[by_name[n]] for n in names)});"
    lines = [f"{ind}{{  // {proj.name}: synaptic update row by row (the synapses in storage order)",
             *(f"{ind}    {line}" for line in declarations),
             f"{ind}    const {index_type}* row_ptr = (const {index_type}*)P[{row_slot}];",
             f"{ind}    const {index_type}* pre_idx = {by_name['pre_idx']};",
             f"{ind}    const bool next = step + 1 < first + count;" if row_sums is not None else "",
             f"{ind}    for (gn_i64 post = 0; post < I[{slots.integer(proj.post_size)}]; ++post) {{",
             f"{ind}        const gn_i64 end = row_ptr[post + 1];"]
    if row_sums is None:
        lines += [f"{ind}        for (gn_i64 s = row_ptr[post]; s < end; ++s) {{",
                  f"{ind}            const gn_i64 pre = pre_idx[s];", f"{ind}            {update}", f"{ind}        }}"]
    else:
        real = _real(binding)
        psp = (f"{rate.name}_element(s, pre, post, step + 1, (double)(step + 1) * dt, dt"
               f"{''.join(', ' + local[rate_by_name[n]] for n in rate_names)})")
        lines += [f"{ind}        if (next) {{  // the weighted sum of the next step, from zero in storage order",
                  f"{ind}            {real} sum = ({real})0;",
                  f"{ind}            for (gn_i64 s = row_ptr[post]; s < end; ++s) {{",
                  f"{ind}                const gn_i64 pre = pre_idx[s];", f"{ind}                {update}",
                  f"{ind}                sum += {psp};", f"{ind}            }}",
                  f"{ind}            (({real}*)P[{slots.pointer(row_sums)}])[post] = sum;",
                  f"{ind}        }} else {{",
                  f"{ind}            for (gn_i64 s = row_ptr[post]; s < end; ++s) {{",
                  f"{ind}                const gn_i64 pre = pre_idx[s];", f"{ind}                {update}",
                  f"{ind}            }}", f"{ind}        }}"]
    lines += [f"{ind}    }}", f"{ind}}}"]
    lines = [line for line in lines if line]
    if _owned_writes(kernel, proj.state, proj.synapses, ()):
        lines = _split_rows(lines, ind, f"I[{slots.integer(proj.synapses)}]")
    return lines


def _split_rows(lines: list[str], ind: str, work: str, serial: Optional[list[str]] = None) -> list[str]:
    """A block of ``lines`` (opened and closed at ``ind``) around one loop over the post ranks, its rows
    independent, split among the threads in ranges of rows when ``work`` gives each at least the grain;
    ``serial`` (default: the block's own lines) is what one thread runs."""
    inner = [line[len(ind) + 4:] for line in lines[1:-1]]
    loop = re.compile(r"for \(gn_i64 post = 0; post < (.+); \+\+post\) \{")
    index = next(k for k, line in enumerate(inner) if loop.fullmatch(line))
    count = loop.fullmatch(inner[index]).group(1)
    parallel = inner[:index] + ["for (gn_i64 post = gn_lo; post < gn_hi; ++post) {"] + inner[index + 1:]
    return [lines[0].rstrip() + "; threads take ranges of rows",
            *(f"{ind}    {line}" for line in _over_range(count, work, parallel, inner if serial is None else serial)),
            lines[-1]]


def _rate_rows(binding: NetworkBinding, proj: ProjectionBinding, slots: _Slots, ind: str) -> list[str]:
    """The weighted sums of a rate-coded ``proj``: its ``rate_sum`` kernel on one thread; on several, the rows
    split among them, each summed as the kernel sums it on the host (in storage order, from zero then added to
    the total, or onto the total).  Only the kernel when its text is not the expected one."""
    kernel = proj.unit.kernels["rate_sum"]
    values = {"n": proj.post_size, **_sides(proj), "total": proj.total}
    arguments = _arguments(kernel, slots, values, proj.name)
    names = _element_names(proj.unit, kernel, "s, pre_idx[s], post")
    start = proj.unit.source.find(f"GN_KERNEL {kernel.name}(")
    head = proj.unit.source[start:start + 2000]
    from_zero = "true" if "const bool from_zero = true;" in head else "false" if "const bool from_zero = false;" \
        in head else None
    by_name = {param.name: argument for param, argument in zip(kernel.params, arguments)}
    types = {param.name: param.base_type for param in kernel.params}
    if names is None or from_zero is None or not {"row_ptr", "pre_idx", "total"} <= set(by_name):
        return [_call(kernel, arguments, ind)]
    real = _real(binding)
    element = f"{kernel.name}_element(s, pre_idx[s], post, step, t, dt{''.join(', ' + by_name[n] for n in names)})"
    lines = [f"{{  // {proj.name}: weighted sums row by row (the rate_sum kernel's order)",
             f"    const bool from_zero = {from_zero};",
             f"    {real}* total = {by_name['total']};",
             f"    const {types['row_ptr']}* row_ptr = {by_name['row_ptr']};",
             f"    const {types['pre_idx']}* pre_idx = {by_name['pre_idx']};",
             f"    for (gn_i64 post = 0; post < {by_name['n']}; ++post) {{",
             "        const gn_i64 end = row_ptr[post + 1];",
             f"        {real} sum = from_zero ? ({real})0 : total[post];",
             f"        for (gn_i64 s = row_ptr[post]; s < end; ++s) sum += {element};",
             "        total[post] = from_zero ? total[post] + sum : sum;",
             "    }", "}"]
    return _split_rows([f"{ind}{line}" for line in lines], ind, f"I[{slots.integer(proj.synapses)}]",
                       [_call(kernel, arguments, "")])


def _post_events(proj: ProjectionBinding, slots: _Slots, ind: str) -> list[str]:
    """The ``post_spike`` statements of ``proj``: the kernel, or, when the element reads no ``pre.`` attribute
    nor ``pre.sum()`` (then the pre rank it gets is unused), the same element calls row by row without reading ``_pre_idx``, so
    the projection need not build its pre ranks.  Synapses are independent here: the order is free."""
    kernel = proj.unit.kernels["post_events"]
    values = {"n": proj.post_size, **_sides(proj), "spiked": proj.post_spiked}
    names = _element_names(proj.unit, kernel, "s, pre_idx[s], post")
    row_ptr = next((p for p in kernel.params if p.name == "row_ptr" and p.is_pointer), None)
    if names is None or row_ptr is None or any(p.role in ("pre", "pre_sum") for p in kernel.params):
        return [_call(kernel, _arguments(kernel, slots, values, proj.name), ind)]
    arguments = _arguments(kernel, slots, values, proj.name, frozenset({"pre_idx"}))
    by_name = {param.name: argument for param, argument in zip(kernel.params, arguments)}
    tail = "".join(", " + by_name[name] for name in names)
    lines = [f"{ind}{{  // {proj.name}: post-synaptic events row by row (the model reads no pre. attribute)",
             f"{ind}    const bool* spiked = {by_name['spiked']};",
             f"{ind}    const {row_ptr.base_type}* row_ptr = {by_name['row_ptr']};",
             f"{ind}    for (gn_i64 post = 0; post < {by_name['n']}; ++post) {{",
             f"{ind}        if (!spiked[post]) continue;",
             f"{ind}        for (gn_i64 s = row_ptr[post]; s < row_ptr[post + 1]; ++s) {{",
             f"{ind}            {kernel.name}_element(s, 0, post, step, t, dt{tail});",
             f"{ind}        }}", f"{ind}    }}", f"{ind}}}"]
    if not _owned_writes(kernel, proj.state, proj.synapses, ()):
        return lines
    work = f"gn_row_work({by_name['spiked']}, {by_name['row_ptr']}, {by_name['n']})"
    return _split_rows(lines, ind, work)


def _restricted(uses: list[tuple[Any, str]], slots: _Slots) -> tuple[dict[str, str], list[str]]:
    """One local pointer per distinct bound array of ``uses`` ((parameter, C expression) pairs), declared
    ``__restrict__`` when no array written through it overlaps another (then the compiler keeps per-row values
    in registers); returns (expression -> local name, declarations)."""
    arrays: dict[str, Any] = {}
    written: dict[str, bool] = {}
    types: dict[str, str] = {}
    for param, expression in uses:
        match = re.fullmatch(r"\((?:const )?[\w ]+\*\)P\[(\d+)\]", expression)
        if match is None:
            return {expression: expression for _param, expression in uses}, []
        arrays[expression] = slots.pointers[int(match.group(1))]
        written[expression] = written.get(expression, False) or not param.ctype.startswith("const")
        types[expression] = param.base_type
    by_array: dict[int, str] = {}
    for expression, array in arrays.items():
        by_array.setdefault(id(array), expression)
    distinct = {expression: by_array[id(array)] for expression, array in arrays.items()}
    heads = sorted(set(distinct.values()), key=list(arrays).index)
    for head in heads:
        written[head] = any(written[e] for e in arrays if distinct[e] == head)
    overlap = any(written[a] and np.shares_memory(arrays[a], arrays[b]) for a in heads for b in heads if a != b)
    qualifier = "" if overlap else " __restrict__"
    names = {head: f"v{k}" for k, head in enumerate(heads)}
    declarations = [f"{'' if written[head] else 'const '}{types[head]}*{qualifier} {names[head]} = "
                    f"({'' if written[head] else 'const '}{types[head]}*){head.split(')', 1)[1]};" for head in heads]
    return {expression: names[distinct[expression]] for expression in arrays}, declarations


#: Largest spike ring (rows x neurons) that gets per-row lists of spiking ranks (8 bytes per entry).
MAX_SPIKE_LIST_ENTRIES = 1 << 24


def _element_call(unit: CudaUnit, kernel: KernelInfo, arguments: list[str]) -> Optional[tuple[str, str, str]]:
    """``(element function, its arguments after dt, post index array)`` of an atomic spike kernel, or None.

    The atomic kernel adds ``element(s, pre, post, step, t_host, dt_host, ...)`` to ``g_target[post]`` for
    each synapse of each spiking pre neuron; the driver makes the same calls over the spiking ranks only.
    The element's trailing arguments are read off the kernel's text and mapped to the kernel's parameters.
    """
    element = kernel.name[:-len("_atomic")] + "_element" if kernel.name.endswith("_atomic") else None
    if element is None:
        return None
    start = unit.source.find(f"GN_KERNEL {kernel.name}(")
    call = unit.source.find(f"gn_atomic_add(&g_target[post], {element}(s, pre, post, step, t_host, dt_host", start)
    if start < 0 or call < 0:
        return None
    tail = unit.source[call:unit.source.find(");", call)]
    names = [n.strip() for n in tail.split("dt_host", 1)[1].split(",") if n.strip()]
    names[-1:] = [names[-1].rstrip(")")] if names else []
    by_name = {param.name: argument for param, argument in zip(kernel.params, arguments)}
    if any(name not in by_name for name in names) or "post_idx" not in by_name:
        return None
    return element, "".join(f", {by_name[name]}" for name in names), f"({by_name['post_idx']})"


def _source_events(pop: PopulationBinding, slots: _Slots, ind: str) -> list[str]:
    """The step of a spike source: its spike mask and last spike steps from its sorted event list."""
    steps, ranks = pop.events
    for name, array in (("event steps", steps), ("event ranks", ranks), ("_last_spike", pop.state["_last_spike"])):
        if array.dtype != np.int64 or not array.flags.c_contiguous:
            raise UnsupportedByCuda(f"{pop.name}: {name} must be a C-contiguous int64 array")
    if pop.spiked is None or pop.spiked.dtype != np.bool_ or not pop.spiked.flags.c_contiguous:
        raise UnsupportedByCuda(f"{pop.name}: its spike mask must be a C-contiguous bool array")
    spiked, last = slots.pointer(pop.spiked), slots.pointer(pop.state["_last_spike"])
    event_steps, event_ranks, count = slots.pointer(steps), slots.pointer(ranks), slots.integer(len(steps))
    return [f"{ind}{{  // {pop.name}: spike source",
            f"{ind}    bool* spiked = (bool*)P[{spiked}];",
            f"{ind}    gn_i64* last = (gn_i64*)P[{last}];",
            f"{ind}    const gn_i64* steps = (const gn_i64*)P[{event_steps}];",
            f"{ind}    const gn_i64* ranks = (const gn_i64*)P[{event_ranks}];",
            f"{ind}    for (gn_i64 i = 0; i < I[{slots.integer(pop.size)}]; ++i) spiked[i] = false;",
            f"{ind}    gn_i64 lo = 0, hi = I[{count}];",
            f"{ind}    while (lo < hi) {{ const gn_i64 mid = lo + (hi - lo) / 2; "
            "if (steps[mid] < step) lo = mid + 1; else hi = mid; }",
            f"{ind}    for (gn_i64 k = lo; k < I[{count}] && steps[k] == step; ++k) {{ spiked[ranks[k]] = true; "
            "last[ranks[k]] = step; }",
            f"{ind}}}"]


def _sides(proj: ProjectionBinding) -> dict[str, Any]:
    """The arrays a projection's kernels read by role: its state, the pre/post states and summed inputs."""
    return {"attr": proj.state, "pre": proj.pre_state, "post": proj.post_state, "pre_sum": proj.pre_sums,
            "post_sum": proj.post_sums}


def _param(kernel: KernelInfo, role: str) -> Any:
    return next(p for p in kernel.params if p.role == role)


def _real(binding: NetworkBinding) -> str:
    return "double" if binding.precision == "float64" else "float"


#: Bound before the units' text: exp and log of doubles call NumPy's own loops when they are set.
MATH_HEADER = """// gpunet compiled step loop: exp and log as NumPy computes them (its SIMD loops), bound at load time.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
typedef void (*gn_numpy_loop)(char**, const std::intptr_t*, const std::intptr_t*, void*);
static gn_numpy_loop gn_exp_loop = nullptr;
static gn_numpy_loop gn_log_loop = nullptr;
static inline double gn_call_loop(gn_numpy_loop loop, double x)
{
    double out;
    char* args[2] = {(char*)&x, (char*)&out};
    const std::intptr_t n = 1;
    const std::intptr_t steps[2] = {(std::intptr_t)sizeof(double), (std::intptr_t)sizeof(double)};
    loop(args, &n, steps, nullptr);
    return out;
}
// Event-driven traces take exp of few distinct arguments (whole steps over a time constant): a direct-mapped
// memo of NumPy's results returns the same bits without the call.  Runs on one thread use one static memo;
// while an OpenMP region of the driver runs (gn_regions > 0), every thread uses its own.  Both words of an
// entry are stored XORed with a NaN pattern, so a zeroed memo holds (NaN bits, that NaN) in every entry:
// the thread-local memos need no initialisation.
struct gn_memo_entry { std::uint64_t key; std::uint64_t value; };
static gn_memo_entry gn_exp_memo[4096];
static thread_local gn_memo_entry gn_thread_memo[4096];
static std::atomic<int> gn_regions{0};
static const std::uint64_t gn_memo_empty = 0x7ff8deadbeef0001ULL;
static inline double gn_numpy_exp(double x)
{
    if (!gn_exp_loop) {
        return std::exp(x);
    }
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    gn_memo_entry* memo = gn_regions.load(std::memory_order_relaxed) ? gn_thread_memo : gn_exp_memo;
    gn_memo_entry& entry = memo[((bits ^ (bits >> 31)) * 0x9E3779B97F4A7C15ULL) >> 52];
    if (entry.key != (bits ^ gn_memo_empty)) {
        const double value = gn_call_loop(gn_exp_loop, x);
        std::uint64_t stored;
        std::memcpy(&stored, &value, sizeof stored);
        entry.key = bits ^ gn_memo_empty;
        entry.value = stored ^ gn_memo_empty;
        return value;
    }
    const std::uint64_t stored = entry.value ^ gn_memo_empty;
    double value;
    std::memcpy(&value, &stored, sizeof value);
    return value;
}
static inline float gn_numpy_exp(float x) { return std::exp(x); }
static inline double gn_numpy_log(double x) { return gn_log_loop ? gn_call_loop(gn_log_loop, x) : std::log(x); }
static inline float gn_numpy_log(float x) { return std::log(x); }
extern "C" void gn_bind_math(void* exp_loop, void* log_loop)
{
    gn_exp_loop = (gn_numpy_loop)exp_loop;
    gn_log_loop = (gn_numpy_loop)log_loop;
    std::memset(gn_exp_memo, 0, sizeof gn_exp_memo);  // (the threads' memos hold NumPy's values or nothing)
}
#define exp(x) gn_numpy_exp(x)
#define log(x) gn_numpy_log(x)
"""


#: Bound after the units' text: the driver's loops over independent elements run on OpenMP threads when the
#: library is built with ``-fopenmp``; the thread count is set per run (``gn_set_threads``), not compiled in.
PARALLEL_HEADER = """
// gpunet compiled step loop: OpenMP threads over independent elements (built with -fopenmp), else one thread.
#ifdef _OPENMP
#include <omp.h>
#endif
static thread_local int gn_threads = 1;       // threads of the calling thread's runs
static thread_local gn_i64 gn_grain = 1;      // least work (elements) given to one thread
static thread_local int gn_team = 1;          // the largest team of the calling thread's last run
extern "C" void gn_set_threads(int threads, gn_i64 grain)
{
    gn_threads = threads < 1 ? 1 : threads;
    gn_grain = grain < 1 ? 1 : grain;
    gn_team = 1;
}
extern "C" int gn_last_team(void) { return gn_team; }
extern "C" int gn_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}
// Threads for a loop over n elements: at most gn_threads, each given at least the grain of `work`.
static inline int gn_team_for(const gn_i64 n, const gn_i64 work)
{
    gn_i64 team = gn_threads;
    if (work / gn_grain < team) team = work / gn_grain;
    if (team > n) team = n;
    return team > 1 ? (int)team : 1;
}
// The first (end = 0) or last + 1 (end = 1) element of the calling thread's contiguous range of [0, n) in a
// parallel region; the elements write disjoint places, so any split has the bits of one thread.
static inline gn_i64 gn_range(const gn_i64 n, const int end)
{
#ifdef _OPENMP
    const gn_i64 k = omp_get_thread_num(), size = omp_get_num_threads();
    if (k == 0 && size > gn_team) gn_team = (int)size;  // thread 0 is the caller: its own gn_team
    return n * (k + end) / size;
#else
    return end ? n : 0;
#endif
}
// Synapses reached by the spikes arriving at `step` (one pass per delay group over the listed spiking ranks).
static inline gn_i64 gn_arrival_work(const gn_u64* table, gn_i64 groups, const gn_i64* lists, const gn_i64* counts,
                                     gn_i64 depth, gn_i64 size, gn_i64 step)
{
    gn_i64 work = 0;
    for (gn_i64 g = 0; g < groups; ++g) {
        gn_i64 row = (step - (gn_i64)table[3 * g]) % depth;
        row = row < 0 ? row + depth : row;
        const gn_i64* pre_ptr = (const gn_i64*)(uintptr_t)table[3 * g + 1];
        for (gn_i64 k = 0; k < counts[row]; ++k) work += pre_ptr[lists[row * size + k] + 1] - pre_ptr[lists[row * size + k]];
    }
    return work;
}
// Synapses in the rows of the post neurons that spiked.
template <class Index> static inline gn_i64 gn_row_work(const bool* spiked, const Index* row_ptr, gn_i64 n)
{
    gn_i64 work = 0;
    for (gn_i64 i = 0; i < n; ++i) if (spiked[i]) work += row_ptr[i + 1] - row_ptr[i];
    return work;
}
"""


def library_source(binding: NetworkBinding) -> tuple[str, _Slots]:
    """The complete source of the network's library (math header, unit sources, driver) and its slots."""
    driver, slots = generate(binding)
    units: list[str] = []
    for unit in [p.unit for p in binding.populations] + [p.unit for p in binding.projections]:
        if unit.source not in units:
            units.append(unit.source)
    return MATH_HEADER + "\n".join(units) + PARALLEL_HEADER + driver, slots


# -- NumPy's exp and log loops ----------------------------------------------------------------------------
class _UFuncHead(ctypes.Structure):
    """The leading fields of NumPy's ``PyUFuncObject`` (stable C API layout)."""

    _fields_ = [("ob_refcnt", ctypes.c_ssize_t), ("ob_type", ctypes.c_void_p), ("nin", ctypes.c_int),
                ("nout", ctypes.c_int), ("nargs", ctypes.c_int), ("identity", ctypes.c_int),
                ("functions", ctypes.POINTER(ctypes.c_void_p)), ("data", ctypes.POINTER(ctypes.c_void_p)),
                ("ntypes", ctypes.c_int), ("reserved1", ctypes.c_int), ("name", ctypes.c_char_p),
                ("types", ctypes.POINTER(ctypes.c_char))]


_LOOP = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_ssize_t),
                         ctypes.POINTER(ctypes.c_ssize_t), ctypes.c_void_p)
_math_loops: Optional[tuple[int, int]] = None


def _double_loop(ufunc: np.ufunc) -> Optional[int]:
    """Address of ``ufunc``'s float64 -> float64 inner loop, checked against the ufunc itself, or None."""
    head = _UFuncHead.from_address(id(ufunc))
    if (head.nin, head.nout, head.nargs) != (1, 1, 2) or head.name != ufunc.__name__.encode():
        return None
    double = np.dtype(np.float64).num
    for index in range(head.ntypes):
        if [head.types[2 * index + k][0] for k in range(2)] != [double, double]:
            continue
        if head.data and head.data[index]:
            return None  # a generic loop that needs its data pointer: not the plain float64 loop
        address = head.functions[index]
        probe = np.random.default_rng(0).uniform(-30.0, 30.0, 4096)
        if ufunc is np.log:
            probe = np.abs(probe) + 1e-300
        out = np.empty(1)
        one = np.empty(1)
        loop = _LOOP(address)
        args = (ctypes.c_void_p * 2)(one.ctypes.data, out.ctypes.data)
        n, steps = (ctypes.c_ssize_t * 1)(1), (ctypes.c_ssize_t * 2)(8, 8)
        expected = ufunc(probe)
        for k in range(len(probe)):
            one[0] = probe[k]
            loop(args, n, steps, None)
            if out[0] != expected[k]:
                return None
        return int(address)
    return None


def numpy_math_loops() -> tuple[int, int]:
    """Addresses of NumPy's float64 ``exp`` and ``log`` loops (0 for one that cannot be used safely)."""
    global _math_loops
    if _math_loops is None:
        try:
            _math_loops = (_double_loop(np.exp) or 0, _double_loop(np.log) or 0)
        except (ValueError, OSError):
            _math_loops = (0, 0)
    return _math_loops


def bind_numpy_math(library: ctypes.CDLL) -> bool:
    """Point the ``exp`` and ``log`` of ``library`` (built from :data:`MATH_HEADER` + sources) at NumPy's loops.

    Parameters
    ----------
    library : ctypes.CDLL
        A library whose source starts with :data:`MATH_HEADER`.

    Returns
    -------
    bool
        Whether both of NumPy's loops are bound (otherwise the C library's functions stand in).
    """
    exp_loop, log_loop = numpy_math_loops()
    library.gn_bind_math(ctypes.c_void_p(exp_loop or None), ctypes.c_void_p(log_loop or None))
    return bool(exp_loop and log_loop)


class HostLoop:
    """A network's compiled step loop, bound to its arrays.

    Parameters
    ----------
    binding : NetworkBinding
        The network's objects and arrays.
    compiler : str, optional
        Host C++ compiler (default :func:`~gpunet.codegen.runtime.host_build.find_compiler`).

    Raises
    ------
    UnsupportedByCuda
        When an object needs something the driver does not bind.
    BackendError
        When no compiler is found or the compilation fails.
    """

    def __init__(self, binding: NetworkBinding, compiler: Optional[str] = None) -> None:
        source, slots = library_source(binding)
        self.source = source
        self.library = build_library(source, compiler, openmp_flags(compiler))
        self.numpy_math = bind_numpy_math(self.library)
        #: Whether the library runs OpenMP threads (built with ``-fopenmp``); else every run has one thread.
        self.openmp = bool(self.library.gn_openmp())
        #: Threads of the next runs (at most; loops with less work than :data:`PARALLEL_GRAIN` per thread use
        #: fewer).  A runtime setting: no rebuild.
        self.threads = 1
        self._set_threads = self.library.gn_set_threads
        self._set_threads.restype = None
        self._set_threads.argtypes = [ctypes.c_int, ctypes.c_longlong]
        self._arrays = slots.pointers + slots.referenced  # keeps every bound array alive while the loop may run
        self._key_sources = slots.key_sources
        self._pointers = np.asarray([a.ctypes.data for a in slots.pointers] or [0], dtype=np.uint64)
        self._integers = np.asarray(slots.integers or [0], dtype=np.int64)
        self._keys = np.asarray(slots.keys or [0], dtype=np.uint64)
        function = getattr(self.library, ENTRY)
        function.restype = None
        function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_longlong,
                             ctypes.c_longlong, ctypes.c_double]
        self._function = function
        self._addresses = (self._pointers.ctypes.data, self._integers.ctypes.data, self._keys.ctypes.data)

    def arrays(self) -> list[Any]:
        """The bound arrays, in slot order (a new list)."""
        return list(self._arrays)

    def run(self, first: int, count: int, dt: float) -> None:
        """Simulate steps ``first .. first + count - 1`` (noise keys read afresh: a reseed changes them)."""
        for index, (mapping, site) in enumerate(self._key_sources):
            self._keys[index] = mapping[site]
        if count > 0:
            self._set_threads(int(self.threads), int(PARALLEL_GRAIN))
            self._function(*self._addresses, int(first), int(count), float(dt))

    def last_team(self) -> int:
        """The most threads one loop of the last run (from this thread) had: 1 when every loop ran serially."""
        return int(self.library.gn_last_team())
