"""The native .npz format and the load rules, through the public API."""
import zipfile

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import FormatError, StructureError
from gpunet.io.formats import state_npz
from gpunet.io.pipeline.restore import LoadWarning

from helpers import assert_same_state, flip_byte_in_member, small_network, snapshot


@pytest.fixture
def saved(tmp_path):
    net = small_network()
    net.simulate(40.0)
    path = tmp_path / "state.npz"
    gn.save(path, network=net)
    return net, path


def test_round_trip_restores_every_array_bit_for_bit(saved):
    net, path = saved
    before = snapshot(net)
    fresh = small_network(seed=99)  # other seed: other weights, other noise
    fresh.load(path)
    assert_same_state(before, snapshot(fresh))
    assert fresh.seed == net.seed


def test_manifest_describes_the_file(saved):
    net, path = saved
    manifest = state_npz.inspect(path)
    assert manifest["format"] == "gpunet-state" and manifest["format_version"] == 1
    assert manifest["step"] == 40 and manifest["t"] == 40.0 and manifest["dt"] == 1.0
    assert manifest["seed"] == net.seed and manifest["checksums"] == "ok"
    names = [(o["kind"], o["name"]) for o in manifest["objects"]]
    assert names == [("population", "pop0"), ("population", "pop1"), ("projection", "proj0")]
    proj = manifest["objects"][2]
    assert proj["arrays"]["w"]["shape"] == [net.projections[0].nb_synapses]
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[-1] == "manifest.json"
        assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist())
        assert not any(n.endswith(".pkl") for n in archive.namelist())


def test_compressed_native_file_loads(tmp_path):
    net = small_network()
    net.simulate(10.0)
    path = tmp_path / "c.npz"
    gn.save(path, network=net, compress=True)
    with zipfile.ZipFile(path) as archive:
        assert any(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    fresh = small_network()
    fresh.load(path)
    assert_same_state(snapshot(net), snapshot(fresh))


def test_missing_parent_folder_is_created(tmp_path):
    net = small_network()
    path = tmp_path / "a" / "b" / "state.npz"
    gn.save(path, network=net)
    assert path.exists()


def test_load_before_compile_compiles_first(saved):
    _, path = saved
    fresh = small_network()
    assert not fresh.compiled
    fresh.load(path)
    assert fresh.compiled and fresh.get_current_step() == 40


def test_size_mismatch_is_structure_error_and_changes_nothing(saved):
    _, path = saved
    other = small_network(neurons=50)
    other.compile()
    before = snapshot(other)
    with pytest.raises(StructureError) as info:
        other.load(path)
    message = str(info.value)
    assert str(path) in message and "population 'pop0'" in message and "expected size 50, found 60" in message
    assert_same_state(before, snapshot(other))


def test_all_mismatches_are_listed_at_once(tmp_path):
    net = small_network()
    path = tmp_path / "s.npz"
    gn.save(path, network=net)
    state = gn.read_state(path)
    state.populations[0].values["v"] = np.zeros(7)
    state.populations[1].values["u"] = np.zeros((2, 2))
    state_npz.save(tmp_path / "bad.npz", state)
    fresh = small_network()
    with pytest.raises(StructureError) as info:
        fresh.load(tmp_path / "bad.npz")
    message = str(info.value)
    assert "2 problems" in message
    assert "'pop0', attribute 'v': expected shape (60,), found (7,)" in message
    assert "'pop1', attribute 'u': expected shape (60,), found (2, 2)" in message


def test_missing_and_extra_variables_warn_by_default_and_fail_in_strict_mode(tmp_path):
    net = small_network()
    net.simulate(5.0)
    path = tmp_path / "s.npz"
    gn.save(path, network=net)
    state = gn.read_state(path)
    del state.populations[0].values["u"]
    state.populations[0].values["ghost"] = np.zeros(60)
    state_npz.save(tmp_path / "odd.npz", state)
    fresh = small_network()
    fresh.compile()
    u_before = fresh.populations[0].u.copy()
    with pytest.warns(LoadWarning) as record:
        fresh.load(tmp_path / "odd.npz")
    messages = [str(r.message) for r in record]
    assert any("'u' is not in the file; it keeps its current value" in m for m in messages)
    assert any("'ghost' of the file does not exist in the network; skipped" in m for m in messages)
    assert np.array_equal(fresh.populations[0].u, u_before)
    assert np.array_equal(fresh.populations[0].v, net.populations[0].v)
    strict = small_network()
    strict.compile()
    before = snapshot(strict)
    with pytest.raises(StructureError, match="'u' is not in the file"):
        strict.load(tmp_path / "odd.npz", strict=True)
    assert_same_state(before, snapshot(strict))


def test_global_given_an_array(tmp_path):
    net = small_network()
    path = tmp_path / "s.npz"
    gn.save(path, network=net)
    state = gn.read_state(path)
    synapses = state.projections[0].nb_synapses
    state.projections[0].values["A_plus"] = np.full(synapses, 0.05)
    state_npz.save(tmp_path / "equal.npz", state)
    fresh = small_network()
    fresh.load(tmp_path / "equal.npz")
    assert fresh.projections[0].A_plus == 0.05
    state.projections[0].values["A_plus"] = np.linspace(0.01, 0.02, synapses)
    state_npz.save(tmp_path / "differ.npz", state)
    with pytest.warns(LoadWarning, match="different values"):
        fresh.load(tmp_path / "differ.npz")
    assert fresh.projections[0].A_plus == 0.05
    with pytest.raises(StructureError, match="different values"):
        fresh.load(tmp_path / "differ.npz", strict=True)


def test_other_connectivity_rebuilds_the_projection(saved):
    net, path = saved
    other = small_network(seed=5)  # different random connectivity
    other.compile()
    assert other.projections[0].nb_synapses != net.projections[0].nb_synapses
    other.load(path)
    proj, ref = other.projections[0], net.projections[0]
    assert [a.tolist() for a in proj.connectivity()] == [a.tolist() for a in ref.connectivity()]
    assert proj.w == ref.w
    net.simulate(20.0)
    other.simulate(20.0)
    assert_same_state(snapshot(net), snapshot(other))


def test_connectivity_out_of_range_is_refused(tmp_path):
    net = small_network()
    path = tmp_path / "s.npz"
    gn.save(path, network=net)
    state = gn.read_state(path)
    state.projections[0].pre_ranks = state.projections[0].pre_ranks.copy()
    state.projections[0].pre_ranks[3] = 60
    state_npz.save(tmp_path / "bad.npz", state)
    fresh = small_network()
    fresh.compile()
    before = snapshot(fresh)
    with pytest.raises(StructureError, match=r"pre ranks must lie in \[0, 60\)"):
        fresh.load(tmp_path / "bad.npz")
    assert_same_state(before, snapshot(fresh))


def test_negative_delays_are_refused(tmp_path):
    net = small_network()
    path = tmp_path / "s.npz"
    gn.save(path, network=net)
    state = gn.read_state(path)
    state.projections[0].delays = np.asarray(-1.0)
    state_npz.save(tmp_path / "bad.npz", state)
    with pytest.raises(StructureError, match="delays: must be finite and non-negative"):
        small_network().load(tmp_path / "bad.npz")


def test_dt_mismatch_is_refused(saved):
    _, path = saved
    other = small_network(dt=0.5)
    with pytest.raises(StructureError, match="dt = 1.0 ms, the network uses dt = 0.5 ms"):
        other.load(path)


def test_population_and_projection_save_and_load_alone(tmp_path):
    net = small_network()
    net.simulate(30.0)
    pop, proj = net.populations[1], net.projections[0]
    pop.save(tmp_path / "pop.npz")
    proj.save(tmp_path / "proj.npz")
    fresh = small_network()
    fresh.compile()
    untouched = fresh.populations[0].v.copy()
    fresh.populations[1].load(tmp_path / "pop.npz")
    fresh.projections[0].load(tmp_path / "proj.npz")
    assert np.array_equal(fresh.populations[1].v, pop.v)
    assert fresh.projections[0].w == proj.w and fresh.projections[0].x == proj.x
    assert np.array_equal(fresh.populations[0].v, untouched)
    assert fresh.get_current_step() == 0  # a single object does not move the clock
    state = gn.read_state(tmp_path / "pop.npz")
    assert [p.name for p in state.populations] == ["pop1"] and state.projections == []


def test_whole_network_file_loads_one_object_by_name(saved):
    net, path = saved
    fresh = small_network()
    fresh.compile()
    fresh.populations[1].load(path)
    assert np.array_equal(fresh.populations[1].v, net.populations[1].v)
    assert not np.array_equal(fresh.populations[0].v, net.populations[0].v)


def test_populations_false_leaves_populations_untouched(saved):
    net, path = saved
    fresh = small_network()
    fresh.compile()
    v = fresh.populations[0].v.copy()
    fresh.load(path, populations=False)
    assert np.array_equal(fresh.populations[0].v, v)
    assert fresh.projections[0].w == net.projections[0].w


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "random", "not-zip-but-npz"])
def test_damaged_native_files_raise_format_error_naming_the_file(saved, tmp_path, damage):
    _, path = saved
    data = bytearray(path.read_bytes())
    bad = tmp_path / f"bad-{damage}.npz"
    if damage == "truncate":
        bad.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "flip":
        bad.write_bytes(flip_byte_in_member(path, "population/pop1/v.npy", 200))
    elif damage == "empty":
        bad.write_bytes(b"")
    elif damage == "random":
        bad.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        bad.write_text("v = 1\n")
    fresh = small_network()
    fresh.compile()
    before = snapshot(fresh)
    with pytest.raises(FormatError) as info:
        fresh.load(bad)
    assert str(bad) in str(info.value)
    assert_same_state(before, snapshot(fresh))


def test_declared_huge_array_is_refused_before_allocation(saved, tmp_path):
    _, path = saved
    import orjson
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = orjson.loads(members["manifest.json"])
    manifest["objects"][0]["arrays"]["v"]["shape"] = [2 ** 40]
    members["manifest.json"] = orjson.dumps(manifest)
    bad = tmp_path / "huge.npz"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    with pytest.raises(FormatError, match="declares 8796093022208 bytes"):
        gn.read_state(bad)


def test_swapped_members_are_detected(saved, tmp_path):
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    v, u = "population/pop0/v.npy", "population/pop0/u.npy"
    members[v], members[u] = members[u], members[v]
    bad = tmp_path / "swapped.npz"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    with pytest.raises(FormatError, match="does not match the manifest's CRC-32"):
        gn.read_state(bad)


def test_missing_file_is_format_error(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        small_network().load(tmp_path / "nothing.npz")


def test_failed_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    net = small_network()
    path = tmp_path / "s.npz"
    gn.save(path, network=net)
    good = path.read_bytes()
    net.simulate(5.0)

    def explode(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state_npz, "write", explode)
    with pytest.raises(OSError, match="No space left"):
        gn.save(path, network=net)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


@pytest.mark.parametrize("field_offset, value", [(16, 0x7FFFFFF0), (12, 0x7FFFFFF0), (16, 1)])
def test_damaged_zip_directory_is_format_error(saved, tmp_path, field_offset, value):
    """Wrong directory size/offset make zipfile seek to impossible places (found by atheris)."""
    import struct
    _, path = saved
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + field_offset:end + field_offset + 4] = struct.pack("<I", value)
    bad = tmp_path / "directory.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError) as info:
        gn.read_state(bad)
    assert str(bad) in str(info.value)


def test_members_with_another_valid_npy_header_load(saved, tmp_path):
    """gpunet reads its own headers by comparison; any other valid header (here NumPy's version 2.0) is parsed."""
    import io
    import orjson
    from gpunet.io.storage.checksum import crc32
    net, path = saved
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = "population/pop0/v.npy"
    values = np.load(io.BytesIO(members[name]))
    rewritten = io.BytesIO()
    np.lib.format.write_array(rewritten, values, version=(2, 0))
    assert rewritten.getvalue()[:8] != members[name][:8]  # really another header
    members[name] = rewritten.getvalue()
    manifest = orjson.loads(members["manifest.json"])
    manifest["objects"][0]["arrays"]["v"]["crc32"] = crc32(members[name])
    members["manifest.json"] = orjson.dumps(manifest)
    other = tmp_path / "v2.npz"
    with zipfile.ZipFile(other, "w") as archive:
        for member, payload in members.items():
            archive.writestr(member, payload)
    assert np.array_equal(gn.read_state(other).population("pop0").values["v"], values)
    fresh = small_network(seed=99)
    fresh.load(other)
    assert_same_state(snapshot(net), snapshot(fresh))


def test_the_same_connectivity_is_kept_and_another_is_rebuilt(saved, monkeypatch):
    net, path = saved
    rebuilt = []
    projection_type = type(net.projections[0])
    original = projection_type._install_connectivity
    monkeypatch.setattr(projection_type, "_install_connectivity",
                        lambda self, *args, **kw: (rebuilt.append(self.name), original(self, *args, **kw))[1])
    same = small_network(seed=3)  # the saved network's seed: same connectivity
    same.compile()
    rebuilt.clear()
    same.load(path)
    assert rebuilt == []
    other = small_network(seed=5)
    other.compile()
    rebuilt.clear()
    other.load(path)
    assert rebuilt == ["proj0"]
    assert_same_state(snapshot(net), snapshot(other))


def test_member_data_is_read_by_worker_threads_from_files_and_directly_from_bytes(saved, monkeypatch):
    from gpunet.backend import workers
    net, path = saved
    batches = []
    original = workers.run_balanced
    monkeypatch.setattr(workers, "WORKER_THREADS", 3)
    monkeypatch.setattr(state_npz, "PARALLEL_READ_MIN_BYTES", 0)
    monkeypatch.setattr(workers, "run_balanced",
                        lambda tasks, threads=None: (batches.append(len(tasks)), original(tasks, threads))[1])
    from_file = gn.read_state(path)
    assert batches and batches[0] == sum(len(o.values) + len(o.internal) for o in from_file.populations) + sum(
        len(o.values) + len(o.internal) + 4 for o in from_file.projections)  # every member, connectivity included
    from_bytes = state_npz.loads(path.read_bytes(), str(path))
    assert batches[-1] == 0  # no file descriptor: read in place
    for a, b in zip(from_file.populations + from_file.projections, from_bytes.populations + from_bytes.projections):
        assert all(np.array_equal(a.values[k], b.values[k]) for k in a.values)
    path.write_bytes(flip_byte_in_member(path, "projection/proj0/w.npy", offset_in_data=1000))
    with pytest.raises(FormatError, match="bad CRC-32") as error:
        gn.read_state(path)
    assert str(path) in str(error.value) and "'w'" in str(error.value)


def test_checksums_computed_beside_the_reads_still_catch_a_corrupt_member(saved, monkeypatch):
    net, path = saved
    monkeypatch.setattr(state_npz, "PIPELINED_CHECK_MIN_BYTES", 0)  # every member's CRC-32 on the worker
    fresh = small_network(seed=99)
    fresh.load(path)
    assert_same_state(snapshot(net), snapshot(fresh))
    path.write_bytes(flip_byte_in_member(path, "projection/proj0/w.npy", offset_in_data=1000))
    before = snapshot(fresh)
    with pytest.raises(FormatError, match="bad CRC-32") as error:
        fresh.load(path)
    assert str(path) in str(error.value) and "'w'" in str(error.value)
    assert_same_state(before, snapshot(fresh))


def test_a_native_load_parses_the_zip_directory_once(saved, monkeypatch):
    _, path = saved
    opened = []
    original = zipfile.ZipFile.__init__
    monkeypatch.setattr(zipfile.ZipFile, "__init__",
                        lambda self, *args, **kwargs: (opened.append(args[0]), original(self, *args, **kwargs))[1])
    small_network().load(path)
    assert len(opened) == 1


def test_same_synapses_with_other_delays_take_the_files_delays(tmp_path, monkeypatch):
    net = small_network()
    path = tmp_path / "s.npz"
    gn.save(path, network=net)
    state = gn.read_state(path)
    count = len(state.projections[0].pre_ranks)
    assert state.projections[0].delays.ndim == 0 and float(state.projections[0].delays) == 2.0
    state.projections[0].delays = np.full(count, 2.0)  # the same delays, one per synapse
    state_npz.save(tmp_path / "same.npz", state)
    state.projections[0].delays = 1.0 + np.arange(count) % 4  # other delays, dt = 1 ms
    state_npz.save(tmp_path / "other.npz", state)
    projection_type = type(net.projections[0])
    rebuilt = []
    original = projection_type._install_connectivity
    monkeypatch.setattr(projection_type, "_install_connectivity",
                        lambda self, *args, **kw: (rebuilt.append(self.name), original(self, *args, **kw))[1])
    fresh = small_network()
    fresh.compile()
    rebuilt.clear()
    fresh.load(tmp_path / "same.npz")
    assert rebuilt == [] and fresh.projections[0].delays == 2.0
    fresh.load(tmp_path / "other.npz")
    assert rebuilt == ["proj0"]
    assert np.array_equal(fresh.projections[0].synapse_arrays()[2], 1 + np.arange(count) % 4)
    fresh.load(path)  # back to the network's own
    assert fresh.projections[0].delays == 2.0
