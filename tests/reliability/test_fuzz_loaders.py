"""Fuzzing every loader with mutated valid files: only gpunet errors escape, quickly, nothing changes."""
import importlib
import io
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, strategies as st

import gpunet as gn
from gpunet import LoadWarning
from gpunet.errors import GpunetError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from helpers import assert_same_state, small_network, snapshot  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "annarchy" / "chapter"
SECONDS_PER_FILE = 5.0


def _available(module: str) -> bool:
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


class Samples(dict):
    def __repr__(self) -> str:  # keeps hypothesis' failure reports short
        return f"<samples {sorted(self)}>"


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict:
    """Valid files of every format, as bytes, keyed by suffix."""
    folder = tmp_path_factory.mktemp("samples")
    net = small_network(neurons=20)
    net.simulate(10.0)
    found = Samples()
    for suffix, module in ((".npz", "gpunet.io.formats.state_npz"), (".txt", "gpunet.io.formats.pickled.state_pickle"),
                           (".gz", "gpunet.io.formats.pickled.state_gzip"), (".mat", "gpunet.io.formats.state_mat")):
        if _available(module):
            gn.save(folder / f"s{suffix}", network=net)
            found[suffix] = (folder / f"s{suffix}").read_bytes()
    net.save_parameters(folder / "p.json")
    found[".json"] = (folder / "p.json").read_bytes()
    if _available("gpunet.io.formats.annarchy_npz"):
        found["annarchy.npz"] = (FIXTURES / "data.npz").read_bytes()
    return found


def _load(path: Path) -> None:
    if path.suffix == ".json":
        from gpunet.io.formats import params_json
        params_json.load(path)
    else:
        gn.read_state(path)


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("flip"), st.floats(0.0, 1.0), st.integers(0, 7)),
    st.tuples(st.just("overwrite"), st.floats(0.0, 1.0), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("insert"), st.floats(0.0, 1.0), st.binary(min_size=1, max_size=64)),
)


def _mutate(data: bytes, change) -> bytes:
    kind, where = change[0], change[1]
    if not data:
        return data
    position = min(int(where * len(data)), len(data) - 1)
    buffer = bytearray(data)
    if kind == "truncate":
        return bytes(buffer[:position])
    if kind == "flip":
        buffer[position] ^= 1 << change[2]
    elif kind == "overwrite":
        buffer[position:position + len(change[2])] = change[2]
    else:
        buffer[position:position] = change[2]
    return bytes(buffer)


@pytest.mark.parametrize("kind", [".npz", ".txt", ".gz", ".mat", ".json", "annarchy.npz"])
@given(changes=st.lists(mutation, min_size=1, max_size=3))
def test_mutated_files_raise_only_gpunet_errors(samples, tmp_path_factory, kind, changes):
    if kind not in samples:
        pytest.skip(f"no {kind} sample (format module not available)")
    data = samples[kind]
    for change in changes:
        data = _mutate(data, change)
    path = tmp_path_factory.mktemp("fuzz") / ("f.npz" if kind == "annarchy.npz" else f"f{kind}")
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        _load(path)
    except GpunetError:
        pass
    assert time.perf_counter() - start < SECONDS_PER_FILE


def _rewrite_zip(data: bytes, edit) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    members = edit(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, payload in members:
            archive.writestr(name, payload)
    return out.getvalue()


structural = st.sampled_from(["swap", "duplicate", "drop", "huge-shape", "bad-dtype", "negative-shape",
                              "nan-step", "float-values", "object-dtype", "nan-values", "inf-delay"])


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
@given(edit=structural, index=st.integers(0, 1000))
def test_structural_damage_to_native_files(samples, tmp_path_factory, edit, index):
    data = samples[".npz"]

    def change(members):
        names = [n for n, _ in members if n != "manifest.json"]
        pick = names[index % len(names)]
        other = names[(index + 1) % len(names)]
        table = dict(members)
        manifest = orjson.loads(table["manifest.json"])
        entry = next(a for o in manifest["objects"] for a in o["arrays"].values() if a["member"] == pick)
        if edit == "swap":
            table[pick], table[other] = table[other], table[pick]
        elif edit == "duplicate":
            return members + [(pick, table[pick])]
        elif edit == "drop":
            table.pop(pick)
        elif edit == "huge-shape":
            entry["shape"] = [2 ** 38, 2 ** 4]
        elif edit == "bad-dtype":
            entry["dtype"] = "object"
        elif edit == "negative-shape":
            entry["shape"] = [-5]
        elif edit == "nan-step":
            manifest["step"] = 1.5
        elif edit == "object-dtype":
            buffer = io.BytesIO()
            np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
            table[pick] = buffer.getvalue()
        elif edit in ("float-values", "nan-values", "inf-delay"):
            buffer = io.BytesIO()
            fill = {"float-values": 0.5, "nan-values": np.nan, "inf-delay": np.inf}[edit]
            shape = tuple(entry["shape"])
            np.save(buffer, np.full(shape, fill, dtype=np.float64))
            table[pick] = buffer.getvalue()
            entry["dtype"] = "float64"
        table["manifest.json"] = orjson.dumps(manifest)
        return list(table.items())

    path = tmp_path_factory.mktemp("structural") / "s.npz"
    path.write_bytes(_rewrite_zip(data, change))
    net = small_network(neurons=20)
    net.compile()
    before = snapshot(net)
    start = time.perf_counter()
    try:
        net.load(path)
    except GpunetError:
        assert_same_state(before, snapshot(net))  # a failed load changes nothing
    assert time.perf_counter() - start < SECONDS_PER_FILE


@pytest.mark.parametrize("kind", [".npz", ".txt", ".gz", ".mat"])
@given(change=mutation)
def test_failed_loads_leave_the_network_unchanged(samples, tmp_path_factory, kind, change):
    if kind not in samples:
        pytest.skip(f"no {kind} sample (format module not available)")
    path = tmp_path_factory.mktemp("unchanged") / f"f{kind}"
    path.write_bytes(_mutate(samples[kind], change))
    net = small_network(neurons=20, seed=77)
    net.compile()
    before = snapshot(net)
    try:
        with warnings.catch_warnings():  # a mutation that still loads may warn (a variable it renamed, ...)
            warnings.simplefilter("ignore", LoadWarning)
            net.load(path)
    except GpunetError:
        assert_same_state(before, snapshot(net))
