"""The in-memory form of a saved network state, shared by every file format.

Formats convert between a file and a :class:`NetworkState`; ``gpunet.io.state``
gathers a NetworkState from a live network and applies one to it after
validation.  All arrays here are host NumPy arrays.

Conventions
-----------
* Population locals are 1-D arrays of length ``size`` (C order of the
  geometry); globals are 0-d arrays.
* Projection locals are 1-D arrays over all synapses in post-major order
  (by post rank, then pre rank); globals are 0-d arrays; semiglobal
  attributes (ANNarchy's ``postsynaptic``, named in ``semiglobal``) are 1-D
  arrays with one value per ``post_ranks`` entry.
* Connectivity is ANNarchy's compressed form: ``post_ranks`` (ascending post
  ranks with at least one synapse), ``row_ptr`` (``len(post_ranks) + 1``
  offsets) and ``pre_ranks`` (flat, ascending within each row).
* ``delays`` is a float64 array of ms: 0-d when uniform, else per synapse.
* ``internal`` holds gpunet-only state that ANNarchy does not save
  (``_last_spike``, ``_refractory``, ``_spike_history`` ordered by age:
  row k = spikes of step ``step - 1 - k``, ``_last_event``, ``_spike_times``
  for spike sources); formats that cannot hold it may drop it.
* ``monitors`` holds monitors' recordings (:class:`MonitorState`), present
  only when a save was asked for them (``monitors=True``) and the format
  carries them (the native ``.npz``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from gpunet.io.pipeline.connectivity import Connectivity


@dataclass
class PopulationState:
    name: str
    geometry: tuple[int, ...]
    size: int
    model: str
    parameters: list[str]
    variables: list[str]
    values: dict[str, np.ndarray]
    internal: dict[str, np.ndarray] = field(default_factory=dict)

    kind = "population"

    @property
    def attributes(self) -> list[str]:
        return list(self.parameters) + [v for v in self.variables if v not in self.parameters]


@dataclass
class ProjectionState:
    name: str
    pre: str
    post: str
    target: str
    model: str
    parameters: list[str]
    variables: list[str]
    post_ranks: np.ndarray
    row_ptr: np.ndarray
    pre_ranks: np.ndarray
    delays: np.ndarray
    values: dict[str, np.ndarray]
    internal: dict[str, np.ndarray] = field(default_factory=dict)
    #: Attributes of ``values`` with one value per post row (``post_ranks`` order), not per synapse.
    semiglobal: list[str] = field(default_factory=list)

    kind = "projection"

    @property
    def nb_synapses(self) -> int:
        return int(len(self.pre_ranks))

    @property
    def attributes(self) -> list[str]:
        return list(self.parameters) + [v for v in self.variables if v not in self.parameters]

    @property
    def connectivity(self) -> Connectivity:
        """``post_ranks``, ``row_ptr`` and ``pre_ranks`` as one
        :class:`~gpunet.io.pipeline.connectivity.Connectivity`."""
        return Connectivity(self.post_ranks, self.row_ptr, self.pre_ranks)

    def post_per_synapse(self) -> np.ndarray:
        """The post rank of every synapse (post-major order)."""
        return self.connectivity.post_per_synapse()


@dataclass
class NetworkState:
    """Everything a file holds.  ``step`` is None when the file does not say it."""

    populations: list[PopulationState] = field(default_factory=list)
    projections: list[ProjectionState] = field(default_factory=list)
    step: Optional[int] = None
    dt: Optional[float] = None
    seed: Optional[int] = None
    net_id: int = 0
    format: str = ""
    format_version: Optional[int] = None
    gpunet_version: Optional[str] = None
    #: Recordings of monitors (``save(..., monitors=True)``); empty otherwise.
    monitors: list["MonitorState"] = field(default_factory=list)
    #: True for files of one object saved on its own (``pop.save`` / ``proj.save``):
    #: ANNarchy's pickle then holds the object's dict alone, without network keys.
    single_object: bool = False
    #: JSON-able facts a format carries beside the state (the native format writes them to its manifest):
    #: a shard of a ``.shards`` snapshot says here which save and which rows it holds.
    annotations: dict = field(default_factory=dict)

    def population(self, name: str) -> Optional[PopulationState]:
        return next((p for p in self.populations if p.name == name), None)

    def projection(self, name: str) -> Optional[ProjectionState]:
        return next((p for p in self.projections if p.name == name), None)


def ring_row(step, depth: int):
    """The row of a spike ring buffer of ``depth`` rows that holds the spikes of ``step`` (an int or an array).

    The one place the ring's layout is written: populations push and read their spikes with it, saves and
    loads turn the ring into rows by age with :func:`ring_rows`.

    >>> ring_row(7, 3)
    1
    """
    return step % depth


@dataclass
class MonitorState:
    """What a monitor has recorded, on the host, with what is needed to go on recording after a restore.

    ``arrays`` keys: ``spike.steps`` and ``spike.index`` (int64, one entry per
    recorded spike in recording order: its step and the position of the neuron
    in the monitor's recorded neurons); per recorded variable ``values.<name>``
    (``(recorded steps,)`` for a global attribute, ``(recorded steps, width)``
    otherwise: width = recorded neurons or synapses) and ``steps.<name>``
    (int64, the step of each row); ``ranks`` (int64) for a monitor of a
    population view: the population ranks of its neurons.
    """

    name: str
    target: str
    target_kind: str
    variables: list[str]
    period_steps: int
    offset_steps: int
    recording: bool
    session_start: Optional[int]
    session_stop: Optional[int]
    window: tuple[int, int]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    kind = "monitor"


@dataclass(frozen=True)
class RecordingSpec:
    """What a live monitor accepts on a restore of its recordings (compared with a :class:`MonitorState`).

    ``widths``: per variable, the row length (None for a global attribute);
    ``size``: the number of neurons whose spikes it records.
    """

    name: str
    target: str
    target_kind: str
    variables: tuple[str, ...]
    period_steps: int
    offset_steps: int
    ranks: Optional[np.ndarray]
    widths: dict
    dtypes: dict
    size: int


def ring_rows(step: int, depth: int, count: Optional[int] = None) -> np.ndarray:
    """Rows of a spike ring buffer of ``depth`` rows holding the spikes of steps ``step - 1``, ``step - 2``, ...

    Row ``k`` of a saved ``_spike_history`` (spikes of step ``step - 1 - k``) lives in ring row
    ``ring_row(step - 1 - k, depth)``; ``count`` rows (default ``depth``).

    >>> ring_rows(5, 3).tolist()
    [1, 0, 2]
    """
    return ring_row(step - 1 - np.arange(depth if count is None else count, dtype=np.int64), depth)
