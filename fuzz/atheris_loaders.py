"""Coverage-guided fuzzing of every state loader with atheris (not part of the test suite).

Usage::

    pip install atheris
    python fuzz/atheris_loaders.py [-atheris_runs=100000] [-max_total_time=600] [-rss_limit_mb=2048]

The first input byte picks the format (.npz, .txt, .gz, .mat, .json); the rest
is the file.  Any exception that is not a :class:`gpunet.errors.GpunetError`
is a finding (atheris stops and writes the crashing input), and so is an input
that makes the process exceed ``-rss_limit_mb`` (libFuzzer's memory limit,
2048 MB by default): memory must stay bounded by the input.  The corpus starts
from valid files of each format and from the crafted hostile files of
``tests/reliability/hostile_inputs.py`` (small sizes), so the fuzzer explores
near real structures and near the known memory bombs.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import gpunet as gn
    from gpunet.errors import GpunetError
    from gpunet.io.formats import params_json

SUFFIXES = [".npz", ".txt", ".gz", ".mat", ".json"]
FOLDER = Path(tempfile.mkdtemp(prefix="gpunet-atheris-"))


def seed_corpus(folder: Path) -> None:
    """Write one valid file per format, prefixed by its format byte, into ``folder``."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "io"))
    from helpers import small_network
    net = small_network(neurons=10)
    net.simulate(5.0)
    folder.mkdir(parents=True, exist_ok=True)
    for index, suffix in enumerate(SUFFIXES):
        path = FOLDER / f"seed{suffix}"
        if suffix == ".json":
            net.save_parameters(path)
        else:
            gn.save(path, network=net)
        (folder / f"seed{index}").write_bytes(bytes([index]) + path.read_bytes())
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))
    import hostile_inputs as hostile
    crafted = {
        ".txt": [hostile.bytearray_of_numpy_int(1 << 16), hostile.list_of_bytes_of_numpy_int(1 << 16),
                 hostile.list_of_carried_bytes(1 << 10), hostile.memo_reused_rows(100, 50),
                 hostile.mark_flood(200), hostile.memo_flood(1000), hostile.empty_set_flood(1000)],
        ".gz": [hostile.gz(hostile.memo_reused_rows(1000, 100))],
        ".npz": [hostile.native_deflated_zeros(1 << 20), hostile.native_stored_beyond_the_file(1 << 16),
                 hostile.annarchy_npz_many_members(2, 1 << 20), hostile.annarchy_npz_zero_itemsize()],
    }
    for suffix, files in crafted.items():
        for number, data in enumerate(files):
            (folder / f"crafted{suffix}{number}").write_bytes(bytes([SUFFIXES.index(suffix)]) + data)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    suffix = SUFFIXES[data[0] % len(SUFFIXES)]
    path = FOLDER / f"input{suffix}"
    path.write_bytes(data[1:])
    try:
        if suffix == ".json":
            params_json.load(path)
        else:
            gn.read_state(path)
    except GpunetError:
        pass


def main() -> None:
    corpus = FOLDER / "corpus"
    seed_corpus(corpus)
    atheris.Setup(sys.argv + [str(corpus)], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
