"""A step graph's ordered spike propagation: one launch for all the projections of a synapse unit.

The NumPy path delivers a step's spikes projection after projection, in the
network's order; several projections onto one post population and target add
to the same conductance array, in that order.  :func:`merge_rounds` groups the
spiking projections of a network into merged launches that keep it: the
projections onto one (post population, target) form runs of consecutive
projections of the same unit (synapse model, precision, index type); run
``k`` of every pair goes into round ``k``, and a round has one launch per
unit, holding every run of that unit in the round.  Launches of one round add
to different arrays; the rounds run in order.  A network whose projections
onto a population and target all use one unit has one round: one launch per
unit whatever the number of projections, post populations and delays.

:class:`MergedLaunch` is one launch: the unit's ``pre_events_merged`` kernel
with a device table of the projections' ordered-kernel arguments (one row
each, grouped by (post population, target), each group's rows in network
order) and one block item per slice of each group's post population: a block
walks the projections that add to one conductance array, in network order.
:class:`MergedListing` lists the newest row of the spike rings of every
spiking pre population in two launches (``spike_count_merged``, then
``spike_list_merged``), where each population used two.
Objects are duck-typed (projections' ``post``, ``target``; kernel runners'
``kernels``, ``merged_row()``, ``current_spike_lists()``): this module imports
nothing of :mod:`gpunet.network`.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from gpunet.codegen.cuda.synapse import merged_row_params
from gpunet.codegen.runtime.kernel_calls import POST_SLICE
from gpunet.codegen.runtime.merged_table import TableLaunch, table_words
from gpunet.codegen.runtime.runners import array_address

#: Roles of element parameters that read arrays other projections' deliveries may write in the same phase.
_SHARED_READS = ("pre_sum", "post_sum")


def merge_reason(projections: Sequence[tuple[Any, Any]]) -> Optional[str]:
    """Why the ordered propagation of these projections cannot be merged, or None.

    Parameters
    ----------
    projections : sequence of (projection, runner)
        A network's spiking projections whose deliveries run generated kernels, in network order.
    """
    for proj, runner in projections:
        ordered = runner.kernels.unit.kernels.get("pre_events_ordered")
        if ordered is None or "pre_events_merged" not in runner.kernels.unit.kernels:
            return f"projection {proj.name!r} has no merged propagation kernel"
        for param in ordered.params:
            if param.role in _SHARED_READS or (param.role in ("pre", "post") and param.key.startswith("g_")):
                # another projection's delivery of the same step may write what it reads: keep each one's launch
                return (f"projection {proj.name!r} reads {param.role} {param.key!r} while spikes are delivered "
                        "(the projections keep one launch each, in network order)")
    return None


def merge_rounds(projections: Sequence[tuple[Any, Any]]) -> list[list[tuple[Any, Any]]]:
    """The merged launches of ``projections``, in the order they run: each a list of (projection, runner).

    Parameters
    ----------
    projections : sequence of (projection, runner)
        Spiking projections whose deliveries can be merged (:func:`merge_reason` is None), in network order.
    """
    last: dict[tuple[int, str], tuple[str, int]] = {}  # (post population, target) -> (unit, round) of its last run
    launches: dict[tuple[int, str], list[tuple[Any, Any]]] = {}
    units: dict[str, int] = {}
    for proj, runner in projections:
        unit = runner.kernels.unit.source
        units.setdefault(unit, len(units))
        pair = (id(proj.post), proj.target)
        previous = last.get(pair)
        rank = 0 if previous is None else previous[1] + (previous[0] != unit)
        last[pair] = (unit, rank)
        launches.setdefault((rank, unit), []).append((proj, runner))
    order = sorted(launches, key=lambda key: (key[0], units[key[1]]))
    return [launches[key] for key in order]


class MergedLaunch(TableLaunch):
    """One launch of a unit's merged ordered propagation for several projections.

    Parameters
    ----------
    members : list of (projection, runner)
        Projections of one unit (:func:`merge_rounds`), in network order.
    launcher : callable
        The launcher of the unit's source (a step graph's recorder).
    clock : device array
        The step graph's clock.
    dt : float
        Step size (ms).
    to_device : callable
        Copies a NumPy array to the device (the backend's ``asarray``).
    """

    def __init__(self, members: Sequence[tuple[Any, Any]], launcher: Any, clock: Any, dt: float,
                 to_device: Any) -> None:
        self.members = list(members)
        unit = self.members[0][1].kernels.unit
        super().__init__([unit.kernels["pre_events_merged"]], launcher, clock, dt, to_device)
        self._row_params = merged_row_params(unit.kernels["pre_events_ordered"])

    def record(self) -> None:
        """Build the table of the members' arguments (their arrays as they are now) and record the launch."""
        # only the additions to one conductance array are ordered: a block walks the projections onto one
        # (post population, target), so the two targets of a population run in different blocks
        by_conductance: dict[tuple[int, str], list[tuple[Any, Any]]] = {}
        for proj, runner in self.members:
            by_conductance.setdefault((id(proj.post), proj.target), []).append((proj, runner))
        rows: list[list[int]] = []
        items: list[tuple[int, int, int]] = []
        for members in by_conductance.values():
            first = len(rows)
            for _proj, runner in members:
                rows.append(table_words(self._row_params, runner.merged_row()))
            slices = members[0][1].kernels.slices
            items += [(first, len(rows), k * POST_SLICE) for k in range(slices)]
        self._launch(rows, items, 3, "merged")


class MergedListing(TableLaunch):
    """The spike lists of the newest row (the step before) of several spike rings, in two launches.

    Parameters
    ----------
    listers : list of runner
        One kernel runner per spike ring to list (the first projection from each pre population), all of
        one unit (the lists have its index type).
    launcher : callable
        The launcher of the unit's source (a step graph's recorder).
    clock : device array
        The step graph's clock.
    dt : float
        Step size (ms).
    to_device : callable
        Copies a NumPy array to the device (the backend's ``asarray``).
    """

    def __init__(self, listers: Sequence[Any], launcher: Any, clock: Any, dt: float, to_device: Any) -> None:
        self.listers = list(listers)
        kernels = self.listers[0].kernels.unit.kernels
        super().__init__([kernels[phase] for phase in ("spike_count_merged", "spike_list_merged")], launcher, clock,
                         dt, to_device)

    def record(self) -> None:
        """Build the table of the rings' lists (as they are now) and record the two launches."""
        rows: list[list[int]] = []
        items: list[tuple[int, int, int]] = []
        for runner in self.listers:
            lists = runner.current_spike_lists()
            items += [(len(rows), 0, c) for c in range(lists.chunks)]
            rows.append([array_address(lists.history), lists.depth, int(lists.history.shape[1]), lists.chunks, 1,
                         array_address(lists.chunk_counts), array_address(lists.counts), array_address(lists.lists)])
        self._launch(rows, items, 3, "list", width=False)
