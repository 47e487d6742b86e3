"""Monitors: record variables and spikes of a population during a simulation.

Recorded data stays on the device (one small array per recorded step, stacked
when fetched) until :meth:`Monitor.get` is called.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from gpunet.errors import StructureError

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.population import Population


class Monitor:
    """Record ``variables`` of ``obj`` (``"spike"`` records spike times).

    Parameters
    ----------
    obj : Population
    variables : str or list of str
        Attribute names, and/or ``"spike"`` for spiking populations.
    period : float, optional
        Recording period in ms (default: every step).
    start : bool
        Start recording at once (default) or wait for :meth:`resume`.

    Examples
    --------
    >>> import gpunet as gn
    >>> net = gn.Network(backend="numpy", seed=1)
    >>> pop = net.create(3, gn.Izhikevich)
    >>> pop.i_offset = 10.0
    >>> m = net.monitor(pop, ["spike", "v"])
    >>> net.simulate(50.0)
    >>> m.get("v").shape
    (50, 3)
    """

    def __init__(self, obj: "Population", variables: Union[str, Sequence[str]], period: Optional[float] = None,
                 start: bool = True, network=None) -> None:
        from gpunet.network.population import Population
        if not isinstance(obj, Population):
            raise StructureError(f"Monitor: only populations can be monitored, got {type(obj).__name__}")
        self.object = obj
        self.network = network if network is not None else obj.network
        self.variables = [variables] if isinstance(variables, str) else list(variables)
        for name in self.variables:
            if name == "spike":
                if not obj.spiking:
                    raise StructureError(f"Monitor: population {obj.name!r} is rate-coded and emits no spikes")
            elif name not in obj.spec.attributes:
                raise AttributeError(f"Monitor: population {obj.name!r} has no attribute {name!r}; "
                                     f"its attributes are: {', '.join(obj.spec.attributes)}")
        dt = self.network.dt
        self.period_steps = max(1, int(round(period / dt))) if period else 1
        self.recording = bool(start)
        self._data: dict[str, list] = {name: [] for name in self.variables}
        self._steps: dict[str, list[int]] = {name: [] for name in self.variables}
        self.network._add_monitor(self)

    def pause(self) -> None:
        """Stop recording until :meth:`resume`."""
        self.recording = False

    def resume(self) -> None:
        """Record again."""
        self.recording = True

    def _record(self, step: int) -> None:
        if not self.recording or step % self.period_steps:
            return
        xp = self.network.backend.xp
        for name in self.variables:
            array = self.object._spiked if name == "spike" else self.object._state[name]
            self._data[name].append(xp.copy(array))
            self._steps[name].append(step)

    def times(self, name: str) -> np.ndarray:
        """Steps at which ``name`` was recorded."""
        return np.asarray(self._steps[name], dtype=np.int64)

    def get(self, name: Optional[str] = None, keep: bool = False) -> Any:
        """Recorded data: ``(steps, neurons)`` arrays for variables, ``{rank: [times]}`` for spikes.

        Without ``name``, a dict of everything.  Unless ``keep`` is true the
        recorded data is handed over and the monitor starts empty again.
        """
        if name is None:
            return {n: self.get(n, keep) for n in self.variables}
        if name not in self._data:
            raise KeyError(f"Monitor of {self.object.name!r} does not record {name!r}; it records {self.variables}")
        backend = self.network.backend
        chunks, steps = self._data[name], self._steps[name]
        if chunks:
            with backend.activate():  # stack on the monitor's device and stream (gpu fix, issue 14)
                host = backend.to_host(backend.xp.stack(chunks))
        else:
            host = np.zeros((0, self.object.size), dtype=bool if name == "spike" else np.float64)
        if not keep:
            self._data[name], self._steps[name] = [], []
        if name == "spike":
            spikes: dict[int, list[float]] = {}
            rows, ranks = np.nonzero(host)
            dt = self.network.dt
            for row, rank in zip(rows, ranks):
                spikes.setdefault(int(rank), []).append(steps[row] * dt)
            return spikes
        return host

    def raster_plot(self, spikes: Optional[dict] = None) -> tuple[np.ndarray, np.ndarray]:
        """``(times, ranks)`` arrays of the recorded spikes, for scatter plots."""
        spikes = self.get("spike") if spikes is None else spikes
        times = [t for rank in sorted(spikes) for t in spikes[rank]]
        ranks = [rank for rank in sorted(spikes) for _ in spikes[rank]]
        return np.asarray(times), np.asarray(ranks)
