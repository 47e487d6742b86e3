"""ANNarchy's own .npz: read through the restricted unpickler only, never np.load(allow_pickle=True)."""
from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from gpunet.errors import FormatError, UnsafeFileError
from gpunet.io.formats import annarchy_npz
from gpunet.io.formats.pickled import state_pickle

from state_examples import assert_states_equal, check_fixture_state


@pytest.fixture(autouse=True)
def _no_pickling_np_load(monkeypatch):
    """Every test here fails if anything calls np.load with allow_pickle=True."""
    original = np.load

    def guarded(*args, **kwargs):
        assert not kwargs.get("allow_pickle"), "np.load(allow_pickle=True) must never be used"
        return original(*args, **kwargs)

    monkeypatch.setattr(np, "load", guarded)


def test_data_npz_matches_describe(fixtures_dir):
    state = annarchy_npz.load(fixtures_dir / "data.npz")
    check_fixture_state(state)
    assert state.format == "annarchy-npz" and state.net_id == 1
    assert_states_equal(state, state_pickle.load(fixtures_dir / "data.txt"), metadata=False)


def test_is_annarchy_npz(fixtures_dir, tmp_path):
    assert annarchy_npz.is_annarchy_npz(fixtures_dir / "data.npz")
    assert not annarchy_npz.is_annarchy_npz(fixtures_dir / "data.txt")
    assert not annarchy_npz.is_annarchy_npz(tmp_path / "missing.npz")
    native = tmp_path / "native.npz"
    with zipfile.ZipFile(native, "w") as archive:
        archive.writestr("population/exc/v.npy", b"")
        archive.writestr("manifest.json", b"{}")
    assert not annarchy_npz.is_annarchy_npz(native)
    with pytest.raises(FormatError, match="native"):
        annarchy_npz.load(native)


def test_the_native_loader_delegates_annarchys_npz(fixtures_dir):
    from gpunet.io.formats import state_npz
    assert state_npz.load(fixtures_dir / "data.npz").format == "annarchy-npz"


@pytest.mark.parametrize("fixture", ["pop.txt", "proj.txt"])
def test_single_object_npz_like_pop_save(fixtures_dir, tmp_path, fixture):
    desc = pickle.loads((fixtures_dir / fixture).read_bytes())
    path = tmp_path / "one.npz"
    np.savez_compressed(path, allow_pickle=True, **desc)     # what ANNarchy's pop.save("x.npz") does
    state = annarchy_npz.load(path)
    assert state.single_object
    assert_states_equal(state, state_pickle.load(fixtures_dir / fixture), metadata=False)


def _npz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _fixture_members(fixtures_dir) -> dict[str, bytes]:
    with zipfile.ZipFile(fixtures_dir / "data.npz") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_member_carrying_code_is_refused_and_nothing_runs(fixtures_dir, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    members = _fixture_members(fixtures_dir)
    members["PFC_exc.npy"] = _npy(np.array(Payload(), dtype=object))
    with pytest.raises(UnsafeFileError, match="PFC_exc.npy"):
        annarchy_npz.loads(_npz(members), "evil.npz")
    assert not marker.exists()


def _with_header(header: bytes, body: bytes = b"", version: bytes = b"\x01\x00") -> bytes:
    size = struct.pack("<H", len(header)) if version == b"\x01\x00" else struct.pack("<I", len(header))
    return b"\x93NUMPY" + version + size + header + body


@pytest.mark.parametrize("member, message", [
    (b"not an npy", "bad magic"),
    (_with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", b"\0" * 8), "data bytes"),
    (_with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }"), "negative"),
    (_with_header(b"{'descr': '<f8'}"), "invalid .npy header"),
    (_with_header(b"__import__('os').system('x')"), "invalid .npy header"),
    (_with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (), }", version=b"\x09\x00"), "version"),
    (_with_header(b"x" * 20_000, version=b"\x02\x00"), "exceeds the limit"),
    (_with_header(b"{'descr': '|O', 'fortran_order': False, 'shape': (), }", b"\x80\x05K\x01."), "not the declared"),
])
def test_invalid_npy_members_are_format_errors(fixtures_dir, member, message):
    members = _fixture_members(fixtures_dir)
    members["time_step.npy"] = member
    with pytest.raises(FormatError, match=message) as error:
        annarchy_npz.loads(_npz(members), "bad.npz")
    assert "time_step.npy" in str(error.value)


def test_a_declared_size_beyond_the_cap_is_refused_before_reading(fixtures_dir):
    data = bytearray((fixtures_dir / "data.npz").read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("PFC_exc.npy")
    position = 0
    while True:  # patch the uncompressed size in the member's central-directory entry
        position = bytes(data).index(b"PK\x01\x02", position)
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if bytes(data[position + 46:position + 46 + name_length]) == info.filename.encode():
            data[position + 24:position + 28] = struct.pack("<I", 0xFFFFFFF0)
            break
        position += 4
    with pytest.raises(FormatError, match="cap"):
        annarchy_npz.loads(bytes(data), "bomb.npz")


def test_structural_zip_damage_is_a_format_error(fixtures_dir):
    data = (fixtures_dir / "data.npz").read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        with pytest.raises(FormatError, match="cut.npz"):
            annarchy_npz.loads(data[:cut], "cut.npz")
    with pytest.raises(FormatError, match="empty"):
        annarchy_npz.loads(_npz({}), "e.npz")
    with pytest.raises(FormatError, match="not a .npy member"):
        annarchy_npz.loads(_npz({"readme.txt": b"hi"}), "odd.npz")


def test_random_damage_raises_only_format_errors(fixtures_dir):
    data = (fixtures_dir / "data.npz").read_bytes()
    rng = np.random.default_rng(6)
    for _ in range(300):
        flipped = bytearray(data)
        flipped[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
        try:
            annarchy_npz.loads(bytes(flipped), "flip.npz")
        except FormatError as error:
            assert "flip.npz" in str(error)


def test_plain_arrays_of_every_layout_are_read_without_pickle():
    for array in (np.arange(6.0).reshape(2, 3), np.asfortranarray(np.arange(6).reshape(2, 3)),
                  np.array(["ab", "c"]), np.array(True), np.zeros((0, 3))):
        back = annarchy_npz.read_npy(_npy(array), "m.npy")
        assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array)


def test_inspect(fixtures_dir):
    info = annarchy_npz.inspect(fixtures_dir / "data.npz")
    assert info["format"] == "annarchy-npz" and info["written_by"] == "ANNarchy" and len(info["objects"]) == 3
