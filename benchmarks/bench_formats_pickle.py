"""Save/load time and size of the ANNarchy-layout formats (.txt, .gz, .mat) for a synthetic state.

A NetworkState is built directly (no simulation): two populations of 10,000
Izhikevich neurons and one STDP projection of about 1M synapses (rows of 50 to
150 synapses, random float64 weights and traces, internal spike state).  In one
run it measures, next to a raw baseline of the same array bytes
(``ndarray.tofile`` / ``np.fromfile``):

* save time (atomic write with fsync, like every gpunet save), load time and
  file size of ``.txt``, ``.gz`` (gpunet's level) and ``.mat``;
* what ANNarchy's own serialisation costs for the same dict
  (``pickle.dump`` into ``gzip.open`` at level 9; plain ``pickle.load``);
* the gzip level sweep on the pickle bytes with the C library's zlib and with
  zlib-ng (compress time, size);
* a breakdown of the ``.txt`` path (layout conversion, pickling, structure
  scan, unpickling, conversion back), with gpunet's row blocks decoded as
  arrays (its own files) and as Python lists (how ANNarchy's files are read).

Usage::

    python benchmarks/bench_formats_pickle.py [--neurons 10000] [--synapses 100] [--repeats 3]
        [--values random|rounded] [--no-fsync]
"""
from __future__ import annotations

import argparse
import gzip
import os
import pickle
import tempfile
import time
import zlib

try:
    from zlib_ng import zlib_ng as fast_zlib
except ImportError:  # pragma: no cover
    fast_zlib = None
from pathlib import Path

import numpy as np

from gpunet.io.formats.pickled import state_gzip, state_pickle
from gpunet.io.formats import state_mat
from gpunet.io.formats.annarchy_dict import to_annarchy_dict
from gpunet.io.formats.annarchy_reader import from_annarchy_dict
from gpunet.io.pipeline.state_types import NetworkState, PopulationState, ProjectionState
from gpunet.io.formats.pickled.pickle_scan import scan_pickle
from gpunet.io.formats.pickled.unpickler import restricted_loads

IZH_PARAMETERS = ["noise", "a", "b", "c", "d", "v_thresh", "i_offset", "tau_refrac"]
IZH_VARIABLES = ["I", "v", "u", "r", "g_exc", "g_inh"]
STDP_PARAMETERS = ["tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max"]


def synthetic_state(neurons: int, synapses: int, values: str, seed: int = 0) -> NetworkState:
    """2 x ``neurons`` Izhikevich neurons, one STDP projection of ``neurons * synapses`` synapses (ragged)."""
    rng = np.random.default_rng(seed)
    populations = []
    for name in ("pop0", "pop1"):
        pop_values = {key: np.full(neurons, default) for key, default in
                      zip(IZH_PARAMETERS, (0.0, 0.02, 0.2, -65.0, 8.0, 30.0, 0.0, 0.0))}
        pop_values.update(I=rng.normal(0, 5, neurons), v=rng.normal(-65, 5, neurons), u=rng.normal(-13, 2, neurons),
                          r=np.zeros(neurons), g_exc=rng.random(neurons), g_inh=np.zeros(neurons))
        internal = {"_last_spike": rng.integers(-1, 1000, neurons), "_refractory": np.zeros(neurons, np.int32),
                    "_spike_history": rng.random((3, neurons)) < 0.05}
        populations.append(PopulationState(name, (neurons,), neurons, "Izhikevich", list(IZH_PARAMETERS),
                                           list(IZH_VARIABLES), pop_values, internal))
    counts = rng.integers(synapses // 2, synapses * 3 // 2 + 1, neurons)
    row_ptr = np.zeros(neurons + 1, dtype=np.int64)
    np.cumsum(counts, out=row_ptr[1:])
    pre_ranks = np.concatenate([np.sort(rng.choice(neurons, c, replace=False)) for c in counts]).astype(np.int64)
    n = len(pre_ranks)
    proj_values = {key: np.array(value) for key, value in zip(STDP_PARAMETERS, (20.0, 20.0, 0.01, 0.01, 0.0, 1.0))}
    if values == "random":      # a trained network: full-precision weights, half the traces active
        proj_values.update(w=rng.random(n) * 0.01, x=rng.random(n) * (rng.random(n) < 0.5) * 0.02,
                           y=-rng.random(n) * (rng.random(n) < 0.5) * 0.02)
    else:                       # like the fixtures: weights with two decimals, sparse traces
        proj_values.update(w=np.round(rng.random(n) * 0.5, 2), x=rng.random(n) * (rng.random(n) < 0.1),
                           y=np.zeros(n))
    projection = ProjectionState("proj0", "pop0", "pop1", "exc", "STDP", list(STDP_PARAMETERS), ["x", "y", "w"],
                                 np.arange(neurons, dtype=np.int64), row_ptr, pre_ranks, np.array(2.0), proj_values,
                                 {"_last_event": rng.integers(0, 1000, n)})
    return NetworkState(populations, [projection], step=1000, dt=1.0, seed=seed)


def state_arrays(state: NetworkState) -> list[np.ndarray]:
    arrays = []
    for obj in state.populations + state.projections:
        arrays += [np.asarray(a) for a in obj.values.values()] + [np.asarray(a) for a in obj.internal.values()]
    for proj in state.projections:
        arrays += [np.asarray(a) for a in (proj.post_ranks, proj.row_ptr, proj.pre_ranks, proj.delays)]
    return arrays


def best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_baseline(arrays: list[np.ndarray], path: Path, repeats: int, fsync: bool) -> tuple[float, float, int]:
    """Best-of-``repeats`` seconds of writing every array with ``tofile`` and reading them all back.

    The arrays read are kept until the last one is read, as any load must
    keep them (see :func:`raw_load_dropping_each`).
    """
    def save() -> None:
        with open(path, "wb") as handle:
            for array in arrays:
                array.tofile(handle)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())

    def load() -> list[np.ndarray]:
        with open(path, "rb") as handle:
            return [np.fromfile(handle, dtype=array.dtype, count=array.size) for array in arrays]

    return best(save, repeats), best(load, repeats), path.stat().st_size


def raw_load_dropping_each(arrays: list[np.ndarray], path: Path, repeats: int) -> float:
    """``np.fromfile`` of each array in turn, each result dropped before the next read (``path`` as written
    by :func:`raw_baseline`).

    Not a load: the allocator hands the same cache-warm block to every read,
    so this shows what reading costs without fresh memory (page faults) and
    with a destination still in the CPU caches.
    """
    def load() -> None:
        with open(path, "rb") as handle:
            for array in arrays:
                np.fromfile(handle, dtype=array.dtype, count=array.size)

    return best(load, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--synapses", type=int, default=100, help="mean synapses per post neuron")
    parser.add_argument("--values", choices=["random", "rounded"], default="random")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-fsync", action="store_true")
    args = parser.parse_args()
    fsync = not args.no_fsync

    state = synthetic_state(args.neurons, args.synapses, args.values)
    arrays = state_arrays(state)
    print(f"state: 2 x {args.neurons} neurons, {state.projections[0].nb_synapses} synapses, "
          f"{sum(a.nbytes for a in arrays) / 1e6:.1f} MB of arrays, values {args.values}, fsync {fsync}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        raw_save, raw_load, raw_size = raw_baseline(arrays, folder / "raw.bin", args.repeats, fsync)
        rows = [("raw tofile/fromfile", raw_save, raw_load, raw_size)]
        for label, module, suffix in (("gpunet .txt", state_pickle, ".txt"),
                                      (f"gpunet .gz (level {state_gzip.DEFAULT_LEVEL})", state_gzip, ".gz"),
                                      ("gpunet .mat", state_mat, ".mat")):
            path = folder / f"state{suffix}"
            save = best(lambda: module.save(path, state, fsync=fsync), args.repeats)
            load = best(lambda: module.load(path), args.repeats)
            rows.append((label, save, load, path.stat().st_size))
        # ANNarchy's own serialisation of the same dict (what its save()/load() do after gathering)
        desc = to_annarchy_dict(state, extras=False)
        annarchy_txt = folder / "annarchy.txt"
        annarchy_gz = folder / "annarchy.txt.gz"

        def annarchy_save_txt() -> None:
            with open(annarchy_txt, "wb") as handle:
                pickle.dump(desc, handle, protocol=pickle.HIGHEST_PROTOCOL)

        def annarchy_save_gz() -> None:
            with gzip.open(annarchy_gz, "wb") as handle:
                pickle.dump(desc, handle, protocol=pickle.HIGHEST_PROTOCOL)

        def annarchy_load(path: Path, opener) -> None:
            with opener(path, "rb") as handle:
                pickle.load(handle)

        rows.append(("pickle.dump/load of the dict", best(annarchy_save_txt, args.repeats),
                     best(lambda: annarchy_load(annarchy_txt, open), args.repeats), annarchy_txt.stat().st_size))
        rows.append(("same, gzip.open level 9", best(annarchy_save_gz, 1),
                     best(lambda: annarchy_load(annarchy_gz, gzip.open), args.repeats), annarchy_gz.stat().st_size))

        print(f"\n{'format':34s} {'save s':>8s} {'load s':>8s} {'MB':>8s} {'save/raw':>9s} {'load/raw':>9s} "
              f"{'size/raw':>9s}")
        for label, save, load, size in rows:
            print(f"{label:34s} {save:8.3f} {load:8.3f} {size / 1e6:8.1f} {save / raw_save:9.1f} "
                  f"{load / raw_load:9.1f} {size / raw_size:9.2f}")

        data = state_pickle.dumps(state)
        implementations = [("zlib (C library, as Python's gzip)", zlib)]
        if fast_zlib is not None:
            implementations.append(("zlib-ng (gpunet's writer)", fast_zlib))
        reference = len(zlib.compress(data, 9))
        print(f"\ngzip levels on the {len(data) / 1e6:.1f} MB pickle (compress time, size, size vs the C "
              f"library's level 9, which ANNarchy writes; gpunet's level: {state_gzip.DEFAULT_LEVEL}):")
        for name, module in implementations:
            print(f"  {name}")
            for level in (1, 2, 3, 4, 6, 9):
                seconds = best(lambda: module.compress(data, level), 1 if level == 9 else args.repeats)
                size = len(module.compress(data, level))
                print(f"    level {level}: {seconds:6.2f} s  {size / 1e6:7.1f} MB  {size / reference - 1:+6.1%}")

        print("\n.txt breakdown:")
        steps = {
            "to_annarchy_dict": lambda: to_annarchy_dict(state),
            "pickle.dumps (protocol 5)": lambda: pickle.dumps(desc, protocol=5),
            "structure scan, row blocks decoded": lambda: scan_pickle(data, "bench", rows=[]),
            "restricted_loads, row blocks decoded": lambda: restricted_loads(data, "bench", decode_rows=True),
            "restricted_loads, rows as Python lists": lambda: restricted_loads(data, "bench"),
            "plain pickle.loads (unsafe, reference)": lambda: pickle.loads(data),
        }
        decoded = restricted_loads(data, "bench", decode_rows=True)
        loaded = pickle.loads(data)
        steps["from_annarchy_dict, decoded rows"] = lambda: from_annarchy_dict(decoded, "bench")
        steps["from_annarchy_dict, Python lists"] = lambda: from_annarchy_dict(loaded, "bench")
        for label, function in steps.items():
            print(f"  {label:40s} {best(function, args.repeats):7.3f} s")


if __name__ == "__main__":
    main()
