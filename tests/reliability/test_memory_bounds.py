"""Memory bounded by the input (issue 18, class 1): crafted small files, loaded in a child process.

Each file is built to make a loader allocate far more than it carries (the known breakers:
a NumPy integer as the size of ``bytearray``, ``list(bytes(...))``, rows that are memo
references to one array, floods of MARK, MEMOIZE or EMPTY_SET opcodes, deflated members of
zeros).  The child's peak RSS must stay under the documented bound
(:func:`gpunet.io.storage.read_budget.parse_memory_bound` of the bytes read) and the load must end in a
gpunet error.  The child runs under an address-space limit, so a regression fails the test
instead of exhausting the machine.
"""
from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_inputs as hostile  # noqa: E402
from rss_probe import probe_many  # noqa: E402

from gpunet.io.storage.read_budget import ALLOWANCE, UNPICKLE_RATIO, parse_memory_bound  # noqa: E402

LONG = os.environ.get("GPUNET_TEST_PROFILE", "ci") == "long"
#: The children may map at most this much: far above every bound below, far below the breakers' needs.
ADDRESS_LIMIT = 3 << 30
MiB = 1 << 20

# name -> (suffix, builder, the gpunet error expected[, a part of its message]).  The sizes; the floods that a fixed
# loader scans to their end are smaller in the CI profile (the scan takes about 1 s per 10 MB).
CASES = {
    "bytearray_numpy_int": (".txt", hostile.bytearray_of_numpy_int, "UnsafeFileError"),
    "list_bytes_numpy_int": (".txt", hostile.list_of_bytes_of_numpy_int, "UnsafeFileError"),
    "list_of_carried_bytes": (".txt", lambda: hostile.list_of_carried_bytes(8 * MiB), "UnsafeFileError"),
    "memo_reused_rows": (".gz", lambda: hostile.gz(hostile.memo_reused_rows()), "FormatError"),
    "mark_flood": (".gz", lambda: hostile.gz(hostile.mark_flood()), "FormatError"),
    "memo_flood": (".gz", lambda: hostile.gz(hostile.memo_flood(40_000_000 if LONG else 2_000_000)), "FormatError"),
    "empty_set_flood": (".gz", lambda: hostile.gz(hostile.empty_set_flood(20_000_000 if LONG else 4_000_000)),
                        "FormatError"),
    "native_deflated_zeros": (".npz", hostile.native_deflated_zeros, "FormatError"),
    # NumPy maps the array lazily, so no RSS shows; refusing it before mapping is what counts
    "native_stored_beyond_the_file": (".npz", hostile.native_stored_beyond_the_file, "FormatError",
                                      "declares 800000128 bytes that the file does not hold"),
    "annarchy_npz_many_members": (".npz", hostile.annarchy_npz_many_members, "FormatError"),
}


def _bytes_read(path: Path) -> int:
    """What the parse reads: the file, or its decompressed bytes for ``.gz``."""
    data = path.read_bytes()
    return len(gzip.decompress(data)) if path.suffix == ".gz" else len(data)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict:
    """Every crafted file, and a genuine state as the control, loaded in one child (peak reset per file)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
    from helpers import small_network
    import gpunet as gn
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, (suffix, build, *_) in CASES.items():
        paths[name] = folder / f"{name}{suffix}"
        paths[name].write_bytes(build())
    net = small_network(neurons=200)
    net.simulate(5.0)
    paths["genuine"] = folder / "genuine.txt.gz"
    gn.save(paths["genuine"], network=net)
    found = probe_many(list(paths.values()), address_limit=ADDRESS_LIMIT)
    return {name: (paths[name], report) for name, report in zip(paths, found)}


@pytest.mark.parametrize("name", list(CASES))
def test_crafted_input_stays_within_the_memory_bound(reports, name):
    path, report = reports[name]
    bound = parse_memory_bound(_bytes_read(path))
    print(f"{name}: {path.stat().st_size} bytes, peak extra {report['extra_bytes'] / MiB:.1f} MiB "
          f"(bound {bound / MiB:.0f} MiB), {report['seconds']:.2f} s, {report['outcome']}")
    assert report["outcome"] == CASES[name][2], report["message"]
    assert str(path) in report["message"]
    assert "MemoryError" not in report["message"]  # refused before trying to allocate, not after failing to
    assert CASES[name][3:] == () or CASES[name][3] in report["message"]
    assert report["extra_bytes"] <= bound
    # Refused while parsing, before the layout reader runs: within the unpickler's own budget.
    assert report["extra_bytes"] <= UNPICKLE_RATIO * _bytes_read(path) + ALLOWANCE


def test_a_genuine_file_loads_within_the_bound(reports):
    """The control: a real state loads, under the same bound (the probe measures what it should)."""
    path, report = reports["genuine"]
    assert report["outcome"] == "loaded", report["message"]
    assert 0 <= report["extra_bytes"] <= parse_memory_bound(_bytes_read(path))
