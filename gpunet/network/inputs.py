"""Inputs of ANNarchy 5: ``TimedArray``, ``TimedPoissonPopulation`` and ``CurrentInjection``.

A timed input shows row ``k`` of its values from step ``schedule[k]`` on
(schedule in ms, rounded to steps as ANNarchy rounds them); with a
``period`` the schedule starts again every ``period`` ms.  ANNarchy keeps
a counter and a block index per input; gpunet computes the row from the
step counter and the step at which the presentation started (creation, or
the last :meth:`reset`), so a network restored from a file at step ``t``
shows the row that a run never interrupted shows at ``t``.  ``reset()``
is not part of the saved state: a restarted script that calls it must call
it at the same step.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from gpunet.errors import StructureError
from gpunet.model.description import Neuron
from gpunet.network.population import Population, PopulationView
from gpunet.network.projection import Projection

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.network import Network

TIMED_ARRAY_NEURON = Neuron(equations="r = 0.0", name="TimedArray",
                            description="Rate-coded input: r is set from a schedule of values.")
TIMED_POISSON_NEURON = Neuron(parameters="proba = 1.0", equations="p = Uniform(0.0, 1.0) * 1000.0 / dt",
                              spike="p < proba", name="TimedPoisson",
                              description="Poisson spike source whose rates (proba, Hz) follow a schedule.")


class Schedule:
    """When each row of a timed input is shown: steps relative to the start, and the period in steps."""

    def __init__(self, owner: str, rows: int, schedule: Union[float, Sequence[float]], period: float,
                 dt: float) -> None:
        if np.ndim(schedule) == 0 or len(np.atleast_1d(schedule)) == 1:
            spacing = float(np.atleast_1d(schedule)[0])
            spacing = dt if spacing <= 0.0 else spacing
            times = spacing * np.arange(rows)
        else:
            times = np.asarray(schedule, dtype=np.float64)
            if len(times) > rows:
                raise ValueError(f"{owner}: the schedule has {len(times)} times for {rows} rows of values")
        if not np.all(np.isfinite(times)) or (len(times) and times.min() < 0):
            raise ValueError(f"{owner}: schedule times must be finite and >= 0")
        self.steps = np.rint(times / dt).astype(np.int64)
        if np.any(np.diff(self.steps) <= 0):
            raise ValueError(f"{owner}: schedule times must increase by at least one step ({dt} ms)")
        if not np.isfinite(period):
            raise ValueError(f"{owner}: period must be finite, got {period}")
        self.period = int(np.rint(period / dt)) if period > 0 else -1
        self.times = list(map(float, times))
        self.period_ms = float(period)

    def row(self, elapsed: int) -> Optional[int]:
        """The row shown ``elapsed`` steps after the start, or None before the first one."""
        cycle, within = divmod(elapsed, self.period) if self.period > 0 else (0, elapsed)
        shown = self.steps[self.steps < self.period] if self.period > 0 else self.steps
        k = int(np.searchsorted(shown, within, side="right")) - 1
        if k >= 0:
            return k
        return len(shown) - 1 if cycle > 0 and len(shown) else None


def _values(owner: str, rates: Any, geometry: tuple[int, ...]) -> np.ndarray:
    """Rows of values, shape ``(rows, size)``; a row may be a scalar (every neuron the same)."""
    size = int(np.prod(geometry))
    rows = [np.asarray(row, dtype=np.float64) for row in rates]
    if not rows:
        raise ValueError(f"{owner}: at least one row of values is needed")
    out = np.empty((len(rows), size))
    for k, row in enumerate(rows):
        if row.size == 1:
            out[k] = row.ravel()[0]
        elif row.size == size:
            out[k] = row.ravel()
        else:
            raise ValueError(f"{owner}: row {k} has {row.size} values for {size} neurons (geometry {geometry})")
    return out


class _Timed:
    """The schedule bookkeeping shared by the timed inputs (a mix-in of Population subclasses).

    Generated kernels run a timed input through :meth:`schedule_arrays`
    (``gpunet.codegen.cuda.inputs``): a kernel sets
    :attr:`scheduled_attributes` from the row in force, then, when
    :attr:`schedule_then_equations`, the model's kernels run its equations.
    """

    equations_update = False  # not the model's equations alone: the schedule comes first
    #: The attributes a row of the schedule sets, in the order of a row's values.
    scheduled_attributes: tuple[str, ...] = ()
    #: Whether the model's equations run after the row is set (all inputs but TimedArray).
    schedule_then_equations = True

    def _set_schedule(self, rates: Any, schedule: Any, period: float) -> None:
        values = _values(self.name, rates, self.geometry)
        plan = Schedule(self.name, len(values), schedule, period, self.network.dt)
        object.__setattr__(self, "_rows", self.network.backend.asarray(values.astype(self.network.precision)))
        object.__setattr__(self, "_schedule", plan)
        object.__setattr__(self, "_host_rates", values)
        self._set_table()

    def _set_table(self) -> None:
        """The device copy of the schedule the kernels read (``kernels/schedule.cu``): start, period, steps."""
        plan = self._schedule
        shown = plan.steps[plan.steps < plan.period] if plan.period > 0 else plan.steps
        table = np.concatenate([[self._start, plan.period, len(shown)], shown]).astype(np.int64)
        object.__setattr__(self, "_table", self.network.backend.asarray(table))

    def schedule_arrays(self) -> tuple[Any, Any]:
        """The device arrays a schedule kernel reads: the schedule table and the rows (see ``kernels/schedule.cu``).

        The table holds the start step, the period in steps (-1: none), the
        number of rows shown and the step of each from the start (int64);
        the rows one value per ``gpunet.codegen.cuda.inputs.schedule_width``
        column, in the network's precision.  Read them again at every step:
        :meth:`reset` and a new schedule replace them.
        """
        return self._table, self._rows

    @property
    def schedule(self) -> list[float]:
        """The time (ms) at which each row is shown, from the start."""
        return list(self._schedule.times)

    @property
    def period(self) -> float:
        """The period (ms) after which the schedule starts again (-1: none)."""
        return self._schedule.period_ms

    def reset(self) -> None:
        """Start the schedule again from now (its first row at the next step)."""
        object.__setattr__(self, "_start", self.network.get_current_step())
        self._set_table()

    def _current_row(self, step: int):
        """The row in force from ``step`` (None: unchanged), of the neurons held here (under comm: a block)."""
        row = self._schedule.row(step - self._start)
        if row is None:
            return None
        return self._rows[row] if self._count == self.size else self._rows[row][self._first:self._first + self._count]


class TimedArray(_Timed, Population):
    """A rate-coded population whose ``r`` takes the rows of an array in turn (ANNarchy's ``TimedArray``).

    Parameters
    ----------
    rates : array, optional
        Shape ``(rows, *geometry)``; row ``k`` is shown from ``schedule[k]`` on.
    geometry : int or tuple, optional
        The population's geometry when ``rates`` is not given yet (then :meth:`update` gives it).
    schedule : float or list of float
        A spacing in ms (0: every step) or the time of each row.
    period : float
        Start again every ``period`` ms (-1: never; the last row stays).
    name : str, optional
        Unique name (``pop0``, ``pop1``... by default).
    network : Network, optional
        The network to create it in; None: the default network.

    Examples
    --------
    >>> import gpunet as gn, numpy as np
    >>> net = gn.Network(backend="numpy")
    >>> inputs = gn.TimedArray(rates=np.eye(3), network=net)
    >>> net.simulate(2.0); inputs.r.tolist()
    [0.0, 1.0, 0.0]
    """

    scheduled_attributes = ("r",)
    schedule_then_equations = False  # r is the row: the model's equation (r = 0) never runs

    def __init__(self, rates: Any = None, geometry: Union[int, Sequence[int], None] = None,
                 schedule: Union[float, Sequence[float]] = 0.0, period: float = -1.0, name: Optional[str] = None,
                 network: Optional["Network"] = None) -> None:
        if rates is None and geometry is None:
            raise StructureError(f"TimedArray {name or ''!r}: give rates or geometry")
        shape = tuple(np.shape(rates)[1:]) if rates is not None else \
            ((int(geometry),) if np.isscalar(geometry) else tuple(geometry))
        if rates is not None and geometry is not None:
            wanted = (int(geometry),) if np.isscalar(geometry) else tuple(geometry)
            if wanted != shape:
                raise StructureError(f"TimedArray {name or ''!r}: rates rows have shape {shape}, geometry is {wanted}")
        super().__init__(shape or (1,), TIMED_ARRAY_NEURON, name=name, network=network)
        object.__setattr__(self, "_start", 0)
        self._set_schedule(rates if rates is not None else [0.0], schedule, period)
        object.__setattr__(self, "_init", (rates, schedule, period))

    def update(self, rates: Any, schedule: Any = None, period: Optional[float] = None, reset: bool = True) -> None:
        """New rows of values (and optionally a new schedule and period); ``reset`` restarts the schedule.

        Parameters
        ----------
        rates : array
            Shape ``(rows, *geometry)``.
        schedule : float or list of float, optional
            A spacing in ms or the time of each row (default: the current one).
        period : float, optional
            Start again every ``period`` ms (default: the current one).
        reset : bool
            Restart the schedule from its first row.
        """
        self._set_schedule(rates, self.schedule if schedule is None else schedule,
                           self.period if period is None else period)
        if reset:
            self.reset()

    def _construct_in(self, network: "Network", name: Optional[str]) -> "Population":
        return TimedArray(self._host_rates.reshape((-1,) + self.geometry), schedule=self.schedule,
                          period=self.period, name=name, network=network)

    def _update(self, step: int) -> None:
        row = self._current_row(step)
        if row is not None:
            self._state["r"][...] = row


class TimedPoissonPopulation(_Timed, Population):
    """Poisson spike sources whose rates (Hz) follow a schedule (ANNarchy's ``TimedPoissonPopulation``).

    Parameters
    ----------
    geometry : int or tuple
    rates : list
        One rate per schedule time, a number (every neuron) or one per neuron.
    schedule : list of float
        The times (ms) at which the rates change.
    period : float
        Start again every ``period`` ms (-1: never).
    name : str, optional
        Unique name (``pop0``, ``pop1``... by default).
    network : Network, optional
        The network to create it in; None: the default network.

    The rate in force is the parameter ``proba`` (1 Hz before the first time
    of the schedule, as in ANNarchy).
    """

    scheduled_attributes = ("proba",)

    def __init__(self, geometry: Union[int, Sequence[int]], rates: Sequence[Any], schedule: Sequence[float],
                 period: float = -1.0, name: Optional[str] = None, network: Optional["Network"] = None) -> None:
        super().__init__(geometry, TIMED_POISSON_NEURON, name=name, network=network)
        if len(list(rates)) != len(np.atleast_1d(schedule)):
            raise ValueError(f"{self.name}: rates has {len(list(rates))} entries for {len(np.atleast_1d(schedule))} "
                             "schedule times")
        object.__setattr__(self, "_start", 0)
        self._set_schedule(list(rates), list(np.atleast_1d(schedule)), period)

    def _construct_in(self, network: "Network", name: Optional[str]) -> "Population":
        return TimedPoissonPopulation(self.geometry, list(self._host_rates), self.schedule, self.period,
                                      name=name, network=network)

    def _update(self, step: int) -> None:
        row = self._current_row(step)
        if row is not None:
            self._state["proba"][...] = row
        Population._update(self, step)


class CurrentInjection(Projection):
    """Injects the rates ``r`` of a rate-coded population into a spiking one (ANNarchy's ``CurrentInjection``).

    At every step ``g_target`` of each post-synaptic neuron is increased by
    ``r`` of the pre-synaptic neuron of the same rank (``r`` as it stands
    after the previous step).  Connect with :meth:`connect_current`.

    Parameters
    ----------
    pre : Population or PopulationView
        Rate-coded; its ``r`` is injected.
    post : Population or PopulationView
        Spiking, of the same size as ``pre``.
    target : str
        The conductance ``g_target`` increased.
    name : str, optional
        Unique name (``proj0``... by default).
    network : Network, optional
        The network of ``pre`` and ``post``.
    """

    equations_transmit = False  # no synapse model: its own transmission
    #: Generated kernels run it as ``kernels/current_injection.cu`` (``gpunet.codegen.cuda.inputs``).
    injects_current = True

    def __init__(self, pre: Any, post: Any, target: str, name: Optional[str] = None,
                 network: Optional["Network"] = None) -> None:
        pre_pop = pre.population if isinstance(pre, PopulationView) else pre
        post_pop = post.population if isinstance(post, PopulationView) else post
        if pre_pop.spiking or not post_pop.spiking:
            raise StructureError(f"CurrentInjection {name or ''!r}: the pre-synaptic population must be rate-coded "
                                 "and the post-synaptic one spiking")
        if len(pre) != len(post):
            raise StructureError(f"CurrentInjection {name or ''!r}: pre ({len(pre)}) and post ({len(post)}) must "
                                 "have the same size")
        super().__init__(pre, post, target, name=name, network=network)

    def _check_compatible(self, name: Optional[str]) -> None:
        if f"g_{self.target}" not in self.post.spec.attributes:
            raise StructureError(f"CurrentInjection {name or '(unnamed)'}: post population {self.post.name!r} has no "
                                 f"conductance g_{self.target}")

    def connect_current(self) -> "Projection":
        """Connect each neuron to the post-synaptic neuron of the same rank (weights 1, no delay)."""
        return self.connect_one_to_one(weights=1.0)

    def _transmit(self, step: int) -> None:
        state = self._state
        # pre ranks are global: under comm the whole population's r (gathered after each step)
        self.network.backend.scatter_add(self.post._state[f"g_{self.target}"], state["_post_idx"],
                                         self.pre._presynaptic_state()["r"][state["_pre_idx"]])


def _rectified_ratio(y: float) -> float:
    """mean / standard deviation of max(0, X), X ~ Normal(y, 1)."""
    from scipy.special import ndtr
    phi, cdf = np.exp(-0.5 * y * y) / np.sqrt(2.0 * np.pi), float(ndtr(y))
    mean = phi + y * cdf
    second = (y * y + 1.0) * cdf + y * phi
    return mean / np.sqrt(max(second - mean * mean, 1e-300))


def correlated_rate_parameters(rate: float, corr: float, tau: float) -> tuple[float, float]:
    """``(mu, sigma)`` of the Ornstein-Uhlenbeck rate ``x`` whose rectified values have mean ``rate``.

    Brette (2009), homogeneous correlated spike trains: spike trains of the
    common rate ``max(x, 0)`` have the mean ``rate`` and, between two trains,
    the correlation ``corr`` when ``max(x, 0)`` has the standard deviation
    ``sqrt(corr * rate / (2 tau))`` (tau in seconds).  ``(mu, sigma)`` are
    the mean and standard deviation of the normal ``x`` whose rectification
    has that mean and standard deviation: the ratio mean / std of a rectified
    normal fixes ``mu / sigma`` (solved numerically), then the mean fixes
    ``sigma``.  These are the values ANNarchy computes (to its solver's
    tolerance).
    """
    from scipy.optimize import brentq
    if rate < 0 or not 0.0 <= corr <= 1.0 or tau <= 0:
        raise ValueError(f"HomogeneousCorrelatedSpikeTrains: need rates >= 0, corr in [0, 1] and tau > 0, "
                         f"got {rate}, {corr}, {tau}")
    wanted_std = np.sqrt(corr * rate / (2.0 * tau / 1000.0))
    if wanted_std == 0.0 or rate == 0.0:
        return float(rate), float(wanted_std)
    target = rate / wanted_std
    low, high = -20.0, max(40.0, 2.0 * target)
    y = brentq(lambda u: _rectified_ratio(u) - target, low, high, xtol=1e-14, maxiter=500)
    from scipy.special import ndtr
    sigma = rate / (np.exp(-0.5 * y * y) / np.sqrt(2.0 * np.pi) + y * float(ndtr(y)))
    return float(y * sigma), float(sigma)


class HomogeneousCorrelatedSpikeTrains(_Timed, Population):
    """Poisson-like spike trains sharing one fluctuating rate, so that they are correlated (Brette 2009).

    Every neuron spikes with the rate ``x`` (Hz), a population variable that
    follows ``x += dt (mu - x) / tau + sqrt(dt / tau) sigma Normal(0, 1)``
    (one draw per step for the whole population), ANNarchy 5's equation: its
    stationary variance is ``sigma^2 / (2 - dt / tau)``, about half of
    Brette's ``sigma^2``, so the trains come out less correlated than
    ``corr`` (as in ANNarchy); ``mu`` and
    ``sigma`` are computed from ``rates``, ``corr`` and ``tau`` (see
    :func:`correlated_rate_parameters`) and may follow a ``schedule`` (one
    ``rates`` / ``corr`` per time) with a ``period``, like a timed input.

    Parameters
    ----------
    geometry : int or tuple
    rates : float or list of float
        Mean rate (Hz) of each train.
    corr : float or list of float
        Correlation between two trains, in [0, 1].
    tau : float
        Correlation time constant (ms).
    schedule : list of float, optional
        Times (ms) at which ``rates`` / ``corr`` change (default ``[0]``).
    period : float
        Start the schedule again every ``period`` ms (-1: never).
    refractory : float, optional
        Refractory period (ms; it lowers the correlation).
    name : str, optional
        Unique name (``pop0``, ``pop1``... by default).
    network : Network, optional
        The network to create it in; None: the default network.
    """

    def __init__(self, geometry: Union[int, Sequence[int]], rates: Any, corr: Any, tau: float,
                 schedule: Optional[Sequence[float]] = None, period: float = -1.0, name: Optional[str] = None,
                 refractory: Optional[float] = None, network: Optional["Network"] = None) -> None:
        times = [0.0] if schedule is None else list(schedule)
        rates_list = list(rates) if np.ndim(rates) else [float(rates)] * len(times)
        corr_list = list(corr) if np.ndim(corr) else [float(corr)] * len(times)
        if len(rates_list) != len(times) or len(corr_list) != len(times):
            raise ValueError(f"HomogeneousCorrelatedSpikeTrains {name or ''!r}: rates and corr need one value per "
                             f"schedule time ({len(times)})")
        pairs = [correlated_rate_parameters(float(r), float(c), float(tau)) for r, c in zip(rates_list, corr_list)]
        mu, sigma = pairs[0]
        neuron = Neuron(parameters=f"tau = {float(tau)!r} : population\nmu = {mu!r} : population\n"
                                   f"sigma = {sigma!r} : population",
                        equations="x += dt * (mu - x) / tau + sqrt(dt / tau) * sigma * Normal(0.0, 1.0) : "
                                  "population, init = mu\np = Uniform(0.0, 1.0) * 1000.0 / dt",
                        spike="p < x", refractory=refractory, name="HomogeneousCorrelated",
                        description="Homogeneous correlated spike trains (Brette 2009).")
        super().__init__(geometry, neuron, name=name, network=network)
        object.__setattr__(self, "_start", 0)
        object.__setattr__(self, "_arguments", dict(rates=rates, corr=corr, tau=tau, schedule=schedule,
                                                    period=period, refractory=refractory))
        self._set_schedule([[m, s] for m, s in pairs], times, period)

    scheduled_attributes = ("mu", "sigma")

    def _set_schedule(self, rates: Any, schedule: Any, period: float) -> None:
        values = np.asarray(rates, dtype=np.float64)  # (rows, 2): mu and sigma of each schedule time
        plan = Schedule(self.name, len(values), schedule, period, self.network.dt)
        object.__setattr__(self, "_pairs", values)
        object.__setattr__(self, "_rows", self.network.backend.asarray(values.astype(self.network.precision)))
        object.__setattr__(self, "_schedule", plan)
        self._set_table()

    def _construct_in(self, network: "Network", name: Optional[str]) -> "Population":
        return HomogeneousCorrelatedSpikeTrains(self.geometry, name=name, network=network, **self._arguments)

    def _update(self, step: int) -> None:
        row = self._schedule.row(step - self._start)
        if row is not None:
            mu, sigma = self._pairs[row]
            self._state["mu"][...] = mu
            self._state["sigma"][...] = sigma
        Population._update(self, step)
