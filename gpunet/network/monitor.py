"""Monitors: record variables and spikes of a population, a population view or a projection.

Variables are recorded every ``period`` (one small device array per recorded
step, read back in blocks: :class:`~gpunet.network.recorded_values.RecordedValues`;
the compiled CPU runner copies them inside its chunks into one host block per
chunk: :mod:`gpunet.network.compiled_monitors`).
Spikes are recorded as events at every step, whatever the period (as ANNarchy
does), in arrays that grow with the number of spikes
(:class:`~gpunet.network.spike_events.SpikeEvents`).  A save with
``monitors=True`` carries the recordings (:meth:`Monitor.recording_state`) and
a load gives them back (:meth:`Monitor.restore_recordings`), so a resumed run's
recordings continue where they stopped.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from gpunet.errors import FormatError, StructureError
from gpunet.io.pipeline.state_types import MonitorState, RecordingSpec
from gpunet.limits import check_name
from gpunet.network import spike_statistics, summary
from gpunet.network.recorded_values import RecordedValues
from gpunet.network.spike_events import SpikeEvents

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.population import Population


class Monitor:
    """Record ``variables`` of ``obj`` (``"spike"`` records the spikes).

    Parameters
    ----------
    obj : Population, PopulationView or Projection
        A view records the neurons of the view (ranks of the population); a
        projection records synaptic variables (``w`` over time), one column per
        synapse in the projection's post-major order (by post rank, then pre
        rank: ``proj.connectivity()``), or one value per row for a global.
    variables : str or list of str
        Attribute names, and/or ``"spike"`` for spiking populations.
    period : float, optional
        Recording period in ms of the variables (default: every step).  Spikes
        are recorded at every step whatever the period, as in ANNarchy.
    period_offset : float, optional
        Offset in ms within the period (ANNarchy's keyword, smaller than
        ``period``): variables are recorded at the steps ``t`` where
        ``t % period == period_offset`` (in steps), so a run resumed from a
        snapshot records at the same steps as the uninterrupted run.
    start : bool
        Start recording at once (default) or wait for :meth:`resume`.
    network : Network, optional
        The network of ``obj`` (given or not, it must be its).
    name : str, optional
        Unique among the network's monitors; default ``Monitor_<object name>``
        (ANNarchy's), with ``_1``, ``_2``... appended when taken.  A load with
        recordings finds the monitor by this name.

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
    >>> m.name
    'Monitor_pop0'
    """

    def __init__(self, obj: Any, variables: Union[str, Sequence[str]], period: Optional[float] = None,
                 period_offset: Optional[float] = None, start: bool = True, name: Optional[str] = None,
                 network: Any = None) -> None:
        from gpunet.network.population import Population, PopulationView
        from gpunet.network.projection import Projection
        population = projection = ranks = None
        if isinstance(obj, PopulationView):
            population, ranks = obj.population, obj.ranks
        elif isinstance(obj, Population):
            population = obj
        elif isinstance(obj, Projection):
            projection = obj
        else:
            raise StructureError("Monitor: only populations, population views and projections can be monitored, "
                                 f"got {type(obj).__name__}")
        source = population if projection is None else projection
        if network is not None and network is not source.network:
            raise StructureError(f"Monitor: {source.name!r} belongs to another network")
        self.object = obj
        self.population = population
        self.projection = projection
        self._source = source
        self.network = source.network
        self._view_ranks = ranks
        self.variables = [variables] if isinstance(variables, str) else list(variables)
        for variable in self.variables:
            if variable == "spike":
                if projection is not None:
                    raise StructureError(f"Monitor: projection {source.name!r} emits no spikes; record its "
                                         "pre- or post-synaptic population")
                if not population.spiking:
                    raise StructureError(f"Monitor: population {population.name!r} is rate-coded and emits no spikes")
            elif variable not in source.spec.attributes:
                kind = "population" if projection is None else "projection"
                raise AttributeError(f"Monitor: {kind} {source.name!r} has no attribute {variable!r}; "
                                     f"its attributes are: {', '.join(source.spec.attributes)}")
        dt = self.network.dt
        if period is not None and not (float(period) > 0 and np.isfinite(period)):
            raise ValueError(f"Monitor: period must be a positive number of ms, got {period!r}")
        self.period = float(period) if period else dt
        self.period_steps = max(1, int(round(self.period / dt)))
        offset = 0.0 if period_offset is None else float(period_offset)
        if not (np.isfinite(offset) and 0 <= offset < self.period):
            raise ValueError(f"Monitor: period_offset must be >= 0 and smaller than period ({self.period} ms), "
                             f"got {period_offset!r}")
        self.period_offset = offset
        self.offset_steps = int(round(offset / dt)) % self.period_steps
        self.name = self._unique_name(name)
        self.recording = bool(start)
        self._values = {v: RecordedValues(self.network.backend) for v in self.variables if v != "spike"}
        self._spikes = SpikeEvents(self.network.backend) if "spike" in self.variables else None
        self._device_ranks = None if ranks is None else self.network.backend.asarray(ranks)
        self._view_held: Optional[np.ndarray] = None  # under comm: the view's positions this process records
        self._place_view()
        self._session_start = self.network.get_current_step() if start else None
        self._session_stop: Optional[int] = None
        now = self.network.get_current_step()
        self._window = (now, now)  # (start, stop) steps of the last get(): mean_fr / population_rate
        self.network._add_monitor(self)

    def _unique_name(self, name: Optional[str]) -> str:
        taken = {monitor.name for monitor in self.network.monitors}
        if name is not None:
            check_name(name, "monitor")
            if name in taken:
                raise StructureError(f"Monitor: the name {name!r} is already used by another monitor of the network")
            return name
        base = f"Monitor_{self._source.name}"
        candidate, index = base, 0
        while candidate in taken:
            index += 1
            candidate = f"{base}_{index}"
        return candidate

    def _place_view(self) -> None:
        """Record the view's neurons this process holds: all of them, or under comm those of its block (the
        engine gathers them in the view's order)."""
        block = None if self._view_ranks is None else self.population._block
        if block is None:
            return
        ranks = np.asarray(self._view_ranks, dtype=np.int64)
        self._view_held = np.flatnonzero((ranks >= block[0]) & (ranks < block[1]))
        self._device_ranks = self.network.backend.asarray(ranks[self._view_held] - block[0])

    @property
    def dt(self) -> float:
        """Step size of the network (ms)."""
        return self.network.dt

    @property
    def size(self) -> int:
        """Number of recorded neurons (of synapses for a projection)."""
        if self.projection is not None:
            return self.projection.nb_synapses if self.projection.connected else 0
        return len(self._view_ranks) if self._view_ranks is not None else self.population.size

    def _width(self, variable: str) -> Optional[int]:
        """Row length of ``variable``'s recordings (None: a global attribute, one value per row; a semiglobal one:
        one value per post neuron of the population)."""
        attribute = self._source.spec.attributes[variable]
        if attribute.semiglobal:
            return self.projection.post._count  # the post neurons held here: all, or this process's block
        if self.population is not None and self._view_ranks is None and not attribute.is_global:
            return self.population._count  # the neurons recorded here: all, or this process's block under comm
        if self._view_held is not None and not attribute.is_global:
            return len(self._view_held)  # the view's neurons of this process's block
        return None if attribute.is_global else self.size

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
        if step % self.period_steps != self.offset_steps:
            return
        for variable, recorded in self._values.items():
            array = self._source.device_view(variable)
            if self._device_ranks is not None and array.ndim:
                array = array[self._device_ranks]
            recorded.append(step, array)

    def times(self, name: str) -> np.ndarray:
        """Steps at which variable ``name`` was recorded.

        Parameters
        ----------
        name : str
            A recorded variable (not ``spike``).
        """
        if name == "spike":
            raise KeyError("spikes are recorded at every step; get('spike') holds their steps")
        return self._values[name].steps

    @property
    def nbytes(self) -> int:
        """Bytes held by the recordings (spike events, recorded variables on the device and the host)."""
        total = self._spikes.nbytes if self._spikes is not None else 0
        return total + sum(recorded.nbytes for recorded in self._values.values())

    def _names(self, variables: Union[str, Sequence[str], None]) -> list[str]:
        names = [variables] if isinstance(variables, str) else (self.variables if variables is None
                                                                 else list(variables))
        for name in names:
            if name not in self.variables:
                raise KeyError(f"Monitor {self.name!r} of {self._source.name!r} does not record {name!r}; "
                               f"it records {self.variables}")
        return names

    def _hand_over(self, names: list[str], keep: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Raw host recordings ``{name: (values or spike indexes, steps)}``; the window of the rates is set and,
        unless ``keep``, the recordings of ``names`` are emptied (ANNarchy's ``get``)."""
        now = self.network.get_current_step()
        start = self._session_start if self._session_start is not None else now
        self._window = (start, self._session_stop if self._session_stop is not None else now)
        raw = {}
        for name in names:
            if name == "spike":
                steps, index = self._spikes.host()
                raw[name] = (index, steps)
                if not keep:
                    self._spikes.clear()
            else:
                values, steps = self._values[name].host(self._width(name))
                raw[name] = (values.copy() if keep else values, steps)
                if not keep:
                    self._values[name].clear()
        if not keep and self.recording:
            self._session_start = now
        if self.network._distributed is not None:  # under comm: every process's neurons or synapses
            raw = self.network._distributed.gather_recordings(self, raw)
        return raw

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
        numpy.ndarray or dict
            ``(recorded steps, neurons)`` arrays for variables (``(recorded steps, synapses)`` for a projection);
            for ``"spike"`` a dict ``{rank: [step, ...]}`` holding every recorded neuron (an empty list for a
            silent one), spike times in **steps** as in ANNarchy 5 (multiply by ``dt`` for ms).
        """
        names = self._names(variables)
        raw = self._hand_over(names, keep)
        result = {}
        for name, (values, steps) in raw.items():
            if name == "spike":
                result[name] = self._spike_dict(steps, values)
                continue
            if reshape and self.population is not None and self._view_ranks is None and values.ndim == 2:
                values = values.reshape((values.shape[0],) + tuple(self.population.geometry))
            result[name] = values
        return result[variables] if isinstance(variables, str) else result

    def _labels(self) -> np.ndarray:
        """Population ranks of the recorded neurons, in recording order."""
        return self._view_ranks if self._view_ranks is not None else np.arange(self.population.size)

    def _spike_dict(self, steps: np.ndarray, index: np.ndarray) -> dict[int, list[int]]:
        labels = self._labels()
        order = np.lexsort((steps, index))
        counts = np.bincount(index, minlength=len(labels))
        trains = np.split(steps[order], np.cumsum(counts)[:-1])
        return {int(label): train.tolist() for label, train in zip(labels, trains)}

    def reset(self) -> None:
        """Empty the recordings (``net.reset(monitors=True)`` does it for every monitor)."""
        for recorded in self._values.values():
            recorded.clear()
        if self._spikes is not None:
            self._spikes.clear()
        if self.recording:
            self._session_start, self._session_stop = self.network.get_current_step(), None

    # -- saving and restoring recordings ---------------------------------------
    def _target(self) -> tuple[str, str]:
        return (self._source.name, "population" if self.projection is None else "projection")

    def recording_spec(self) -> RecordingSpec:
        """What a restore of this monitor's recordings must match (see ``gpunet.io.recordings``)."""
        target, kind = self._target()
        dtypes = {v: np.dtype(self._source.spec.attributes[v].dtype(self.network.precision)) for v in self._values}
        return RecordingSpec(name=self.name, target=target, target_kind=kind, variables=tuple(self.variables),
                             period_steps=self.period_steps, offset_steps=self.offset_steps,
                             ranks=None if self._view_ranks is None else self._view_ranks.copy(),
                             widths={v: self._width(v) for v in self._values}, dtypes=dtypes,
                             size=self.size if self.population is not None else 0)

    def recording_state(self) -> MonitorState:
        """Host copies of everything recorded so far, and where recording stands (what a save holds).

        Reads the device copies back (one read-back per variable and one of the
        spike block: on a GPU it waits for the steps already queued).  The
        arrays are never modified afterwards, so a background save may hold them.
        Under comm: what this process records (its neurons' or synapses' columns,
        their spikes at their positions among all recorded neurons), the
        recordings of its shard.
        """
        target, kind = self._target()
        arrays: dict[str, np.ndarray] = {}
        if self._view_ranks is not None:
            arrays["ranks"] = np.array(self._view_ranks, dtype=np.int64)
        if self._spikes is not None:
            steps, index = self._spikes.host()
            arrays["spike.steps"], arrays["spike.index"] = steps, self._global_index(index)
        for variable, recorded in self._values.items():
            arrays[f"values.{variable}"], arrays[f"steps.{variable}"] = recorded.host(self._width(variable))
        return MonitorState(name=self.name, target=target, target_kind=kind, variables=list(self.variables),
                            period_steps=self.period_steps, offset_steps=self.offset_steps,
                            recording=self.recording, session_start=self._session_start,
                            session_stop=self._session_stop, window=tuple(self._window), arrays=arrays)

    def _global_index(self, index: np.ndarray) -> np.ndarray:
        """Positions among all recorded neurons of the spikes recorded here (under comm this process records
        its block's neurons: their positions in the view, or their ranks), as a save holds them."""
        if self._view_held is not None:
            return self._view_held[index]
        return index + self.population._first if self.population is not None else index

    def _local_index(self, index: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`_global_index` for spikes of this process's neurons (a load's, cut to them)."""
        if self._view_held is not None:
            return np.searchsorted(self._view_held, index).astype(np.int64)
        return index - self.population._first if self.population is not None else index

    def restore_recordings(self, state: MonitorState) -> None:
        """Hold the recordings of ``state``, validated against :meth:`recording_spec` (a load's last step).

        Variables of the monitor that ``state`` lacks keep their recordings.

        Parameters
        ----------
        state : MonitorState
            Recordings checked by a load (``gpunet.io.recordings``).
        """
        arrays = state.arrays
        if self._spikes is not None and "spike.steps" in arrays:
            self._spikes.replace(arrays["spike.steps"], self._local_index(arrays["spike.index"]))
        for variable, recorded in self._values.items():
            if f"steps.{variable}" in arrays:
                recorded.replace(arrays[f"values.{variable}"], arrays[f"steps.{variable}"])
        self.recording = bool(state.recording)
        self._session_start, self._session_stop = state.session_start, state.session_stop
        self._window = (int(state.window[0]), int(state.window[1]))

    def export_arrays(self, variables: Union[str, Sequence[str], None] = None,
                      keep: bool = False) -> dict[str, np.ndarray]:
        """The recordings as named host arrays (the layout of :meth:`save`'s ``.npz``), handed over like :meth:`get`.

        Keys: ``spike.steps`` / ``spike.ranks`` (one entry per spike, in step
        order: its step and the neuron's population rank); per variable
        ``<name>`` (``(rows, columns)``, or ``(rows,)`` for a global) and
        ``<name>.steps``; ``info.ranks`` (the population ranks of the columns)
        or, for a projection, ``info.post_ranks`` / ``info.pre_ranks`` (the
        synapse of each column); ``info.dt``, ``info.period``,
        ``info.period_offset`` (ms); ``info.name`` and ``info.target``.

        Parameters
        ----------
        variables : str or list of str, optional
            What to export (default: everything recorded).
        keep : bool
            Keep the data in the monitor.
        """
        names = self._names(variables)
        raw = self._hand_over(names, keep)
        arrays: dict[str, np.ndarray] = {}
        for name, (values, steps) in raw.items():
            if name == "spike":
                order = np.lexsort((values, steps))
                arrays["spike.steps"] = steps[order]
                arrays["spike.ranks"] = np.asarray(self._labels(), dtype=np.int64)[values[order]]
            else:
                arrays[name], arrays[f"{name}.steps"] = values, steps
        if self.projection is not None:
            post = pre = np.zeros(0, dtype=np.int64)
            if self.projection.connected:
                rows, row_ptr, pre = self.projection.connectivity()
                post = np.repeat(np.asarray(rows, dtype=np.int64), np.diff(row_ptr))
            arrays["info.post_ranks"], arrays["info.pre_ranks"] = post, np.asarray(pre, dtype=np.int64)
        else:
            arrays["info.ranks"] = np.asarray(self._labels(), dtype=np.int64)
        arrays["info.dt"] = np.array(self.dt)
        arrays["info.period"] = np.array(self.period)
        arrays["info.period_offset"] = np.array(self.period_offset)
        arrays["info.name"] = np.array(self.name)
        arrays["info.target"] = np.array(self._source.name)
        return arrays

    def save(self, filename: Union[str, Path], variables: Union[str, Sequence[str], None] = None,
             keep: bool = False) -> None:
        """Write the recordings to ``filename``: ``.npz`` (NumPy) or ``.nwb`` (Neurodata Without Borders).

        As ANNarchy's ``Monitor.save``, the data are handed over (the monitor
        starts empty again) unless ``keep``.  ``.npz``: the arrays of
        :meth:`export_arrays`, no pickle (``numpy.load`` reads it with
        ``allow_pickle=False``).  ``.nwb`` (needs ``pip install
        'gpunet[nwb]'``): spikes as the units table, each variable as a
        TimeSeries (see ``gpunet.io.formats.nwb_export``).  The file is committed
        atomically; on an error the recordings stay in the monitor.

        Parameters
        ----------
        filename : str or Path
            ``.npz`` or ``.nwb``.
        variables : str or list of str, optional
            What to write (default: everything recorded).
        keep : bool
            Keep the data in the monitor.

        Raises
        ------
        FormatError
            Another suffix, or ``.nwb`` without pynwb installed.
        """
        from gpunet.io import recordings_file
        path = Path(filename)
        suffix = path.suffix.lower()
        if suffix not in recordings_file.SUFFIXES:
            raise FormatError(f"{path}: Monitor.save writes {' or '.join(recordings_file.SUFFIXES)} files, "
                              f"not {suffix or 'files without a suffix'!r}")
        recordings_file.check_available(path)
        arrays = self.export_arrays(variables, keep=True)
        recordings_file.write(path, arrays)
        if not keep:
            self._hand_over(self._names(variables), keep=False)

    def __repr__(self) -> str:
        state = "recording" if self.recording else "paused"
        return (f"<Monitor {self.name!r} of {self._source.name!r}: {self.variables}, period {self.period:g} ms, "
                f"{state}>")

    def _repr_html_(self) -> str:
        counts = [(v, f"{len(r)} steps recorded") for v, r in self._values.items()]
        if self._spikes is not None:
            counts.insert(0, ("spike", f"{len(self._spikes)} spikes recorded"))
        rows = [("object", f"{self._source.name}" + (f" ({self.size} neurons of a view)"
                                                    if self._view_ranks is not None else "")),
                ("variables", ", ".join(self.variables)),
                ("period", f"{self.period:g} ms" + (f", offset {self.period_offset:g} ms"
                                                     if self.offset_steps else "")),
                ("state", "recording" if self.recording else "paused")] + counts
        return summary.table(f"Monitor {self.name}", rows)

    # -- ANNarchy's spike helpers -----------------------------------------------
    def _spikes_of(self, spikes: Optional[dict]) -> dict:
        if "spike" not in self.variables:
            raise StructureError(f"Monitor {self.name!r} of {self._source.name!r} does not record spikes")
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
        labels = self._labels()
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
