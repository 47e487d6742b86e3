"""The file tools tell the truth (issue 18, class 7).

``verify`` says OK exactly when a load into a network that fits the file
accepts it (a structure-aware generator of damaged states checks the two
verdicts against each other), ``diff`` sees every difference a file can hold,
and no input makes the command print a traceback.
"""
import copy
import io
import subprocess
import sys
import warnings
from argparse import Namespace
from pathlib import Path

import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gpunet as gn
from gpunet.commands import files
from gpunet.errors import GpunetError
from gpunet.io.api import serializer_for
from gpunet.io.storage.atomic import atomic_writer
from gpunet.io.state_diff import compare_states

sys.path.insert(0, str(Path(__file__).parent / "io"))
from helpers import small_network  # noqa: E402

LONG = os.environ.get("GPUNET_TEST_PROFILE") == "long"  # the fuzzing profile (tests/conftest.py)


def gpunet(*args):
    """The command in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "gpunet", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def gpunet_here(capsys, *args):
    """The command in this process (fast): (exit status, stdout, stderr)."""
    from gpunet import cli
    try:
        status = cli.main([str(a) for a in args])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write_state(state, path: Path) -> Path:
    with atomic_writer(path, fsync=False) as stream:
        serializer_for(path)(state, stream)
    return path


@pytest.fixture(scope="module")
def base_state(tmp_path_factory):
    net = small_network(seed=3, neurons=20)
    net.simulate(25.0)
    path = tmp_path_factory.mktemp("base") / "state.npz"
    gn.save(path, network=net)
    return gn.read_state(path)


def verify_verdict(path: Path) -> tuple[int, str]:
    out = io.StringIO()
    from contextlib import redirect_stdout
    with redirect_stdout(out):
        status = files.verify_file(Namespace(file=str(path)))
    return status, out.getvalue()


def load_verdict(path: Path) -> bool:
    net = small_network(seed=3, neurons=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            net.load(path)
        except GpunetError:
            return False
    return True


# -- verify --------------------------------------------------------------------------------------------------

def _duplicate_synapse(state):
    proj = state.projections[0]
    row = int(np.argmax(np.diff(proj.row_ptr) >= 2))
    start = int(proj.row_ptr[row])
    pre = np.array(proj.pre_ranks)
    pre[start + 1] = pre[start]
    proj.pre_ranks = pre


def _short_last_event(state):
    proj = state.projections[0]
    proj.internal["_last_event"] = proj.internal["_last_event"][:-1]


@pytest.mark.parametrize("damage", [_duplicate_synapse, _short_last_event])
def test_verify_fails_files_that_load_refuses(base_state, tmp_path, damage):
    state = copy.deepcopy(base_state)
    damage(state)
    path = write_state(state, tmp_path / "bad.npz")
    assert not load_verdict(path)
    status, text = verify_verdict(path)
    assert status == 1 and text.startswith(f"FAIL {path}"), text


def test_verify_ok_for_a_good_file_in_every_format(base_state, tmp_path):
    for suffix in (".npz", ".txt", ".gz", ".mat"):
        path = write_state(base_state, tmp_path / f"good{suffix}")
        status, text = verify_verdict(path)
        assert status == 0 and text.startswith("OK"), text
        assert load_verdict(path)


def _set(obj_kind, name_key, value_fn):
    def damage(state):
        obj = (state.populations if obj_kind == "pop" else state.projections)[0]
        where, key = name_key
        container = getattr(obj, where)
        container[key] = value_fn(np.asarray(container[key]))
    return damage


def _set_field(field, value_fn):
    def damage(state):
        proj = state.projections[0]
        setattr(proj, field, value_fn(np.asarray(getattr(proj, field))))
    return damage


def _set_step(value):
    def damage(state):
        state.step = value
    return damage


# Damages a file can carry, each decided by the file alone (structure-aware: they keep the file readable).
DAMAGES = {
    "duplicate synapse": _duplicate_synapse,
    "short _last_event": _short_last_event,
    "long _last_event": _set("proj", ("internal", "_last_event"), lambda a: np.concatenate([a, a[:1]])),
    "fractional _last_event": _set("proj", ("internal", "_last_event"), lambda a: a + 0.5),
    "short _last_spike": _set("pop", ("internal", "_last_spike"), lambda a: a[:-1]),
    "fractional _last_spike": _set("pop", ("internal", "_last_spike"), lambda a: a + 0.25),
    "nan _refractory": _set("pop", ("internal", "_refractory"), lambda a: np.full(a.shape, np.nan)),
    "narrow _spike_history": _set("pop", ("internal", "_spike_history"), lambda a: a[:, :-1]),
    "short v": _set("pop", ("values", "v"), lambda a: a[:-2]),
    "short w": _set("proj", ("values", "w"), lambda a: a[:-1]),
    "negative pre rank": _set_field("pre_ranks", lambda a: np.concatenate([[-1], a[1:]])),
    "pre rank past the population": _set_field("pre_ranks", lambda a: np.concatenate([a[:-1], [10 ** 6]])),
    "descending post ranks": _set_field("post_ranks", lambda a: a[::-1].copy()),
    "nan delay": _set_field("delays", lambda a: np.full(a.shape, np.nan)),
    "negative delay": _set_field("delays", lambda a: -np.abs(a) - 1.0),
    "delays of the wrong count": _set_field("delays", lambda a: np.full(3, 2.0)),
    "negative step": _set_step(-4),
    "nothing": lambda state: None,
    "fewer weights, same count": _set("proj", ("values", "w"), lambda a: a * 0.5),
    "other last spikes": _set("pop", ("internal", "_last_spike"), lambda a: a - 1),
}


@settings(max_examples=1000 if LONG else 30)
@given(names=st.lists(st.sampled_from(sorted(DAMAGES)), min_size=1, max_size=3, unique=True),
       suffix=st.sampled_from([".npz", ".txt"]))
def test_verify_says_ok_exactly_when_load_accepts(base_state, tmp_path_factory, names, suffix):
    state = copy.deepcopy(base_state)
    for name in names:
        DAMAGES[name](state)
    path = tmp_path_factory.mktemp("damaged") / f"state{suffix}"
    try:
        write_state(state, path)
    except (GpunetError, ValueError, TypeError, IndexError):
        return  # the writer itself refuses this state: nothing to verify
    status, text = verify_verdict(path)
    VERDICTS.append(status)
    assert (status == 0) == load_verdict(path), (names, text)


VERDICTS: list = []


def test_the_generator_made_both_verdicts():
    """Runs after the property test (file order): the damaged files were not all good or all bad."""
    if VERDICTS:
        assert 0 in VERDICTS and 1 in VERDICTS


def test_verify_never_prints_a_traceback_on_garbage(tmp_path, capsys):
    cases = {"empty.npz": b"", "text.npz": b"hello", "zip-ish.npz": b"PK\x03\x04" + b"\x00" * 40,
             "pickle.txt": b"\x80\x05K\x01.", "gz.gz": b"\x1f\x8b\x08\x00garbage", "mat.mat": b"MATLAB 5.0" + b"\0" * 200,
             "list.txt": b"\x80\x05]\x94.", "dict.txt": b"\x80\x05}\x94.", "missing.npz": None}
    for name, data in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        status, out, err = gpunet_here(capsys, "verify", path)
        assert status == 1 and out.startswith("FAIL") and err == "", (name, out, err)


# -- diff ----------------------------------------------------------------------------------------------------

def _change(state, what):
    pop, proj = state.populations[0], state.projections[0]
    if what == "seed":
        state.seed = state.seed + 1
    elif what == "dt":
        state.dt = 0.5
    elif what == "spike history":
        history = np.array(pop.internal["_spike_history"])
        history[0, 0] = ~history[0, 0]
        pop.internal["_spike_history"] = history
    elif what == "last spike":
        last = np.array(pop.internal["_last_spike"])
        last[3] += 1
        pop.internal["_last_spike"] = last
    elif what == "last event":
        last = np.array(proj.internal["_last_event"])
        last[5] += 7
        proj.internal["_last_event"] = last
    elif what == "refractory":
        refractory = np.array(pop.internal["_refractory"])
        refractory[1] += 2
        pop.internal["_refractory"] = refractory
    elif what == "global parameter":
        proj.values["tau_plus"] = np.asarray(float(proj.values["tau_plus"]) + 1e-9)
    elif what == "model":
        proj.model = "Hebb"
    elif what == "target":
        proj.target = "inh"
    elif what == "delays":
        proj.delays = np.asarray(float(np.ravel(proj.delays)[0]) + 1.0)
    elif what == "nan in v":
        v = np.array(pop.values["v"])
        v[0] = np.nan
        pop.values["v"] = v


CHANGES = ["seed", "dt", "spike history", "last spike", "last event", "refractory", "global parameter", "model",
           "target", "delays", "nan in v"]


@pytest.mark.parametrize("what", CHANGES)
def test_diff_reports_every_kind_of_difference(base_state, tmp_path, what):
    changed = copy.deepcopy(base_state)
    _change(changed, what)
    a = write_state(base_state, tmp_path / "a.npz")
    b = write_state(changed, tmp_path / "b.npz")
    lines = compare_states(gn.read_state(a), gn.read_state(b))
    assert len(lines) == 1, lines
    label = {"spike history": "_spike_history", "last spike": "_last_spike", "last event": "_last_event",
             "refractory": "_refractory", "global parameter": ".tau_plus:", "nan in v": ".v:"}.get(what, what)
    assert label in lines[0]


def test_diff_command_reports_seed_and_extra_state(base_state, tmp_path):
    changed = copy.deepcopy(base_state)
    for what in ("seed", "spike history", "last spike", "last event"):
        _change(changed, what)
    a = write_state(base_state, tmp_path / "a.npz")
    b = write_state(changed, tmp_path / "b.npz")
    result = gpunet("diff", a, b)
    assert result.returncode == 1
    assert f"seed: {base_state.seed} != {base_state.seed + 1}" in result.stdout
    for key in ("pop0._spike_history", "pop0._last_spike", "proj0._last_event"):
        assert key in result.stdout
    same = gpunet("diff", a, write_state(base_state, tmp_path / "a.txt"))
    assert same.returncode == 0 and "no differences" in same.stdout, same.stdout


def test_diff_sees_one_uniform_delay_and_the_same_delay_per_synapse_as_equal(base_state):
    per_synapse = copy.deepcopy(base_state)
    proj = per_synapse.projections[0]
    assert np.ndim(proj.delays) == 0
    proj.delays = np.full(proj.nb_synapses, float(proj.delays))
    assert compare_states(base_state, per_synapse) == []
    proj.delays[4] += 1.0
    (line,) = compare_states(base_state, per_synapse)
    assert line.startswith("proj0.delays: max |a - b| = 1, first difference at index [4]")


def test_diff_treats_nan_as_equal_and_compares_ints_exactly():
    out = []
    from gpunet.io.state_diff import compare_arrays
    compare_arrays("x", np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), out)
    compare_arrays("big", np.array([2 ** 62], dtype=np.int64), np.array([2 ** 62 + 1], dtype=np.int64), out)
    assert len(out) == 1 and out[0].startswith("big:")


# -- demo arguments ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments", [("--duration", "inf"), ("--duration", "nan"), ("--duration", "-5"),
                                       ("--duration", "0"), ("--duration", "1e300"), ("--neurons", "0"),
                                       ("--neurons", "-3"), ("--seed", "-1"), ("--snapshot-every", "inf")])
def test_demo_refuses_impossible_values_in_one_line(arguments, tmp_path, capsys):
    status, out, err = gpunet_here(capsys, "demo", "--backend", "numpy", *arguments, "--out", tmp_path / "o")
    assert status == 2 and "Traceback" not in err and not (tmp_path / "o").exists()
    assert f"argument {arguments[0]}" in err.strip().splitlines()[-1]


def test_demo_duration_inf_in_a_subprocess(tmp_path):
    result = gpunet("demo", "--backend", "numpy", "--duration", "inf", "--out", tmp_path / "o")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("expected a finite number of ms > 0, got 'inf'")


def test_an_unexpected_error_is_one_line_too(tmp_path, monkeypatch, capsys):
    from gpunet import cli

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(files, "inspect_file", broken)
    monkeypatch.setattr(cli.files, "inspect_file", broken)
    parser_status = cli.main(["inspect", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err
    assert parser_status == 2 and len(err.strip().splitlines()) == 1 and "internal error (RuntimeError" in err


def test_convert_refuses_to_drop_monitor_recordings_unless_asked(tmp_path):
    """A state with recordings converts to .npz whole; to a format that cannot hold them only on request."""
    net = gn.Network(backend="numpy", seed=2)
    pop = net.create(4, gn.Izhikevich, name="pop")
    pop.i_offset = 10.0
    net.monitor(pop, ["spike", "v"], name="m")
    net.simulate(20.0)
    source = tmp_path / "rec.npz"
    net.save(source, monitors=True)
    refused = gpunet("convert", source, tmp_path / "rec.txt")
    assert refused.returncode == 2 and "'m'" in refused.stderr and "--drop-recordings" in refused.stderr
    assert not (tmp_path / "rec.txt").exists()
    kept = gpunet("convert", source, tmp_path / "copy.npz")
    assert kept.returncode == 0
    assert [m.name for m in gn.read_state(tmp_path / "copy.npz").monitors] == ["m"]
    dropped = gpunet("convert", source, tmp_path / "rec.txt", "--drop-recordings")
    assert dropped.returncode == 0 and "dropped" in dropped.stderr
    converted = gn.read_state(tmp_path / "rec.txt")
    assert converted.monitors == [] and converted.step == 20


def test_diff_compares_monitor_recordings(tmp_path):
    """Two saves of the same run whose monitors recorded different steps differ in the monitor alone."""
    paths = []
    for late_start in (False, False, True):
        net = gn.Network(backend="numpy", seed=2)
        pop = net.create(4, gn.Izhikevich, name="pop")
        pop.i_offset = 10.0
        monitor = net.monitor(pop, ["spike", "v"], name="m", start=not late_start)
        net.simulate(3.0)
        monitor.resume()
        net.simulate(7.0)
        paths.append(tmp_path / f"r{len(paths)}.npz")
        net.save(paths[-1], monitors=True)
    assert compare_states(gn.read_state(paths[0]), gn.read_state(paths[1])) == []
    lines = compare_states(gn.read_state(paths[0]), gn.read_state(paths[2]))
    assert lines and all(line.startswith("monitor m.") for line in lines), lines
    plain = tmp_path / "plain.npz"
    net.save(plain)
    assert compare_states(gn.read_state(paths[2]), gn.read_state(plain)) == ["monitor m: only in A"]
