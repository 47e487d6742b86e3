"""Module-level save/load/load_latest never act on the hidden default network by mistake."""
import inspect
import warnings

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import StructureError


def small(name="exc", seed=1):
    net = gn.Network(dt=1.0, seed=seed, backend="numpy")
    pop = net.create(3, gn.Izhikevich, name=name)
    pop.i_offset = 12.0
    return net, pop


def test_net_load_latest_restores_into_that_network(tmp_path):
    net, pop = small()
    net.simulate(20.0, snapshot_every=10.0, snapshot_dir=tmp_path)
    fresh, fresh_pop = small()
    loaded = fresh.load_latest(tmp_path)
    assert loaded == gn.list_snapshots(tmp_path)[-1][1] and loaded.name.endswith("-000000000020.npz")
    assert fresh.current_step == 20 and np.array_equal(fresh_pop.v, pop.v)
    assert gn.default_network().populations == []


def test_module_functions_refuse_the_empty_default_network(tmp_path):
    net, pop = small()
    net.save(tmp_path / "s.npz")
    with pytest.raises(StructureError, match="default network .* is empty.*net.load_latest"):
        gn.load_latest(tmp_path)
    with pytest.raises(StructureError, match="default network .* is empty"):
        gn.load(tmp_path / "s.npz")
    with pytest.raises(StructureError, match="default network .* is empty"):
        gn.save(tmp_path / "t.npz")
    assert not (tmp_path / "t.npz").exists()


def test_module_functions_act_on_the_network_of_the_objects_given(tmp_path):
    net, pop = small()
    net.simulate(5.0)
    gn.save(tmp_path / "pop.npz", populations=[pop], projections=False)
    assert gn.read_state(tmp_path / "pop.npz").population("exc") is not None
    before = pop.v.copy()
    pop.v = 0.0
    gn.load(tmp_path / "pop.npz", populations=[pop], projections=False)
    assert np.array_equal(pop.v, before) and gn.default_network().populations == []
    other, other_pop = small("inh")
    with pytest.raises(StructureError, match="different networks"):
        gn.save(tmp_path / "mixed.npz", populations=[pop, other_pop])
    with pytest.raises(StructureError, match="another network than network="):
        gn.load(tmp_path / "pop.npz", populations=[pop], network=other)


def test_a_load_that_matches_no_object_is_an_error_and_changes_nothing(tmp_path):
    net, pop = small("exc")
    net.simulate(5.0)
    net.save(tmp_path / "s.npz")
    other, other_pop = small("inh")
    v = other_pop.v.copy()
    with pytest.raises(StructureError, match="no object of the file is in the network.*file: exc.*network: inh"):
        other.load(tmp_path / "s.npz")
    assert other.current_step == 0 and np.array_equal(other_pop.v, v)


def test_load_warnings_point_at_the_users_line(tmp_path):
    net, pop = small("exc")
    net.save(tmp_path / "s.npz")
    bigger, _ = small("exc")
    bigger.create(2, gn.Izhikevich, name="extra")
    for load in (lambda: bigger.load(tmp_path / "s.npz"),
                 lambda: gn.load(tmp_path / "s.npz", network=bigger)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            line = load.__code__.co_firstlineno
            load()
        found = [w for w in caught if issubclass(w.category, gn.LoadWarning)]
        assert found and "'extra' is not in the file" in str(found[0].message)
        assert found[0].filename == __file__ and found[0].lineno == line


def test_snapshot_warnings_point_at_the_users_line(tmp_path):
    net, pop = small()
    net.simulate(20.0, snapshot_every=10.0, snapshot_dir=tmp_path)
    newest = sorted(tmp_path.glob("snapshot-*.npz"))[-1]
    newest.write_bytes(b"torn")
    fresh, _ = small()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        fresh.load_latest(tmp_path)
    found = [w for w in caught if issubclass(w.category, gn.SnapshotWarning)]
    assert found and found[0].filename == __file__ and found[0].lineno == line
    assert fresh.current_step == 10


def test_parameter_loads_that_match_no_object_are_errors_and_warnings_point_at_the_user(tmp_path):
    net, pop = small("exc")
    net.create(2, gn.Izhikevich, name="gone")
    net.save_parameters(tmp_path / "p.json")
    other, _ = small("inh")
    with pytest.raises(StructureError, match="no object of the file is in the network"):
        other.load_parameters(tmp_path / "p.json")
    with pytest.raises(StructureError, match="default network .* is empty"):
        gn.load_parameters(tmp_path / "p.json")
    with pytest.raises(StructureError, match="default network .* is empty"):
        gn.save_parameters(tmp_path / "q.json")
    assert not (tmp_path / "q.json").exists()
    partial, _ = small("exc")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        partial.load_parameters(tmp_path / "p.json")
    assert [(w.filename, w.lineno) for w in caught if "'gone'" in str(w.message)] == [(__file__, line)]
