"""Monitors: record variables and spikes of a population during a simulation.

Variables are recorded every ``period`` (one small device array per recorded
step, stacked when fetched).  Spikes are recorded as events at every step,
whatever the period (as ANNarchy does), in arrays that grow with the number of
spikes (:class:`~gpunet.network.spike_events.SpikeEvents`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from gpunet.errors import StructureError
from gpunet.network import spike_statistics
from gpunet.network.spike_events import SpikeEvents

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.population import Population


class Monitor:
    """Record ``variables`` of ``obj`` (``"spike"`` records the spikes).

    Parameters
    ----------
    obj : Population or PopulationView
        A view records the neurons of the view (ranks of the population).
    variables : str or list of str
        Attribute names, and/or ``"spike"`` for spiking populations.
    period : float, optional
        Recording period in ms of the variables (default: every step).  Spikes
        are recorded at every step whatever the period, as in ANNarchy.
    start : bool
        Start recording at once (default) or wait for :meth:`resume`.
    network : Network, optional
        The network of ``obj`` (given or not, it must be its).

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
        from gpunet.network.population import Population, PopulationView
        if isinstance(obj, PopulationView):
            population, ranks = obj.population, obj.ranks
        elif isinstance(obj, Population):
            population, ranks = obj, None
        else:
            raise StructureError(f"Monitor: only populations can be monitored, got {type(obj).__name__}")
        if network is not None and network is not population.network:
            raise StructureError(f"Monitor: population {population.name!r} belongs to another network")
        self.object = obj
        self.population = population
        self.network = population.network
        self._view_ranks = ranks
        self.variables = [variables] if isinstance(variables, str) else list(variables)
        for name in self.variables:
            if name == "spike":
                if not population.spiking:
                    raise StructureError(f"Monitor: population {population.name!r} is rate-coded and emits no spikes")
            elif name not in population.spec.attributes:
                raise AttributeError(f"Monitor: population {population.name!r} has no attribute {name!r}; "
                                     f"its attributes are: {', '.join(population.spec.attributes)}")
        dt = self.network.dt
        if period is not None and not (float(period) > 0 and np.isfinite(period)):
            raise ValueError(f"Monitor: period must be a positive number of ms, got {period!r}")
        self.period = float(period) if period else dt
        self.period_steps = max(1, int(round(self.period / dt)))
        self.recording = bool(start)
        self._data: dict[str, list] = {name: [] for name in self.variables if name != "spike"}
        self._steps: dict[str, list[int]] = {name: [] for name in self.variables if name != "spike"}
        self._spikes = SpikeEvents(self.network.backend) if "spike" in self.variables else None
        self._device_ranks = None if ranks is None else self.network.backend.asarray(ranks)
        self._session_start = self.network.get_current_step() if start else None
        self._session_stop: Optional[int] = None
        now = self.network.get_current_step()
        self._window = (now, now)  # (start, stop) steps of the last get(): mean_fr / population_rate
        self.network._add_monitor(self)

    @property
    def dt(self) -> float:
        """Step size of the network (ms)."""
        return self.network.dt

    @property
    def size(self) -> int:
        """Number of recorded neurons."""
        return len(self._view_ranks) if self._view_ranks is not None else self.population.size

    def pause(self) -> None:
        """Stop recording until :meth:`resume`."""
        if self.recording:
            self._session_stop = self.network.get_current_step()
        self.recording = False

    def resume(self) -> None:
        """Record again."""
        if not self.recording:
            self._session_start, self._session_stop = self.network.get_current_step(), None
        self.recording = True

    start = resume
    stop = pause

    def _record(self, step: int) -> None:
        if not self.recording:
            return
        if self._spikes is not None:
            spiked = self.population._spiked
            self._spikes.append(step, spiked if self._device_ranks is None else spiked[self._device_ranks])
        if step % self.period_steps:
            return
        xp = self.network.backend.xp
        for name in self._data:
            array = self.population._state[name]
            if self._device_ranks is not None and array.ndim:
                array = array[self._device_ranks]
            self._data[name].append(xp.copy(array))
            self._steps[name].append(step)

    def times(self, name: str) -> np.ndarray:
        """Steps at which variable ``name`` was recorded.

        Parameters
        ----------
        name : str
            A recorded variable (not ``spike``).
        """
        if name == "spike":
            raise KeyError("spikes are recorded at every step; get('spike') holds their steps")
        return np.asarray(self._steps[name], dtype=np.int64)

    @property
    def nbytes(self) -> int:
        """Device bytes held by the recordings (spike events and recorded variables)."""
        total = self._spikes.nbytes if self._spikes is not None else 0
        return total + sum(int(a.nbytes) for chunks in self._data.values() for a in chunks)

    def get(self, variables: Union[str, Sequence[str], None] = None, keep: bool = False,
            reshape: bool = True) -> Any:
        """The recorded data, handed over (the monitor starts empty again unless ``keep``).

        Parameters
        ----------
        variables : str or list of str, optional
            One name returns its data; a list or nothing returns a dict.
        keep : bool
            Keep the data in the monitor.
        reshape : bool
            Variables: shape the neuron axis like the population's geometry (default, as ANNarchy 5).

        Returns
        -------
        ``(recorded steps, neurons)`` arrays for variables; for ``"spike"`` a
        dict ``{rank: [step, ...]}`` holding every recorded neuron (an empty
        list for a silent one), spike times in **steps** as in ANNarchy 5
        (multiply by ``dt`` for ms).
        """
        names = [variables] if isinstance(variables, str) else (self.variables if variables is None
                                                                 else list(variables))
        for name in names:
            if name not in self.variables:
                raise KeyError(f"Monitor of {self.population.name!r} does not record {name!r}; "
                               f"it records {self.variables}")
        now = self.network.get_current_step()
        start = self._session_start if self._session_start is not None else now
        self._window = (start, self._session_stop if self._session_stop is not None else now)
        result = {name: self._take(name, keep, reshape) for name in names}
        if not keep and self.recording:
            self._session_start = now
        return result[variables] if isinstance(variables, str) else result

    def _take(self, name: str, keep: bool, reshape: bool) -> Any:
        if name == "spike":
            steps, ranks = self._spikes.host()
            if not keep:
                self._spikes.clear()
            return self._spike_dict(steps, ranks)
        backend = self.network.backend
        chunks = self._data[name]
        width = None if self.population.spec.attributes[name].is_global else self.size
        if chunks:
            with backend.activate():  # stack on the monitor's device and stream (gpu fix, issue 14)
                host = backend.to_host(backend.xp.stack(chunks))
        else:
            host = np.zeros((0,) if width is None else (0, width), dtype=np.float64)
        if not keep:
            self._data[name], self._steps[name] = [], []
        if reshape and self._view_ranks is None and width is not None:
            host = host.reshape((host.shape[0],) + tuple(self.population.geometry))
        return host

    def _spike_dict(self, steps: np.ndarray, ranks: np.ndarray) -> dict[int, list[int]]:
        labels = self._view_ranks if self._view_ranks is not None else np.arange(self.population.size)
        order = np.lexsort((steps, ranks))
        counts = np.bincount(ranks, minlength=len(labels))
        trains = np.split(steps[order], np.cumsum(counts)[:-1])
        return {int(label): train.tolist() for label, train in zip(labels, trains)}

    def reset(self) -> None:
        """Empty the recordings (``net.reset(monitors=True)`` does it for every monitor)."""
        for name in self._data:
            self._data[name], self._steps[name] = [], []
        if self._spikes is not None:
            self._spikes.clear()
        if self.recording:
            self._session_start, self._session_stop = self.network.get_current_step(), None

    # -- ANNarchy's spike helpers -----------------------------------------------
    def _spikes_of(self, spikes: Optional[dict]) -> dict:
        if "spike" not in self.variables:
            raise StructureError(f"Monitor of {self.population.name!r} does not record spikes")
        if spikes is None:
            return self.get("spike")
        return spikes["spike"] if "spike" in spikes else spikes

    def raster_plot(self, spikes: Optional[dict] = None) -> tuple[np.ndarray, np.ndarray]:
        """``(times in ms, ranks)`` of every spike, for scatter plots (ANNarchy's ``raster_plot``).

        Without ``spikes``, ``get('spike')`` is called (and empties the monitor).

        Parameters
        ----------
        spikes : dict, optional
            A ``get('spike')`` result; None calls ``get('spike')`` (which empties the monitor).
        """
        return spike_statistics.raster_plot(self._spikes_of(spikes), self.dt)

    def histogram(self, spikes: Optional[dict] = None, bins: Optional[float] = None, per_neuron: bool = False,
                  recording_window: Optional[tuple] = None) -> np.ndarray:
        """Spike counts per bin of ``bins`` ms (default ``dt``) from the first to the last spike.

        Parameters
        ----------
        spikes : dict, optional
            A ``get('spike')`` result; None calls ``get('spike')`` (which empties the monitor).
        bins : float, optional
            Bin width in ms (default ``dt``).
        per_neuron : bool
            One row of counts per neuron instead of the sum.
        recording_window : tuple, optional
            ``(start, stop)`` in steps, to count over instead of first to last spike.
        """
        return spike_statistics.histogram(self._spikes_of(spikes), bins=bins, per_neuron=per_neuron,
                                          recording_window=recording_window, dt=self.dt)

    def mean_fr(self, spikes: Optional[dict] = None) -> float:
        """Mean firing rate (Hz) of the recorded neurons over the last recording period.

        Parameters
        ----------
        spikes : dict, optional
            A ``get('spike')`` result; None calls ``get('spike')`` (which empties the monitor).
        """
        data = self._spikes_of(spikes)
        start, stop = self._window
        labels = self._view_ranks if self._view_ranks is not None else range(self.population.size)
        count = sum(len(data.get(int(rank), ())) for rank in labels)
        return spike_statistics.rate(count, len(labels), stop - start, self.dt)

    def population_rate(self, spikes: Optional[dict] = None, smooth: float = 0.0) -> np.ndarray:
        """Population firing rate (Hz) per step of the last recording period, optionally smoothed (ms).

        Parameters
        ----------
        spikes : dict, optional
            A ``get('spike')`` result; None calls ``get('spike')`` (which empties the monitor).
        smooth : float
            Width in ms of the smoothing window (0: none).
        """
        data = self._spikes_of(spikes)
        start, stop = self._window
        return spike_statistics.population_rate(data, start, stop, self.dt, smooth)
