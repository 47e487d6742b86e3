"""save_parameters / load_parameters and the parameter JSON format (issue 5, reference section 2.15.1)."""
from __future__ import annotations

import importlib.util
import json
import math
import re
import struct
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpunet as gn
from gpunet.errors import FormatError, GpunetError, StructureError
from gpunet.io.formats import params_json

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


# -- helpers -------------------------------------------------------------------
def _example_module():
    spec = importlib.util.spec_from_file_location("reference_parameters_example",
                                                  EXAMPLES / "reference_parameters.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


reference_example = _example_module()


def _json_blocks(text: str) -> list[str]:
    """The JSON examples of a documentation text: from a line '{' to the next line '}'."""
    return re.findall(r"^\{\n.*?^\}$", text, flags=re.MULTILINE | re.DOTALL)


@pytest.fixture
def reference_text(fixtures_dir: Path) -> str:
    """The documentation chapter (a copy in tests/data/annarchy) whose examples gpunet's files follow."""
    return (fixtures_dir.parent / "saving-and-loading.txt").read_text()


@pytest.fixture
def reference_blocks(reference_text: str) -> list[str]:
    section = reference_text.split("2.15.1. Global parameters", 1)[1].split("2.15.2.", 1)[0]
    blocks = _json_blocks(section)
    assert len(blocks) >= 2, "expected the parameter file and the 'network' dictionary examples"
    return blocks


def _ordered(value):
    """Dicts as lists of pairs, so that == also compares key order."""
    if isinstance(value, dict):
        return [(key, _ordered(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    return value


def _typed(value):
    """Leaves as (type, value): 1, 1.0 and True compare different."""
    if isinstance(value, dict):
        return [(key, _typed(item)) for key, item in value.items()]
    return (type(value).__name__, value)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _snapshot(net: gn.Network) -> dict:
    """Every attribute (globals and locals) of every object, as host copies."""
    state = {}
    for obj in list(net.populations) + list(net.projections):
        for name in obj.spec.attributes:
            if getattr(obj, "_connected", True) is False:
                continue
            value = getattr(obj, name)
            if isinstance(value, list):
                value = np.concatenate([np.asarray(row, dtype=np.float64) for row in value]) if value else np.zeros(0)
            state[(obj.name, name)] = np.array(value, copy=True)
    return state


def _assert_same(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for key in before:
        assert before[key].dtype == after[key].dtype, key
        assert np.array_equal(before[key], after[key]), key


def _reference_network(size: int = 20) -> gn.Network:
    return reference_example.build(gn.Network(dt=1.0, seed=7, backend="numpy"), size=size)


Bounded = gn.Neuron(parameters="""
        tau = 10.0 : population
        tau_max = 100.0 : population
        gain = 1.0
    """, equations="tau * dv/dt + v = gain : exponential\n r = v", name="Bounded")
# The parser does not read min/max flags on parameters (yet): declare the bounds on the spec directly.
Bounded.spec.attributes["tau"].min = sympy.Integer(1)
Bounded.spec.attributes["tau"].max = sympy.Symbol("tau_max")
Bounded.spec.attributes["gain"].min = sympy.Float(0.0)

Typed = gn.Neuron(parameters="""
        x = 0.5 : population
        n = 3 : population, int
        flag = False : population, bool
        y = 1.0
    """, equations="r = x * sum(exc)", name="Typed")

TypedSynapse = gn.Synapse(parameters="""
        eta = 0.01 : projection
        k = 2 : projection, int
        on = True : projection, bool
        scale = 1.0
    """, equations="dw/dt = eta * pre.r * post.r", name="TypedHebb")


def _typed_network(precision: str = "float64") -> gn.Network:
    net = gn.Network(backend="numpy", seed=3, precision=precision)
    a = net.create(4, Typed, name="a")
    b = net.create(3, Typed, name="b")
    net.connect(a, b, "exc", TypedSynapse, name="ab").connect_all_to_all(weights=0.5)
    return net


# -- the reference's file ----------------------------------------------------------
def test_reference_network_writes_the_reference_json(tmp_path, reference_blocks):
    with pytest.warns(UserWarning, match="trailing comma"):
        reference = params_json.loads(reference_blocks[0].encode(), "reference")
    target = tmp_path / "network.json"
    gn.save_parameters(target, network=_reference_network())
    written = json.loads(target.read_text())  # Python's reader, as ANNarchy uses
    # The reference's example stops after "network" (its trailing comma shows something was cut);
    # the complete layout, as in ANNarchy's own file, ends with an empty "constants".
    assert list(written) == list(reference) + ["constants"]
    assert written["constants"] == {}
    del written["constants"]
    assert _ordered(written) == _ordered(reference)
    assert _typed(written) == _typed(reference)


def test_example_main_writes_the_file(tmp_path, reference_blocks, capsys):
    target = tmp_path / "out" / "network.json"
    reference_example.main([str(target)])
    assert "wrote" in capsys.readouterr().out
    with pytest.warns(UserWarning):
        reference = params_json.loads(reference_blocks[0].encode(), "reference")
    written = params_json.load(target)
    written.pop("constants")
    assert _ordered(written) == _ordered(reference)


def test_saved_text_has_a_four_space_indent_and_no_temporaries(tmp_path):
    target = tmp_path / "network.json"
    _reference_network().save_parameters(target)
    text = target.read_text()
    assert text.startswith('{\n    "populations": {\n        "pop0": {\n            "a": 0.1,\n')
    assert text.endswith('    "network": {},\n    "constants": {}\n}')
    assert all((len(line) - len(line.lstrip(" "))) % 4 == 0 for line in text.splitlines())
    assert [p.name for p in tmp_path.iterdir()] == ["network.json"]


def test_reference_example_with_trailing_commas_loads_with_a_warning(tmp_path, reference_blocks):
    path = _write(tmp_path / "network.json", reference_blocks[0])
    net = _reference_network()
    pop0, pop1, proj0 = net.get_population("pop0"), net.get_population("pop1"), net.get_projection("proj0")
    pop0.a, pop1.tau_nmda, proj0.tau_minus, proj0.A_minus = 0.5, 99.0, 1.0, 1.0
    with pytest.warns(UserWarning, match=r"network\.json: removed 1 trailing comma \(line 33, column 18\)"):
        returned = net.load_parameters(path)
    assert returned == {}
    assert (pop0.a, pop1.a, pop1.tau_nmda, proj0.tau_minus, proj0.A_minus) == (0.1, 0.02, 150.0, 60.0, 6.6e-05)


def test_network_dictionary_example_works_as_the_reference_shows(tmp_path, reference_blocks, monkeypatch):
    # The second example, verbatim (two trailing commas), used through the module-level functions.
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "network.json", reference_blocks[1])
    reference_example.build()  # the default network
    pop1 = gn.default_network().get_population("pop1")
    with pytest.warns(UserWarning, match="removed 2 trailing commas"):
        params = gn.load_parameters("network.json")
    assert params == {"pop1_r_min": 0.1, "pop1_r_max": 1.3}
    pop1.r = gn.Uniform(params["pop1_r_min"], params["pop1_r_max"])
    assert pop1.r.shape == (pop1.size,)
    assert np.all(pop1.r >= 0.1) and np.all(pop1.r < 1.3) and np.ptp(pop1.r) > 0


# -- interchange with ANNarchy's files -----------------------------------------------
def _fixture_network() -> gn.Network:
    net = gn.Network(dt=1.0, seed=2024, backend="numpy")
    exc = net.create(50, gn.Izhikevich, name="PFC_exc")
    inh = net.create(30, gn.Izhikevich(a=0.1, d=2.0), name="PFC_inh")
    proj = net.connect(exc, inh, "exc", gn.STDP, name="PFC_exc_to_inh")
    proj.connect_fixed_probability(0.2, weights=gn.Uniform(0.0, 0.5), delays=2.0)
    return net


def test_annarchy_network_json_loads_into_the_equivalent_network(fixtures_dir):
    net = _fixture_network()
    proj = net.get_projection("PFC_exc_to_inh")
    proj.tau_plus, proj.tau_minus, proj.A_plus, proj.A_minus, proj.w_min, proj.w_max = 25.0, 1.0, 2.0, 3.0, -1.0, 9.0
    before = _snapshot(net)
    assert net.load_parameters(fixtures_dir / "network.json") == {}
    assert [proj.tau_plus, proj.tau_minus, proj.A_plus, proj.A_minus, proj.w_min, proj.w_max] == \
        [20.0, 20.0, 0.01, 0.01, 0.0, 1.0]
    after = _snapshot(net)
    changed = {key for key in before if not np.array_equal(before[key], after[key])}
    assert changed == {("PFC_exc_to_inh", n) for n in ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min",
                                                        "w_max")}
    assert np.all(net.get_population("PFC_inh").a == 0.1) and np.all(net.get_population("PFC_exc").a == 0.02)


def test_files_written_by_gpunet_keep_annarchy_keys(tmp_path, fixtures_dir):
    annarchy = json.loads((fixtures_dir / "network.json").read_text())
    net = _fixture_network()
    net.compile()
    target = tmp_path / "network.json"
    net.save_parameters(target)
    ours = json.loads(target.read_text())
    assert list(ours) == list(annarchy)
    # Izhikevich's parameters are all local, as in ANNarchy: no population has a global parameter to write.
    assert ours["populations"] == annarchy["populations"] == {"PFC_exc": {}, "PFC_inh": {}}
    assert _ordered(ours["projections"]) == _ordered(annarchy["projections"])
    # and the file reads back into a network built the same way
    other = _fixture_network()
    other.load_parameters(target)
    _assert_same(_snapshot(net), _snapshot(other))


# -- errors: type, message, nothing changed ---------------------------------------------
VALID_POP0 = '"pop0": {"a": 0.3, "b": 0.25}'


@pytest.mark.parametrize("text, error, pieces", [
    ('[1, 2]', FormatError, ["top level must be a JSON object", "found an array"]),
    ('"text"', FormatError, ["top level", "found a string"]),
    ('{\n    "populations": {\n        "pop0": {"a": 0.1\n    }\n}', FormatError,
     ["invalid JSON at line 5, column 2"]),
    ('{"populations": {' + VALID_POP0 + ', "pop1": {"a": "0.1"}}}', FormatError,
     ["population 'pop1'", "parameter 'a'", "expected a number or a bool, found str '0.1'"]),
    ('{"populations": {' + VALID_POP0 + ', "pop1": {"a": [0.1, 0.2]}}}', FormatError,
     ["population 'pop1'", "parameter 'a'", "found an array [0.1, 0.2]"]),
    ('{"populations": {' + VALID_POP0 + ', "pop1": {"a": null}}}', FormatError,
     ["population 'pop1'", "parameter 'a'", "found null"]),
    ('{"populations": {' + VALID_POP0 + ', "pop1": {"a": {"value": 1}}}}', FormatError,
     ["population 'pop1'", "parameter 'a'", "found an object"]),
    ('{"populations": {' + VALID_POP0 + ', "pop1": {"v": -60.0}}}', StructureError,
     ["population 'pop1'", "parameter 'v'", "is a variable of model 'IzhikevichAmpaNmda', not a parameter"]),
    ('{"projections": {"proj0": {"w": 0.01}}}', StructureError,
     ["projection 'proj0'", "parameter 'w'", "is a variable"]),
    ('{"populations": {' + VALID_POP0 + ', "pop1": {"i_offset": 2.0}}}', StructureError,
     ["population 'pop1'", "parameter 'i_offset'", "is local", "global_only=False"]),
    ('{"populations": {' + VALID_POP0 + ', "pop1": {"a": NaN}}}', FormatError,
     ["invalid JSON at line 1, column 63", "NaN and Infinity are not JSON"]),
    ('{"populations": {"pop1": {\n"a": Infinity}}}', FormatError, ["line 2, column 6", "finite"]),
    ('{"populations": {"pop1": {"a": -Infinity}}}', FormatError, ["line 1, column 32"]),
    ('{"populations": {"pop1": {"a": 1e999}}}', FormatError, ["line 1, column 32", "infinity"]),
    ('{"projections": {"proj0": {"w_max": true}}}', FormatError,
     ["projection 'proj0'", "parameter 'w_max'", "found bool true"]),
    ('{"populations": [1]}', FormatError, ["'populations' must be a JSON object"]),
    ('{"populations": {"pop0": 0.1}}', FormatError, ["population 'pop0'", "expected a JSON object"]),
    ('{"network": [1]}', FormatError, ["'network' must be a JSON object"]),
    ('', FormatError, ["invalid JSON at line 1, column 1"]),
])
def test_bad_files_raise_and_change_nothing(tmp_path, text, error, pieces):
    path = tmp_path / "bad.json"
    path.write_text(text)
    net = _reference_network()
    net.get_projection("proj0").A_plus = 0.125
    before = _snapshot(net)
    with pytest.raises(error) as caught:
        net.load_parameters(path)
    assert type(caught.value) is error
    message = str(caught.value)
    assert str(path) in message
    for piece in pieces:
        assert piece in message
    _assert_same(before, _snapshot(net))


def test_missing_file(tmp_path):
    net = _reference_network()
    before = _snapshot(net)
    with pytest.raises(FormatError, match=r"missing\.json: no such parameter file") as caught:
        net.load_parameters(tmp_path / "missing.json")
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    with pytest.raises(FormatError, match="is a folder"):
        net.load_parameters(tmp_path)
    _assert_same(before, _snapshot(net))


def test_every_problem_is_listed_at_once_and_nothing_changes(tmp_path):
    path = _write(tmp_path / "p.json", json.dumps({
        "populations": {"pop0": {"a": 0.3}, "pop1": {"a": "x", "v": 1.0, "i_offset": 1.0}},
        "projections": {"proj0": {"w_max": 0.5, "tau_plus": None}},
    }))
    net = _reference_network()
    before = _snapshot(net)
    with pytest.raises(FormatError) as caught:
        net.load_parameters(path)
    message = str(caught.value)
    assert "4 problems, nothing was changed" in message
    for piece in ["'pop1', parameter 'a'", "'pop1', parameter 'v'", "'pop1', parameter 'i_offset'",
                  "'proj0', parameter 'tau_plus'"]:
        assert piece in message
    _assert_same(before, _snapshot(net))


@pytest.mark.parametrize("values, pieces", [
    ({"tau": 0.5}, ["parameter 'tau'", "0.5 is outside its declared range [1.0, 100.0]"]),
    ({"tau": 150.0}, ["parameter 'tau'", "150.0 is outside its declared range [1.0, 100.0]"]),
    ({"tau": 50.0, "tau_max": 20.0}, ["parameter 'tau'", "[1.0, 20.0]"]),  # the max uses the file's tau_max
])
def test_values_outside_declared_bounds_are_refused(tmp_path, values, pieces):
    net = gn.Network(backend="numpy", seed=1)
    pop = net.create(5, Bounded, name="leaky")
    path = _write(tmp_path / "bounds.json", json.dumps({"populations": {"leaky": values}}))
    before = _snapshot(net)
    with pytest.raises(FormatError) as caught:
        net.load_parameters(path)
    assert "population 'leaky'" in str(caught.value) and "bounds.json" in str(caught.value)
    for piece in pieces:
        assert piece in str(caught.value)
    _assert_same(before, _snapshot(net))
    # within bounds (the new tau_max allows a larger tau); a local bound is checked too
    _write(path, json.dumps({"populations": {"leaky": {"tau": 150.0, "tau_max": 200.0}}}))
    net.load_parameters(path)
    assert (pop.tau, pop.tau_max) == (150.0, 200.0)
    _write(path, json.dumps({"populations": {"leaky": {"gain": -1.0}}}))
    with pytest.raises(FormatError, match=r"parameter 'gain': -1.0 is outside its declared range \[0.0, inf\]"):
        net.load_parameters(path, global_only=False)


@pytest.mark.parametrize("values, error_piece", [
    ({"n": 2.5}, "expected an integer for this int parameter, found 2.5"),
    ({"n": 2 ** 63}, "within 64 bits"),
    ({"n": True}, "expected a number for this int parameter, found bool true"),
    ({"flag": 0.5}, "expected a bool (true/false, or 0/1) for this bool parameter, found 0.5"),
    ({"x": False}, "expected a number for this float parameter, found bool false"),
])
def test_values_of_the_wrong_kind_are_refused(tmp_path, values, error_piece):
    net = _typed_network()
    path = _write(tmp_path / "typed.json", json.dumps({"populations": {"a": values}}))
    before = _snapshot(net)
    with pytest.raises(FormatError) as caught:
        net.load_parameters(path)
    assert error_piece in str(caught.value)
    _assert_same(before, _snapshot(net))


def test_integral_floats_and_numeric_bools_are_converted(tmp_path):
    net = _typed_network()
    path = _write(tmp_path / "typed.json", json.dumps({"populations": {"a": {"n": 7.0, "flag": 1, "x": 2}}}))
    net.load_parameters(path)
    pop = net.get_population("a")
    assert _typed({"n": pop.n, "flag": pop.flag, "x": pop.x}) == _typed({"n": 7, "flag": True, "x": 2.0})


def test_an_unconnected_projection(tmp_path):
    net = gn.Network(backend="numpy", seed=1)
    pop = net.create(3, gn.Izhikevich, name="p")
    net.connect(pop, pop, "exc", gn.STDP(tau_plus=15.0), name="loop")
    target = tmp_path / "p.json"
    net.save_parameters(target)  # globals exist before connect
    assert params_json.load(target)["projections"]["loop"]["tau_plus"] == 15.0
    _write(target, json.dumps({"projections": {"loop": {"tau_plus": 30.0}}}))
    net.load_parameters(target)
    assert net.get_projection("loop").tau_plus == 30.0
    local = gn.Synapse(parameters="eta = 0.1", pre_spike="g_target += w")
    net.connect(pop, pop, "inh", local, name="plain")
    _write(target, json.dumps({"projections": {"plain": {"eta": 0.5}, "loop": {"tau_plus": 40.0}}}))
    with pytest.raises(StructureError, match=r"projection 'plain' is not connected yet"):
        net.load_parameters(target, global_only=False)
    assert net.get_projection("loop").tau_plus == 30.0


# -- unknown names ------------------------------------------------------------------------
def test_unknown_objects_warn_and_their_values_go_nowhere(tmp_path):
    # ANNarchy would apply popX's values to pop0 (the object named before it).
    path = _write(tmp_path / "p.json", json.dumps({
        "populations": {"pop0": {"a": 0.3}, "popX": {"a": 0.9, "b": 0.7}, "pop1": {"b": 0.4}},
        "projections": {"projX": {"w_max": 0.9}, "proj0": {"w_max": 0.05}},
    }))
    net = _reference_network()
    before = _snapshot(net)
    with pytest.warns(UserWarning) as caught:
        net.load_parameters(path)
    messages = [str(w.message) for w in caught]
    assert any("no population 'popX'" in m and "'pop0', 'pop1'" in m and "p.json" in m for m in messages)
    assert any("no projection 'projX'" in m and "'proj0'" in m for m in messages)
    after = _snapshot(net)
    changed = {key for key in before if not np.array_equal(before[key], after[key])}
    assert changed == {("pop0", "a"), ("pop1", "b"), ("proj0", "w_max")}
    assert (after[("pop0", "a")], after[("pop0", "b")], after[("pop1", "b")]) == (0.3, 0.2, 0.4)


def test_unknown_parameters_warn_and_the_rest_is_applied(tmp_path):
    path = _write(tmp_path / "p.json", json.dumps({"populations": {"pop0": {"zeta": 1.0, "a": 0.3}},
                                                   "projections": {"proj0": {"tau_plus": 10.0, "eta": 2.0}}}))
    net = _reference_network()
    with pytest.warns(UserWarning) as caught:
        net.load_parameters(path)
    messages = [str(w.message) for w in caught]
    assert any("population 'pop0' has no parameter 'zeta'" in m and "a, b, c, d, tau_ampa" in m for m in messages)
    assert any("projection 'proj0' has no parameter 'eta'" in m and
               "tau_plus, tau_minus, A_plus, A_minus, w_max" in m for m in messages)
    assert net.get_population("pop0").a == 0.3 and net.get_projection("proj0").tau_plus == 10.0


def test_unknown_top_level_keys_and_constants_warn(tmp_path):
    path = _write(tmp_path / "p.json", json.dumps({"neurons": {}, "constants": {"k": 1.0}}))
    net = _reference_network()
    with pytest.warns(UserWarning) as caught:
        assert net.load_parameters(path) == {}
    messages = " | ".join(str(w.message) for w in caught)
    assert "unknown top-level key(s) 'neurons'" in messages and "constant 'k' does not exist" in messages


# -- constants (ANNarchy's "constants": {name: value}) ---------------------------------
def test_constants_are_written_with_their_current_values_and_set_on_load(tmp_path):
    tau = gn.Constant("tau_k", 20.0)
    gn.Constant("gain_k", 2.0)
    net = gn.Network(backend="numpy")
    net.create(3, gn.Neuron(equations="tau_k * dr/dt + r = gain_k"), name="p")
    tau.set(15.0)
    net.save_parameters(tmp_path / "p.json")
    assert json.loads((tmp_path / "p.json").read_text())["constants"] == {"tau_k": 15.0, "gain_k": 2.0}
    content = json.loads((tmp_path / "p.json").read_text())
    content["constants"] = {"tau_k": 40.0}
    _write(tmp_path / "q.json", json.dumps(content))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.load_parameters(tmp_path / "q.json")
    # as ANNarchy's load_parameters: the constant is set (models defined from now on read 40)
    assert gn.Neuron(equations="tau_k * dr/dt + r = 1.0").spec.equations[0].expr == sympy.sympify("0.025 - 0.025*r")


def test_constants_of_equal_values_are_set_one_by_one(tmp_path):
    gn.Constant("c_one", 1.0), gn.Constant("c_two", 1.0)
    net = gn.Network(backend="numpy")
    assert [c.name for c in net.get_constants()] == ["c_one", "c_two"]
    net.load_parameters(_write(tmp_path / "p.json", json.dumps({"constants": {"c_two": 3.0}})))
    net.save_parameters(tmp_path / "q.json")
    assert json.loads((tmp_path / "q.json").read_text())["constants"] == {"c_one": 1.0, "c_two": 3.0}


def test_a_bad_constant_changes_nothing(tmp_path):
    gn.Constant("tau_k", 20.0)
    net = gn.Network(backend="numpy")
    pop = net.create(3, gn.LeakyIntegrator, name="p")
    path = _write(tmp_path / "p.json", json.dumps({"populations": {"p": {"tau": 5.0}},
                                                    "constants": {"tau_k": "fast"}}))
    with pytest.raises(FormatError, match="constant 'tau_k': expected a finite number"):
        net.load_parameters(path)
    assert pop.tau == 10.0
    net.save_parameters(tmp_path / "same.json")
    assert json.loads((tmp_path / "same.json").read_text())["constants"] == {"tau_k": 20.0}


# -- sections, global_only, verbose, compile -----------------------------------------
@pytest.mark.parametrize("content", [
    {}, {"populations": {"pop0": {"a": 0.3}}}, {"projections": {"proj0": {"w_max": 0.05}}},
    {"network": {"k": 1}}, {"populations": {}, "projections": {}},
])
def test_missing_sections_are_accepted(tmp_path, content):
    path = _write(tmp_path / "p.json", json.dumps(content))
    net = _reference_network()
    assert net.load_parameters(path) == content.get("network", {})
    if "pop0" in content.get("populations", {}):
        assert net.get_population("pop0").a == 0.3
    if "proj0" in content.get("projections", {}):
        assert net.get_projection("proj0").w_max == 0.05


def test_global_only_false_sets_local_parameters_everywhere(tmp_path):
    net = _typed_network()
    path = _write(tmp_path / "p.json", json.dumps({"populations": {"b": {"y": -2.5, "x": 4.0}},
                                                   "projections": {"ab": {"scale": 3.0, "k": 9}}}))
    with pytest.raises(StructureError, match="is local"):
        net.load_parameters(path)
    net.load_parameters(path, global_only=False)
    pop, proj = net.get_population("b"), net.get_projection("ab")
    assert np.array_equal(pop.y, np.full(3, -2.5)) and pop.x == 4.0
    assert np.array_equal(np.concatenate(proj.scale), np.full(12, 3.0)) and proj.k == 9
    assert np.array_equal(net.get_population("a").y, np.full(4, 1.0))
    _write(path, json.dumps({"populations": {"b": {"r": 1.0}}}))
    with pytest.raises(StructureError, match="is a variable"):
        net.load_parameters(path, global_only=False)


def test_verbose_prints_what_was_set(tmp_path, capsys):
    path = _write(tmp_path / "p.json", json.dumps({"populations": {"b": {"x": 4.0, "y": 1.5}},
                                                   "projections": {"ab": {"k": 5}}}))
    net = _typed_network()
    net.load_parameters(path, global_only=False, verbose=True)
    out = capsys.readouterr().out.splitlines()
    assert out == ["population 'b': x = 4.0 (was 0.5)",
                   "population 'b': y = 1.5 (local: set for every neuron)",
                   "projection 'ab': k = 5 (was 2)"]
    net.load_parameters(path, global_only=False)
    assert capsys.readouterr().out == ""


def test_works_before_and_after_compile(tmp_path):
    net = gn.Network(dt=1.0, backend="numpy", seed=1)
    pop = net.create(3, gn.LeakyIntegrator, name="li")
    path = tmp_path / "p.json"
    _write(path, json.dumps({"populations": {"li": {"tau": 4.0, "B": 1.0}}}))
    net.load_parameters(path, global_only=False)
    net.compile()
    net.simulate(1.0)
    np.testing.assert_allclose(pop.v, 1.0 - math.exp(-1.0 / 4.0))
    _write(path, json.dumps({"populations": {"li": {"tau": 2.0, "B": 2.0}}}))
    net.load_parameters(path, global_only=False)
    assert (pop.tau, pop.B[0]) == (2.0, 2.0)
    previous = pop.v.copy()
    net.simulate(1.0)  # the compiled update uses the new values
    np.testing.assert_allclose(pop.v, previous + (2.0 - previous) * (1.0 - math.exp(-0.5)))
    net.save_parameters(path)
    assert params_json.load(path)["populations"] == {"li": {"tau": 2.0, "T": 0.0}}


def test_module_level_functions_use_the_default_network(tmp_path):
    pop = gn.Population(5, gn.LeakyIntegrator, name="exc")
    pop.tau = 6.0
    path = tmp_path / "p.json"
    gn.save_parameters(path)
    pop.tau = 1.0
    assert gn.load_parameters(path) == {}
    assert pop.tau == 6.0


def test_current_values_are_written_not_definition_values(tmp_path):
    net = _fixture_network()
    net.compile()
    proj = net.get_projection("PFC_exc_to_inh")
    proj.tau_plus = 25.0  # ANNarchy's file says 20.0 here (fixtures' describe.txt)
    net.save_parameters(tmp_path / "p.json")
    assert params_json.load(tmp_path / "p.json")["projections"]["PFC_exc_to_inh"]["tau_plus"] == 25.0


# -- round trip ----------------------------------------------------------------------------
finite = st.floats(allow_nan=False, allow_infinity=False)
int64 = st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries({
    ("a", "x"): finite, ("a", "n"): int64, ("a", "flag"): st.booleans(),
    ("b", "x"): finite, ("b", "n"): int64, ("b", "flag"): st.booleans(),
    ("ab", "eta"): finite, ("ab", "k"): int64, ("ab", "on"): st.booleans(),
}), precision=st.sampled_from(["float64", "float32"]))
def test_round_trip_of_random_global_values(values, precision):
    net = _typed_network(precision)
    objects = {obj.name: obj for obj in list(net.populations) + list(net.projections)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # float64 values beyond float32 become inf
        for (owner, name), value in values.items():
            setattr(objects[owner], name, value)
    expected = {key: getattr(objects[key[0]], key[1]) for key in values}
    if not all(math.isfinite(v) for v in expected.values()):
        return  # a float32 overflow: not a finite parameter any more (save refuses it, tested below)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.json"
        net.save_parameters(path)
        for (owner, name), value in values.items():  # change everything
            setattr(objects[owner], name, (not value) if isinstance(value, bool) else
                    (0 if isinstance(value, int) else 12.5))
        net.load_parameters(path)
    got = {key: getattr(objects[key[0]], key[1]) for key in values}
    assert _typed(got) == _typed(expected)


@pytest.mark.gpu
def test_round_trip_on_the_gpu_backend(tmp_path):
    net = reference_example.build(gn.Network(backend="cupy", seed=5), size=20)
    net.compile()
    net.simulate(5.0)
    path = tmp_path / "p.json"
    net.save_parameters(path)
    before = _snapshot(net)
    pop0, proj0 = net.get_population("pop0"), net.get_projection("proj0")
    pop0.a, proj0.w_max = 0.5, 0.5
    net.load_parameters(path)
    _assert_same(before, _snapshot(net))
    net.simulate(5.0)


def test_save_refuses_non_finite_values(tmp_path):
    net = _typed_network()
    net.get_population("b").x = float("nan")
    with pytest.raises(FormatError, match="parameters/populations/b/x: nan cannot be written"):
        net.save_parameters(tmp_path / "p.json")
    assert not list(tmp_path.iterdir())


# -- the format module ---------------------------------------------------------------------
json_scalars = st.none() | st.booleans() | int64 | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=4) |
                           st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_dumps_matches_python_json_indent_4(value):
    text = params_json.dumps(value)
    assert text.decode() == json.dumps(value, indent=4, ensure_ascii=False)
    assert params_json.loads(text) == value


@settings(max_examples=500, deadline=None)
@given(number=finite)
def test_floats_round_trip_exactly(number):
    back = params_json.loads(params_json.dumps({"x": number}))["x"]
    assert type(back) is float
    assert struct.pack("<d", back) == struct.pack("<d", number)


def test_dumps_keeps_types_and_converts_numpy_scalars():
    text = params_json.dumps({"i": 3, "b": True, "f": 3.0, "n": np.float32(0.5), "m": np.int64(4),
                              "k": np.bool_(False)})
    assert _typed(json.loads(text)) == _typed({"i": 3, "b": True, "f": 3.0, "n": 0.5, "m": 4, "k": False})


@pytest.mark.parametrize("value, piece", [
    ({"x": float("inf")}, "parameters/x: inf cannot be written"),
    ({"x": [1.0, float("-inf")]}, "parameters/x[1]: -inf"),
    ({1: 2}, "key 1 is a int"),
    ({"x": object()}, "a object cannot be written"),
    ({"x": 2 ** 64}, "does not fit in 64 bits"),
])
def test_dumps_refuses_what_json_cannot_hold(value, piece):
    with pytest.raises(FormatError) as caught:
        params_json.dumps(value)
    assert piece in str(caught.value)


def test_strings_with_spaces_and_newlines_keep_their_content():
    value = {"  key\n  with": {"\n    ": "  a\n    b\t\"c\"  ", "": [" x ", {"y\n  ": "  "}]}}
    text = params_json.dumps(value)
    assert params_json.loads(text) == value
    assert text.decode() == json.dumps(value, indent=4, ensure_ascii=False)


@pytest.mark.parametrize("text, commas, expected", [
    ('{"a": 1,}', 1, {"a": 1}),
    ('{"a": [1, 2,],}', 2, {"a": [1, 2]}),
    ('{"a": {"b": {},\n},\n}', 2, {"a": {"b": {}}}),
    ('{"a,}": "],",}', 1, {"a,}": "],"}),
    ('{"a": "\\",}",}', 1, {"a": '",}'}),
    ('{"a": "\\\\",}', 1, {"a": "\\"}),
])
def test_trailing_commas_outside_strings_are_removed_with_a_warning(text, commas, expected):
    with pytest.warns(UserWarning, match=f"removed {commas} trailing comma"):
        assert params_json.loads(text.encode(), "t.json") == expected


@pytest.mark.parametrize("text, piece", [
    ('{,}', "line 1, column 2"),
    ('{"a": 1,,}', "line 1, column 9"),
    ('{"a": 1,}\n{', "line 2, column 1"),  # located in the original text
    ('{"a": [1,],\n "b": x}', "line 2, column 7"),
])
def test_other_syntax_errors_are_located(text, piece):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FormatError) as caught:
            params_json.loads(text.encode(), "t.json")
    assert "t.json: invalid JSON at " + piece in str(caught.value)


def test_invalid_utf8_is_a_format_error(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes('{"network": {"caf\xe9": 1}}'.encode("latin-1"))
    with pytest.raises(FormatError, match=r"latin\.json: not UTF-8 text at line 1, column 18 \(byte 17\)"):
        gn.Network(backend="numpy").load_parameters(path)


def test_duplicate_keys_warn_and_the_last_value_wins():
    with pytest.warns(UserWarning, match=r"t\.json: duplicate key\(s\) 'a', 'p' in one object"):
        value = params_json.loads(b'{"p": {"a": 1, "b": 2, "a": 3}, "p": {"a": 4, "a": 5}}', "t.json")
    assert value == {"p": {"a": 5}}


def test_byte_order_mark_is_ignored():
    assert params_json.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_inspect_summarizes_a_file(tmp_path, fixtures_dir):
    summary = params_json.inspect(fixtures_dir / "network.json")
    assert summary["format"] == "parameters-json" and summary["bytes"] == 350
    assert summary["populations"] == {"PFC_exc": [], "PFC_inh": []}
    assert summary["projections"] == {"PFC_exc_to_inh": ["tau_plus", "tau_minus", "A_plus", "A_minus", "w_min",
                                                         "w_max"]}
    assert summary["network"] == [] and summary["constants"] == [] and summary["other_keys"] == []
    with pytest.raises(FormatError, match="no such parameter file"):
        params_json.inspect(tmp_path / "nothing.json")


def test_errors_are_gpunet_and_value_errors(tmp_path):
    with pytest.raises(GpunetError):
        params_json.load(tmp_path / "nothing.json")
    with pytest.raises(ValueError):
        params_json.loads(b"{")
