"""Monitors' recordings in saves and snapshots (``monitors=True``): a resumed run records what the run would have."""
import dataclasses
import warnings
import zipfile

import numpy as np
import orjson
import pytest

import gpunet as gn
from gpunet.errors import FormatError, StructureError
from gpunet.io.formats import FORMATS, state_npz
from gpunet.io.pipeline.restore import LoadWarning


def build(period: float = 3.0, offset: float = 1.0):
    """A small noisy STDP network with monitors on a population, a view and a projection."""
    net = gn.Network(backend="numpy", seed=3)
    pop = net.create(20, gn.Izhikevich, name="exc")
    pop.i_offset = gn.Uniform(0.0, 12.0)
    pop.noise = 2.0
    proj = net.connect(pop, pop, "exc", gn.STDP, name="rec")
    proj.connect_fixed_probability(0.3, weights=0.5, delays=2.0)
    monitors = (net.monitor(pop, ["spike", "v"], period=period, period_offset=offset),
                net.monitor(pop[[7, 2, 5]], ["spike", "u"]),
                net.monitor(proj, ["w", "tau_plus"], period=5.0))
    return net, monitors


def recordings(monitors) -> list:
    data = [m.get() for m in monitors]
    return data + [monitors[0].mean_fr(data[0]), monitors[0].population_rate(data[0]).tolist(),
                   [m.times(v).tolist() for m in monitors for v in m.variables if v != "spike"]]


def assert_same(expected: list, found: list) -> None:
    assert len(expected) == len(found)
    for a, b in zip(expected, found):
        if isinstance(a, dict):
            assert a.keys() == b.keys()
            for key in a:
                if key == "spike":
                    assert a[key] == b[key]
                else:
                    assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key])
        else:
            assert a == b


@pytest.fixture(scope="module")
def uninterrupted():
    net, monitors = build()
    net.simulate(40.0)
    monitors[0].get()  # a get() before the save: the rates' window starts there
    net.simulate(80.0)
    expected = recordings(monitors)
    assert sum(len(train) for train in expected[0]["spike"].values()) > 20  # the test sees spikes
    return expected


def test_a_run_resumed_from_a_snapshot_records_what_the_uninterrupted_run_records(tmp_path, uninterrupted):
    net, monitors = build()
    net.simulate(40.0)
    monitors[0].get()
    net.simulate(30.0, snapshot_every=10.0, snapshot_dir=tmp_path, monitors=True)
    resumed, again = build()
    assert resumed.load_latest(tmp_path).name.endswith("000000000070.npz")
    assert resumed.get_current_step() == 70 and again[0].times("v").size == 10  # steps 40..69 at offset 1
    resumed.simulate(50.0)
    assert_same(uninterrupted, recordings(again))


@pytest.mark.parametrize("blocking", [True, False])
def test_a_run_resumed_from_a_save_records_the_same_and_later_recordings_do_not_reach_the_file(
        tmp_path, uninterrupted, blocking):
    net, monitors = build()
    net.simulate(40.0)
    monitors[0].get()
    net.simulate(30.0)
    handle = net.save(tmp_path / "s.npz", monitors=True, blocking=blocking)
    net.simulate(50.0)  # runs on while a background save is written
    handle.result()
    assert_same(uninterrupted, recordings(monitors))
    resumed, again = build()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every monitor and variable is in the file: no warning
        resumed.load(tmp_path / "s.npz")
    resumed.simulate(50.0)
    assert_same(uninterrupted, recordings(again))


def test_a_paused_monitor_stays_paused_and_keeps_its_session(tmp_path):
    net, (m, view, proj_monitor) = build()
    net.simulate(10.0)
    view.pause()
    net.simulate(5.0)
    net.save(tmp_path / "p.npz", monitors=True)
    resumed, (_, again, _) = build()
    resumed.load(tmp_path / "p.npz")
    assert not again.recording
    resumed.simulate(5.0)
    net.simulate(5.0)
    assert again.times("u").tolist() == view.times("u").tolist() == list(range(10))
    assert again.get("spike") == view.get("spike")


def test_files_saved_without_monitors_hold_no_recordings_and_leave_monitors_alone(tmp_path):
    net, monitors = build()
    net.simulate(10.0)
    net.save(tmp_path / "plain.npz")
    with zipfile.ZipFile(tmp_path / "plain.npz") as archive:
        manifest = orjson.loads(archive.read("manifest.json"))
        assert "monitors" not in manifest and not any(n.startswith("monitor/") for n in archive.namelist())
    net.save(tmp_path / "with.npz", monitors=True)
    other, others = build()
    other.simulate(3.0)
    other.load(tmp_path / "plain.npz")
    assert others[0].times("v").tolist() == [1]  # recorded before the load, kept
    other.load(tmp_path / "with.npz", monitors=False)
    assert others[0].times("v").tolist() == [1]
    other.load(tmp_path / "with.npz")
    assert others[0].times("v").tolist() == [1, 4, 7]


@pytest.mark.parametrize("suffix", [".txt", ".gz", ".mat"])
def test_formats_that_cannot_hold_recordings_refuse_monitors_true(tmp_path, suffix):
    net, _ = build()
    net.simulate(5.0)
    target = tmp_path / f"state{suffix}"
    target.write_bytes(b"previous")
    with pytest.raises(FormatError, match=r"state\.(txt|gz|mat): the state_(pickle|gzip|mat) format .* cannot "
                                          r"hold monitor recordings"):
        net.save(target, monitors=True)
    assert target.read_bytes() == b"previous"
    assert [f.name for f in FORMATS if f.carries_monitors] == ["state_npz", "state_shards"]


def _tampered(tmp_path, change) -> str:
    net, _ = build()
    net.simulate(20.0)
    net.save(tmp_path / "good.npz", monitors=True)
    state = gn.read_state(tmp_path / "good.npz")
    change(state)
    path = tmp_path / "bad.npz"
    state_npz.save(path, state)
    return str(path)


def _set_array(name: str, key: str, value):
    def change(state):
        next(m for m in state.monitors if m.name == name).arrays[key] = value
    return change


@pytest.mark.parametrize("change, message", [
    (_set_array("Monitor_exc", "steps.v", np.array([1, 4, 7, 10, 13, 16, 20])), r"steps must lie in \[0, 20\)"),
    (_set_array("Monitor_exc", "steps.v", np.array([1, 4, 7, 10, 13, 16, 18])), "off the recording period"),
    (_set_array("Monitor_exc", "values.v", np.zeros((7, 19))), r"expected shape \(7, 20\)"),
    (_set_array("Monitor_exc_1", "spike.index", np.full(3, 3)), "spike.index must"),
    (_set_array("Monitor_exc_1", "ranks", np.array([7, 2, 6])), "other neurons"),
    (_set_array("Monitor_rec", "values.w", np.zeros((4, 3))), r"expected shape \(4, \d+\)"),
    (lambda state: setattr(state.monitors[0], "period_steps", 4), "recorded every 4 step"),
    (lambda state: setattr(state.monitors[2], "target", "other"), "records projection 'other'"),
])
def test_recordings_that_do_not_fit_are_refused_and_change_nothing(tmp_path, change, message):
    path = _tampered(tmp_path, change)
    net, monitors = build()
    net.simulate(4.0)
    before = [m.get(keep=True) for m in monitors]
    v_before = net.get_population("exc").v.copy()
    with pytest.raises(StructureError, match=message) as error:
        net.load(path)
    assert path in str(error.value)
    assert net.get_current_step() == 4 and np.array_equal(net.get_population("exc").v, v_before)
    assert_same(before, [m.get(keep=True) for m in monitors])


def test_monitors_missing_on_either_side_warn_and_strict_refuses(tmp_path):
    path = _tampered(tmp_path, lambda state: state.monitors.pop(1))
    net, monitors = build()
    with pytest.warns(LoadWarning, match="no recordings of monitor 'Monitor_exc_1'"):
        net.load(path)
    lone = gn.Network(backend="numpy", seed=3)
    lone.create(20, gn.Izhikevich, name="exc")
    lone.connect(lone.get_population("exc"), lone.get_population("exc"), "exc", gn.STDP,
                 name="rec").connect_fixed_probability(0.3, weights=0.5, delays=2.0)
    with pytest.raises(StructureError, match="monitor 'Monitor_exc', which the network lacks"):
        lone.load(path, strict=True)
    assert lone.get_current_step() == 0


def test_a_malformed_monitor_entry_is_a_format_error(tmp_path):
    net, _ = build()
    net.simulate(3.0)
    state = gn.read_state(_tampered(tmp_path, lambda state: None))
    state.monitors[0] = dataclasses.replace(state.monitors[0], window=(0,))
    path = tmp_path / "malformed.npz"
    state_npz.save(path, state)
    with pytest.raises(FormatError, match=r"malformed\.npz: monitor 'Monitor_exc': malformed manifest entry"):
        gn.read_state(path)


def test_inspect_lists_the_recordings(tmp_path, capsys):
    from gpunet.cli import main
    net, monitors = build()
    net.simulate(10.0)
    monitors[1].pause()
    net.save(tmp_path / "r.npz", monitors=True)
    assert main(["inspect", str(tmp_path / "r.npz")]) == 0
    out = capsys.readouterr().out
    assert "monitor Monitor_exc: population exc, records spike, v every 3 step(s)\n" in out
    assert "monitor Monitor_exc_1: population exc, records spike, u every 1 step(s) (paused)" in out
    assert "values.u         float64[10, 3]" in out and "values.w         float64[2, " in out


def test_verify_checks_the_recordings_a_file_alone_decides(tmp_path):
    from gpunet.io.check import check_state
    good = gn.read_state(_tampered(tmp_path, lambda state: None))
    assert check_state(good, "good.npz") == []
    bad = gn.read_state(_tampered(tmp_path, _set_array("Monitor_exc", "steps.v", np.array([1, 4, 7, 10, 13, 16, 18]))))
    assert any("off the recording period" in problem for problem in check_state(bad, "bad.npz"))
    wide = gn.read_state(_tampered(tmp_path, _set_array("Monitor_exc_1", "values.u", np.zeros((20, 4)))))
    assert any(r"expected shape (20, 3)" in problem for problem in check_state(wide, "wide.npz"))


def test_a_projection_monitor_drops_old_columns_when_the_load_changes_the_synapses(tmp_path):
    net, _ = build()
    net.save(tmp_path / "other.npz")  # no recordings in it
    fresh = gn.Network(backend="numpy", seed=4)  # same names, other connectivity
    pop = fresh.create(20, gn.Izhikevich, name="exc")
    proj = fresh.connect(pop, pop, "exc", gn.STDP, name="rec")
    proj.connect_fixed_probability(0.1, weights=0.5, delays=2.0)
    monitor = fresh.monitor(proj, ["w"], period=5.0, name="Monitor_rec")
    fresh.simulate(10.0)
    assert monitor.times("w").tolist() == [0, 5] and proj.nb_synapses != net.get_projection("rec").nb_synapses
    with pytest.warns(LoadWarning, match="monitor 'Monitor_rec' drops what it recorded before the load"):
        fresh.load(tmp_path / "other.npz")
    fresh.simulate(10.0)
    assert monitor.get("w").shape == (2, net.get_projection("rec").nb_synapses)
