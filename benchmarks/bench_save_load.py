"""Issue 6 benchmark: save and load of the complete state in every format, next to raw I/O.

For the 2 x 10,000 Izhikevich / ~1M STDP-synapse network, measured in one run:
save time, load time (parse + validate + apply) and file size for .npz (native),
.txt (ANNarchy pickle), .txt.gz and .mat; the raw baseline of the same bytes
(``ndarray.tofile`` and ``np.fromfile``, with and without fsync); and the peak
extra host memory of each save (tracemalloc).  The native load is also timed
alternating with ``fromfile`` of the same bytes (both meet the same moments of
a noisy machine), right after the .npz row and again after the other formats,
whose loads change what memory the allocator hands out.  When ANNarchy is available
(``--annarchy-python`` or ``$GPUNET_ANNARCHY_PYTHON``), ANNarchy's own save
and load of the same network (rebuilt there by ``benchmarks/annarchy_side.py``)
are timed in a subprocess and printed next to gpunet's, with the ratios the
issue's goals are about.  Usage::

    python benchmarks/bench_save_load.py [--neurons 10000] [--repeats 3]
        [--annarchy-python PATH | --no-annarchy]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import tracemalloc

from pathlib import Path

import numpy as np

import gpunet as gn
from gpunet.examples import reference_network
from gpunet.io.storage.checksum import crc32
from gpunet.io.pipeline.gather import gather_state

import bench_formats_pickle as pickle_bench  # benchmarks/ is on sys.path when a script here runs
from annarchy_side import export_network, find_annarchy_python, run_in_subprocess
from bench_formats_pickle import state_arrays

FORMATS = [".npz", ".txt", ".txt.gz", ".mat"]


def raw_baseline(state, folder: Path, repeats: int) -> dict:
    """tofile/fromfile of the state's bytes (best of ``repeats``), plus a read with one CRC-32 pass."""
    arrays = state_arrays(state)
    path = folder / "raw.bin"
    save, _, _ = pickle_bench.raw_baseline(arrays, path, repeats, fsync=False)
    save_fsync, load, size = pickle_bench.raw_baseline(arrays, path, repeats, fsync=True)

    def checksummed_read() -> list:  # what a checksummed read costs at least
        with open(path, "rb") as handle:
            loaded = [np.fromfile(handle, dtype=array.dtype, count=array.size) for array in arrays]
        for array in loaded:
            crc32(array)
        return loaded

    results = {"save": save, "save +fsync": save_fsync, "load": load,
               "load +crc32": pickle_bench.best(checksummed_read, repeats),
               "load, each dropped": pickle_bench.raw_load_dropping_each(arrays, path, repeats), "size": size}
    return results


def native_load_side_by_side(arrays: list, raw_path: Path, native_path: Path, fresh, rounds: int) -> tuple:
    """Native loads alternated with raw ``fromfile`` reads of the same bytes (``raw_path`` as
    :func:`raw_baseline` wrote it), so that both meet the same moments of a noisy machine.

    Returns the ratios native / raw of the best times and of the median times.
    """
    def raw_load() -> list:
        with open(raw_path, "rb") as handle:
            return [np.fromfile(handle, dtype=array.dtype, count=array.size) for array in arrays]

    raw_times, native_times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        raw_load()
        raw_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        fresh.load(native_path)
        native_times.append(time.perf_counter() - start)
    return min(native_times) / min(raw_times), float(np.median(native_times) / np.median(raw_times))


def measure_format(net, suffix: str, folder: Path, repeats: int, fresh) -> dict:
    path = folder / f"state{suffix}"
    gn.save(path, network=net)  # warm-up: staging pool, imports
    saves, loads = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        gn.save(path, network=net)
        saves.append(time.perf_counter() - start)
    for _ in range(repeats):
        start = time.perf_counter()
        fresh.load(path)
        loads.append(time.perf_counter() - start)
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    gn.save(path, network=net)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # best of the repeats, like the raw baseline
    return {"save": min(saves), "load": min(loads), "size": path.stat().st_size, "peak": peak - baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", nargs="*", default=FORMATS)
    parser.add_argument("--annarchy-python", help="Python interpreter with ANNarchy installed")
    parser.add_argument("--no-annarchy", action="store_true", help="print gpunet's figures only")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gpunet-bench-"))
    try:
        run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args, folder: Path) -> None:
    probability = min(1.0, 1_000_000 / args.neurons ** 2)
    net = reference_network(neurons=args.neurons, probability=probability, backend="numpy", seed=1)
    net.simulate(50.0)
    fresh = reference_network(neurons=args.neurons, probability=probability, backend="numpy", seed=1)
    fresh.compile()
    state = gather_state(net)
    state_bytes = sum(a.nbytes for a in state_arrays(state))
    raw = raw_baseline(state, folder, args.repeats)
    print(f"state: {state_bytes / 1e6:.1f} MB, {net.projections[0].nb_synapses:,} synapses "
          f"({2 * args.neurons:,} neurons), on {net.backend.describe()}")
    print(f"raw baseline: save {raw['save'] * 1e3:.1f} ms (tofile), {raw['save +fsync'] * 1e3:.1f} ms (tofile+fsync), "
          f"load {raw['load'] * 1e3:.1f} ms (fromfile), {raw['load +crc32'] * 1e3:.1f} ms (fromfile + crc32)\n"
          f"  (fromfile with each array dropped before the next is read, so that one cache-warm block is "
          f"reused: {raw['load, each dropped'] * 1e3:.1f} ms; not a load, shown for reference)")
    gn.save(folder / "probe.npz", network=net)
    parse = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        gn.read_state(folder / "probe.npz")
        parse.append(time.perf_counter() - start)
    print(f"native parse alone (read + CRC-32 check, no network): {min(parse) * 1e3:.1f} ms = "
          f"{min(parse) / raw['load +crc32']:.2f} x (fromfile + crc32)")
    print(f"{'format':<9}{'save ms':>10}{'/raw+fsync':>12}{'load ms':>10}{'/raw':>8}{'size MB':>10}"
          f"{'peak MB':>10}{'/state':>8}")
    results = {}
    rounds = max(10, 4 * args.repeats)

    def alternate(when: str) -> None:
        best_ratio, median_ratio = native_load_side_by_side(state_arrays(state), folder / "raw.bin",
                                                            folder / "state.npz", fresh, rounds)
        print(f"  .npz load alternated with fromfile {when}, {rounds} rounds: {best_ratio:.2f} x raw (best times), "
              f"{median_ratio:.2f} x raw (medians)")

    for suffix in args.formats:
        try:
            results[suffix] = result = measure_format(net, suffix, folder, args.repeats, fresh)
        except Exception as exc:  # a format not available in this checkout
            print(f"{suffix:<9} skipped: {type(exc).__name__}: {exc}")
            continue
        print(f"{suffix:<9}{result['save'] * 1e3:10.1f}{result['save'] / raw['save +fsync']:12.2f}"
              f"{result['load'] * 1e3:10.1f}{result['load'] / raw['load']:8.2f}{result['size'] / 1e6:10.1f}"
              f"{result['peak'] / 1e6:10.1f}{result['peak'] / state_bytes:8.2f}")
        if suffix == ".npz":
            alternate("right after")
    if ".npz" in results and len(results) > 1:
        alternate("after the other formats")
        print("  (after other loads the allocator may hand fromfile memory that is already mapped, while the native\n"
              "   load still reads into fresh arrays and copies them into the network's own; see README)")
    print("goals: native save and load within 1.5x of raw; peak extra memory <= 1x state (native), 2x (pickle)")
    compare_with_annarchy(net, results, folder, args)


def compare_with_annarchy(net, results: dict, folder: Path, args) -> None:
    """ANNarchy's save and load of the same network in the pickle formats, and gpunet's speed-up."""
    python = None if args.no_annarchy else find_annarchy_python(args.annarchy_python)
    suffixes = [s for s in (".txt", ".txt.gz") if s in results]
    if python is None or not suffixes:
        print("ANNarchy: " + ("skipped" if python is None and args.no_annarchy else "not found (pip install "
                              "annarchy, or --annarchy-python PATH)" if python is None else "no pickle format run"))
        return
    export_network(net, folder / "network.npz")
    side = run_in_subprocess(python, {"network_file": str(folder / "network.npz"), "duration": 50.0,
                                      "save_load": suffixes, "repeats": args.repeats})
    if "error" in side:
        print(f"ANNarchy: failed ({side['error']})")
        return
    print(f"\nANNarchy {side['version']} on the same network (its net.save / net.load, best of {args.repeats}):")
    print(f"{'format':<9}{'save ms':>10}{'gpunet x':>10}{'load ms':>10}{'gpunet x':>10}{'size MB':>10}")
    for suffix, theirs in side["save_load"].items():
        ours = results[suffix]
        print(f"{suffix:<9}{theirs['save_s'] * 1e3:10.1f}{theirs['save_s'] / ours['save']:10.2f}"
              f"{theirs['load_s'] * 1e3:10.1f}{theirs['load_s'] / ours['load']:10.2f}{theirs['size'] / 1e6:10.1f}")
    print("gpunet x = ANNarchy's time / gpunet's (goals: .txt save and load >= 3, .gz save >= 3)")


if __name__ == "__main__":
    main()
