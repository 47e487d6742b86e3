"""NetworkState examples, exact comparison and the fixture facts of describe.txt (tests of the state formats)."""
from __future__ import annotations

import copy
import struct
from typing import Optional

import numpy as np

from gpunet.io.pipeline.state_types import NetworkState, PopulationState, ProjectionState

IZH_PARAMETERS = ["noise", "a", "b", "c", "d", "v_thresh", "i_offset", "tau_refrac"]
IZH_VARIABLES = ["I", "v", "u", "r", "g_exc", "g_inh"]
STDP_PARAMETERS = ["tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max"]
STDP_VARIABLES = ["x", "y", "w"]

# Facts of the chapter network ANNarchy saved (tests/data/annarchy/chapter, written by make_fixtures.py)
FIXTURE = {
    "time_step": 100,
    "populations": {
        "PFC_exc": {"size": 50, "sums": {"v": -3293.1307724837147, "u": -440.55506135580191, "a": 1.0,
                                         "i_offset": 300.0, "I": 300.0, "c": -3250.0}},
        "PFC_inh": {"size": 30, "sums": {"v": -2098.8250028267053, "u": -419.78563526866117, "d": 60.0,
                                         "c": -1950.0}},
    },
    "projection": {"name": "PFC_exc_to_inh", "pre": "PFC_exc", "post": "PFC_inh", "target": "exc",
                   "nb_synapses": 275, "pre_sum": 6655, "post_sum": 435, "n_post": 30,
                   "row0": [5, 6, 7, 9, 12, 14, 29, 39, 41, 49], "delay": 2.0,
                   "sums": {"w": 67.199999999999989, "x": 2.2014986599161994, "y": 0.0},
                   "globals": {"tau_plus": 25.0, "tau_minus": 20.0, "A_plus": 0.01, "A_minus": 0.01,
                               "w_min": 0.0, "w_max": 1.0}},
}


def check_fixture_state(state: NetworkState, *, populations: bool = True, projection: bool = True,
                        step: Optional[int] = 100) -> None:
    """Assert that ``state`` holds the values describe.txt lists."""
    assert state.step == step
    if populations:
        assert [p.name for p in state.populations] == list(FIXTURE["populations"])
        for pop in state.populations:
            facts = FIXTURE["populations"][pop.name]
            assert pop.size == facts["size"] and pop.geometry == (facts["size"],)
            assert pop.parameters == IZH_PARAMETERS and pop.variables == IZH_VARIABLES
            for key, total in facts["sums"].items():
                assert pop.values[key].shape == (pop.size,) and pop.values[key].dtype == np.float64
                assert float(pop.values[key].sum()) == total, (pop.name, key)
    else:
        assert state.populations == []
    if projection:
        facts = FIXTURE["projection"]
        (proj,) = state.projections
        assert (proj.name, proj.pre, proj.post, proj.target) == (facts["name"], facts["pre"], facts["post"],
                                                                facts["target"])
        assert proj.nb_synapses == facts["nb_synapses"]
        assert int(proj.pre_ranks.sum()) == facts["pre_sum"]
        assert int(proj.post_ranks.sum()) == facts["post_sum"] and len(proj.post_ranks) == facts["n_post"]
        assert proj.pre_ranks[proj.row_ptr[0]:proj.row_ptr[1]].tolist() == facts["row0"]
        assert proj.delays.shape == () and float(proj.delays) == facts["delay"]
        for key, total in facts["sums"].items():
            values = proj.values[key]
            assert values.shape == (facts["nb_synapses"],)
            # describe.txt sums row by row in Python (its rowsum), not with NumPy's pairwise sum
            rows = [values[a:b].tolist() for a, b in zip(proj.row_ptr[:-1], proj.row_ptr[1:])]
            assert float(sum(sum(row) for row in rows)) == total, key
        for key, value in facts["globals"].items():
            assert proj.values[key].shape == () and float(proj.values[key]) == value, key
    else:
        assert state.projections == []


def _population(name: str, geometry: tuple, rng: np.random.Generator, internal: bool = True) -> PopulationState:
    size = int(np.prod(geometry))
    values = {key: rng.normal(size=size) for key in IZH_PARAMETERS + IZH_VARIABLES}
    values["a"] = np.array(0.02)                      # a global float
    values["count"] = rng.integers(0, 9, size)        # int64 local
    values["active"] = rng.random(size) < 0.5         # bool local
    values["mode"] = np.array(3)                      # int global
    values["on"] = np.array(True)                     # bool global
    values["r"] = rng.random(size).astype(np.float32)  # float32 local
    extra = {}
    if internal:
        extra = {"_last_spike": rng.integers(-1, 100, size), "_refractory": np.zeros(size, np.int32),
                 "_spike_history": rng.random((3, size)) < 0.2}
    return PopulationState(name=name, geometry=geometry, size=size, model="Izhikevich",
                           parameters=IZH_PARAMETERS + ["mode", "on"],
                           variables=IZH_VARIABLES + ["count", "active"], values=values, internal=extra)


def _projection(name: str, pre: PopulationState, post: PopulationState, counts: np.ndarray,
                rng: np.random.Generator, uniform_delay: bool, internal: bool = True,
                post_ranks: Optional[np.ndarray] = None) -> ProjectionState:
    post_ranks = np.nonzero(counts)[0] if post_ranks is None else post_ranks
    counts = counts[post_ranks]
    row_ptr = np.zeros(len(post_ranks) + 1, dtype=np.int64)
    np.cumsum(counts, out=row_ptr[1:])
    pre_ranks = np.concatenate([np.sort(rng.choice(pre.size, c, replace=False)) for c in counts]
                               ) if len(counts) else np.zeros(0, np.int64)
    n = int(row_ptr[-1])
    values = {key: np.array(float(i + 1)) for i, key in enumerate(STDP_PARAMETERS)}
    values.update(w=rng.random(n), x=rng.random(n) * 0.1, y=np.zeros(n), tag=rng.integers(0, 5, n),
                  eligible=rng.random(n) < 0.3)
    delays = np.array(2.0) if uniform_delay else rng.integers(1, 5, n).astype(np.float64)
    extra = {"_last_event": rng.integers(0, 100, n)} if internal else {}
    return ProjectionState(name=name, pre=pre.name, post=post.name, target="exc", model="STDP",
                           parameters=list(STDP_PARAMETERS), variables=STDP_VARIABLES + ["tag", "eligible"],
                           post_ranks=post_ranks.astype(np.int64), row_ptr=row_ptr,
                           pre_ranks=pre_ranks.astype(np.int64), delays=delays, values=values, internal=extra)


def example_state(*, ragged: bool = True, uniform_delay: bool = True, seed: int = 0, internal: bool = True,
                  empty_projection: bool = False) -> NetworkState:
    """Two populations (one 2-D), one projection; every dtype and form the formats must carry."""
    rng = np.random.default_rng(seed)
    exc = _population("exc", (4, 5), rng, internal)
    inh = _population("inh", (12,), rng, internal)
    if empty_projection:
        counts = np.zeros(inh.size, dtype=np.int64)
    elif ragged:
        counts = rng.integers(0, 6, inh.size)
        counts[0] = 3
    else:
        counts = np.full(inh.size, 4)
    proj = _projection("exc_to_inh", exc, inh, counts, rng, uniform_delay, internal)
    return NetworkState(populations=[exc, inh], projections=[proj], step=1234, dt=0.25, seed=7, net_id=2)


def single(state: NetworkState, name: str) -> NetworkState:
    """A single-object state (``pop.save`` / ``proj.save``) of the object ``name`` of ``state``."""
    obj = state.population(name) or state.projection(name)
    copied = copy.deepcopy(obj)
    if isinstance(copied, PopulationState):
        return NetworkState(populations=[copied], step=state.step, dt=state.dt, seed=state.seed,
                            single_object=True)
    return NetworkState(projections=[copied], step=state.step, dt=state.dt, seed=state.seed, single_object=True)


def _same_array(a, b, where: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{where}: shape {a.shape} != {b.shape}"
    assert np.array_equal(a, b), f"{where}: values differ"


def assert_states_equal(a: NetworkState, b: NetworkState, *, internal: bool = True, metadata: bool = True) -> None:
    """Exact equality of two states: values, dtypes, shapes, connectivity, delays, names, lists."""
    assert [p.name for p in a.populations] == [p.name for p in b.populations]
    assert [p.name for p in a.projections] == [p.name for p in b.projections]
    assert (a.step, a.net_id, a.single_object) == (b.step, b.net_id, b.single_object)
    if metadata:
        assert (a.dt, a.seed) == (b.dt, b.seed)
    for x, y in zip(a.populations + a.projections, b.populations + b.projections):
        where = f"{x.kind} {x.name}"
        assert (x.parameters, x.variables) == (y.parameters, y.variables), where
        if metadata:
            assert x.model == y.model, where
        assert x.values.keys() == y.values.keys(), where
        for key in x.values:
            _same_array(x.values[key], y.values[key], f"{where}.{key}")
        if internal:
            assert x.internal.keys() == y.internal.keys(), where
            for key in x.internal:
                _same_array(x.internal[key], y.internal[key], f"{where} internal {key}")
        if isinstance(x, PopulationState):
            assert (x.geometry, x.size) == (y.geometry, y.size), where
        else:
            assert (x.pre, x.post, x.target) == (y.pre, y.post, y.target), where
            for key in ("post_ranks", "row_ptr", "pre_ranks", "delays"):
                _same_array(getattr(x, key), getattr(y, key), f"{where}.{key}")


def same_objects(x, y) -> bool:
    """Equal values of identical types, all the way down (object arrays and lists included); floats and
    arrays compared bit for bit, so -0.0, infinities and NaN payloads must match too."""
    if type(x) is not type(y):
        return False
    if isinstance(x, dict):
        return list(x) == list(y) and all(same_objects(x[k], y[k]) for k in x)
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return x.shape == y.shape and all(same_objects(a, b) for a, b in zip(x.reshape(-1), y.reshape(-1)))
        return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
    if isinstance(x, (list, tuple)):
        return len(x) == len(y) and all(same_objects(a, b) for a, b in zip(x, y))
    if isinstance(x, float):
        return struct.pack("<d", x) == struct.pack("<d", y)
    return x == y
