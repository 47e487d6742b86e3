"""A step graph's neuron updates: one launch for all the populations of a neuron unit.

The populations of one neuron unit (one generated source: model and
precision) run the same element function on their own arrays, and no
population's update reads another's.  :func:`update_groups` groups the
populations of a network by unit; :class:`MergedUpdate` is one launch of the
unit's ``neuron_update_merged`` kernel with a device table of the members'
``neuron_update`` arguments (one row each: the number of neurons, then the
arrays as addresses and the noise keys and counter offset as values) and one
block item (row, first neuron) per :data:`~gpunet.codegen.cuda.neuron.NEURON_CHUNK`
neurons of each member.  Each neuron computes what its own population's kernel
computes.  The global equations of a model that has them keep one launch per
population (one thread each), before the merged launch.
Objects are duck-typed (populations' ``name``; kernel runners' ``kernels``,
``merged_row()``, ``update_globals()``): this module imports nothing of
:mod:`gpunet.network`.
"""
from __future__ import annotations

from typing import Any, Sequence

from gpunet.codegen.cuda.neuron import NEURON_CHUNK
from gpunet.codegen.runtime.merged_table import TableLaunch, table_words


def update_groups(populations: Sequence[tuple[Any, Any]]) -> tuple[list[list[tuple[Any, Any]]],
                                                                   list[tuple[Any, Any, str]]]:
    """The merged updates of ``populations``, and the populations that keep their own launch with the reason.

    Parameters
    ----------
    populations : sequence of (population, runner)
        A network's populations whose updates run generated kernels, in network order.

    Returns
    -------
    groups : list of list of (population, runner)
        One list per unit of two populations or more, in the order of their first population.
    alone : list of (population, runner, reason)
        The others, in network order.
    """
    by_unit: dict[str, list[tuple[Any, Any]]] = {}
    alone: list[tuple[Any, Any, str]] = []
    for pop, runner in populations:
        unit = runner.kernels.unit
        if "neuron_update_merged" not in unit.kernels:
            alone.append((pop, runner, f"its unit {unit.prefix} has no merged update kernel"))
        else:
            by_unit.setdefault(unit.source, []).append((pop, runner))
    groups = []
    for members in by_unit.values():
        if len(members) > 1:
            groups.append(members)
        else:
            pop, runner = members[0]
            alone.append((pop, runner, f"the only population of its unit {runner.kernels.unit.prefix}"))
    order = {id(pop): k for k, (pop, _runner) in enumerate(populations)}
    alone.sort(key=lambda entry: order[id(entry[0])])
    return groups, alone


def update_description(groups: Sequence["MergedUpdate"], alone: Sequence[tuple[Any, Any, str]]) -> str:
    """One line on a step graph's neuron updates: merged launches and their populations, and the others' reasons.

    Parameters
    ----------
    groups : sequence of MergedUpdate
        The merged updates.
    alone : sequence of (population, runner, reason)
        The populations that keep their own launch (:func:`update_groups`).
    """
    merged = sum(len(group.members) for group in groups)
    text = f"neuron updates: {len(groups)} merged launch(es) for {merged} population(s)"
    if alone:
        text += "; one launch each for " + ", ".join(f"{pop.name!r} ({reason})" for pop, _runner, reason in alone)
    return text


class MergedUpdate(TableLaunch):
    """One launch of a unit's merged neuron update for several populations.

    Parameters
    ----------
    members : list of (population, runner)
        Populations of one neuron unit (:func:`update_groups`), in network order.
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
        super().__init__([unit.kernels["neuron_update_merged"]], launcher, clock, dt, to_device)

    def record(self) -> None:
        """Record the members' global equations (one launch each, where the model has some), then the merged update
        with a table of their arguments (their arrays and noise keys as they are now)."""
        rows: list[list[int]] = []
        items: list[tuple[int, int]] = []
        for _pop, runner in self.members:
            runner.update_globals(0)
            row = runner.merged_row()
            params = runner.kernels.kernel.params[-(len(row) - 1):] if len(row) > 1 else ()
            items += [(len(rows), first) for first in range(0, int(row[0]), NEURON_CHUNK)]
            rows.append([int(row[0])] + table_words(params, row[1:]))
        self._launch(rows, items, 2, "merged")  # items: (row, first neuron)
