"""A save never replaces a good file with one that cannot be loaded; the file system's refusals are gpunet errors.

Classes: object names (restricted at creation, checked again before a save
writes), NaN and infinite global parameters (round-trip in every format),
permission bits of a replaced file, symbolic links, names too long for the
file system and other OSErrors at save and load.
"""
from __future__ import annotations

import errno
import os
import warnings

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import FileAccessError, FormatError, GpunetError, StructureError
from gpunet.io.api import serializer_for
from gpunet.io.storage.atomic import TEMP_SUFFIX, atomic_writer
from gpunet.limits import MAX_NAME_LENGTH

FORMATS = [".npz", ".txt", ".gz", ".mat"]


def two_populations(name_a: str = "exc", name_p: str = "exc_to_inh", seed: int = 2) -> gn.Network:
    net = gn.Network(backend="numpy", seed=seed)
    exc = net.create(5, gn.Izhikevich, name=name_a)
    inh = net.create(4, gn.Izhikevich, name="inh")
    net.connect(exc, inh, "exc", gn.STDP, name=name_p).connect_all_to_all(weights=0.3, delays=2.0)
    net.compile()
    return net


def temporaries(folder) -> list:
    return [p for p in os.listdir(folder) if p.endswith(TEMP_SUFFIX)]


# -- names ----------------------------------------------------------------------------------------------------------
BAD_NAMES = ["exc ", " exc", "a\x00b", "a b", "", "x" * (MAX_NAME_LENGTH + 1), "é", "a/b", "a\nb", "time_step",
             "net_id", "obj_names", "_gpunet", 5, None.__class__]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_names_a_file_cannot_carry_are_refused_at_creation(name):
    net = gn.Network(backend="numpy", seed=1)
    pre = net.create(3, gn.Izhikevich, name="pre")
    with pytest.raises(StructureError, match="A-Z a-z 0-9 _ . -|keys of the state files"):
        net.create(3, gn.Izhikevich, name=name)
    with pytest.raises(StructureError, match="A-Z a-z 0-9 _ . -|keys of the state files"):
        net.connect(pre, pre, "exc", name=name)
    assert [p.name for p in net.populations] == ["pre"] and net.projections == []  # nothing half-registered
    assert net.create(2, gn.Izhikevich).name == "pop1"


@pytest.mark.parametrize("suffix", FORMATS)
def test_every_kind_of_allowed_name_round_trips(tmp_path, suffix):
    names = ["PFC_exc", "a.b-c", "1st", "_x", "x" * MAX_NAME_LENGTH, "E"]
    for name in names:
        net = two_populations(name_a=name, name_p=name[:-1] + "P")
        net.simulate(3.0)
        path = tmp_path / f"names{suffix}"
        net.save(path)
        fresh = two_populations(name_a=name, name_p=name[:-1] + "P", seed=9)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fresh.load(path)
        assert np.array_equal(fresh.get_population(name).v, net.get_population(name).v)
        assert fresh.get_projection(name[:-1] + "P").w == net.get_projection(name[:-1] + "P").w


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("name", ["exc ", "a\x00b", "a b"], ids=repr)
def test_a_state_with_a_name_no_network_accepts_is_not_written(tmp_path, suffix, name):
    """What ``gpunet convert`` of a foreign file would do: checked before the atomic replace."""
    net = two_populations()
    path = tmp_path / f"state{suffix}"
    net.save(path)
    good = path.read_bytes()
    state = gn.read_state(path)
    state.populations[0].name = name
    with pytest.raises(FormatError, match=f"{path.name}: cannot save: invalid population name"):
        with atomic_writer(path) as stream:
            serializer_for(path)(state, stream)
    assert path.read_bytes() == good and temporaries(tmp_path) == []


# -- NaN and infinite globals ----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_global_parameters_round_trip_in_every_format(tmp_path, suffix, value):
    def network(seed: int) -> gn.Network:  # Izhikevich has no global parameter (ANNarchy's): LeakyIntegrator's tau
        net = gn.Network(backend="numpy", seed=seed)
        exc, inh = net.create(5, gn.Izhikevich, name="exc"), net.create(4, gn.Izhikevich, name="inh")
        net.create(3, gn.LeakyIntegrator, name="rate")
        net.connect(exc, inh, "exc", gn.STDP, name="exc_to_inh").connect_all_to_all(weights=0.3, delays=2.0)
        net.compile()
        return net
    net = network(2)
    net.get_population("rate").tau = value
    net.get_projection("exc_to_inh").tau_plus = value
    path = tmp_path / f"globals{suffix}"
    net.save(path)
    fresh = network(9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "global attribute given an array of different values"
        fresh.load(path)
    for got in (fresh.get_population("rate").tau, fresh.get_projection("exc_to_inh").tau_plus):
        assert got == value or (np.isnan(value) and np.isnan(got))


# -- permission bits and symbolic links ----------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".npz", ".txt"])
def test_replacing_a_file_keeps_its_permission_bits_and_new_files_follow_the_umask(tmp_path, suffix):
    net = two_populations()
    path = tmp_path / f"state{suffix}"
    old_umask = os.umask(0o027)
    try:
        net.save(path)
        assert os.stat(path).st_mode & 0o777 == 0o640  # 0o666 & ~umask
        os.chmod(path, 0o604)
        net.simulate(2.0)
        net.save(path)
        assert os.stat(path).st_mode & 0o777 == 0o604
        assert gn.read_state(path).step == 2
        net.save_parameters(tmp_path / "p.json")
        os.chmod(tmp_path / "p.json", 0o600)
        net.save_parameters(tmp_path / "p.json")
        assert os.stat(tmp_path / "p.json").st_mode & 0o777 == 0o600
    finally:
        os.umask(old_umask)


def test_saving_to_a_symbolic_link_replaces_its_destination_and_keeps_the_link(tmp_path):
    net = two_populations()
    real_folder = tmp_path / "real"
    real_folder.mkdir()
    target = real_folder / "state.npz"
    net.save(target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    net.simulate(4.0)
    net.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert gn.read_state(target).step == 4 and gn.read_state(link).step == 4
    assert temporaries(tmp_path) == [] and temporaries(real_folder) == []
    # a relative link, through a chain of links
    chain = tmp_path / "chain.npz"
    chain.symlink_to("latest.npz")
    net.simulate(1.0)
    net.save(chain)
    assert chain.is_symlink() and link.is_symlink() and gn.read_state(target).step == 5
    # a dangling link: its destination is created
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(real_folder / "new.npz")
    net.save(dangling)
    assert dangling.is_symlink() and gn.read_state(real_folder / "new.npz").step == 5


def test_a_loop_of_links_is_a_gpunet_error_and_writes_nothing(tmp_path):
    net = two_populations()
    (tmp_path / "a.npz").symlink_to(tmp_path / "b.npz")
    (tmp_path / "b.npz").symlink_to(tmp_path / "a.npz")
    with pytest.raises(FileAccessError, match="a.npz: cannot save") as error:
        net.save(tmp_path / "a.npz")
    assert error.value.errno == errno.ELOOP
    assert (tmp_path / "a.npz").is_symlink() and temporaries(tmp_path) == []


# -- names too long and other OSErrors ---------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", FORMATS)
def test_a_file_name_too_long_is_a_gpunet_error_naming_the_file(tmp_path, suffix):
    net = two_populations()
    long_path = tmp_path / ("x" * 300 + suffix)
    for attempt in (lambda: net.save(long_path), lambda: net.get_population("exc").save(long_path),
                    lambda: gn.save(long_path, network=net, blocking=False).result()):
        with pytest.raises(FileAccessError, match="cannot save: File name too long") as error:
            attempt()
        assert isinstance(error.value, GpunetError) and error.value.errno == errno.ENAMETOOLONG
        assert str(long_path) in str(error.value)
    for attempt in (lambda: net.load(long_path), lambda: gn.read_state(long_path),
                    lambda: net.get_population("exc").load(long_path)):
        with pytest.raises(GpunetError, match="File name too long"):
            attempt()
    assert os.listdir(tmp_path) == []


def test_a_long_name_that_fits_saves_although_its_temporary_name_would_not(tmp_path):
    net = two_populations()
    path = tmp_path / ("y" * 250 + ".npz")  # 254 bytes: the temporary file's name is shortened
    net.save(path)
    net.simulate(1.0)
    net.save(path)
    assert gn.read_state(path).step == 1 and temporaries(tmp_path) == []


def test_other_os_errors_at_save_and_load_keep_the_previous_file(tmp_path):
    net = two_populations()
    folder_in_the_way = tmp_path / "state.npz"
    folder_in_the_way.mkdir()
    (folder_in_the_way / "inside").write_bytes(b"kept")
    with pytest.raises(FileAccessError, match="state.npz: cannot save") as error:
        net.save(folder_in_the_way)
    assert isinstance(error.value, IsADirectoryError)  # the original class, for callers catching it
    assert (folder_in_the_way / "inside").read_bytes() == b"kept" and temporaries(tmp_path) == []
    with pytest.raises(GpunetError):
        net.load(folder_in_the_way)
    not_a_folder = tmp_path / "plain"
    not_a_folder.write_bytes(b"a file")
    with pytest.raises(FileAccessError, match="cannot save"):
        net.save(not_a_folder / "state.npz")
    assert not_a_folder.read_bytes() == b"a file"


def test_a_write_error_mid_save_is_a_gpunet_error_with_its_errno(tmp_path, monkeypatch):
    from gpunet.io.formats import state_npz
    net = two_populations()
    path = tmp_path / "state.npz"
    net.save(path)
    good = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(state_npz, "write", disk_full)
    with pytest.raises(FileAccessError, match="state.npz: cannot save: No space left on device") as error:
        net.save(path)
    assert error.value.errno == errno.ENOSPC and isinstance(error.value.__cause__, OSError)
    assert path.read_bytes() == good and temporaries(tmp_path) == []


def test_parameter_files_with_names_too_long_are_gpunet_errors(tmp_path):
    net = two_populations()
    long_path = tmp_path / ("p" * 300 + ".json")
    with pytest.raises(FileAccessError, match="File name too long"):
        net.save_parameters(long_path)
    with pytest.raises(GpunetError, match="File name too long"):
        net.load_parameters(long_path)
    assert os.listdir(tmp_path) == []
