"""gpunet's built-in models are ANNarchy 5's models: names, order, flags, defaults, initial values, methods, text.

``tests/data/annarchy/models.json`` is what ANNarchy 5.0.4.1 defines (written by ``make_fixtures.py --models``);
every built-in model is compared against it here, and, where ANNarchy is installed, the installed ANNarchy's
definitions are compared against the committed file and against gpunet.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy

import gpunet
from gpunet import model as builtins
from gpunet.model import Neuron, Synapse

DATA = Path(__file__).resolve().parents[1] / "data" / "annarchy"
MODELS = json.loads((DATA / "models.json").read_text())["models"]
CTYPES = {"double": "float", "int": "int", "bool": "bool"}


def _evaluate(value, spec) -> float:
    """A gpunet init (a number or an expression of parameters) at the model's defaults."""
    if isinstance(value, sympy.Basic):
        defaults = {sympy.Symbol(n): a.init for n, a in spec.attributes.items() if a.is_parameter}
        return float(value.subs(defaults))
    return float(value)


def _annarchy_text_model(definition: dict):
    """ANNarchy's model text, parsed by gpunet's own parser."""
    text = definition["text"]
    if definition["kind"] == "neuron":
        spiking = definition["type"] == "spike"
        return Neuron(parameters=text["parameters"], equations=text["equations"],
                      spike=text["spike"] if spiking else None, reset=text["reset"] or None,
                      refractory=text["refractory"], name=definition["annarchy"])
    return Synapse(parameters=text["parameters"], equations=text["equations"], psp=text["psp"],
                   pre_spike=text["pre_spike"], post_spike=text["post_spike"], name=definition["annarchy"])


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = sympy.sympify(a), sympy.sympify(b)
    if isinstance(a, sympy.logic.boolalg.BooleanFunction) or isinstance(b, sympy.logic.boolalg.BooleanFunction):
        return type(a) is type(b) and len(a.args) == len(b.args) and all(map(_same, a.args, b.args))
    if isinstance(a, sympy.core.relational.Relational) or isinstance(b, sympy.core.relational.Relational):
        return type(a) is type(b) and _same(a.lhs - a.rhs, b.lhs - b.rhs)
    return sympy.simplify(a - b) == 0


def _statements(block):
    return [(s.target, s.operation, s.method, s.expr, s.min, s.max) for s in block]


def _same_statements(ours, theirs) -> bool:
    return len(ours) == len(theirs) and all(
        o[:3] == t[:3] and _same(o[3], t[3]) and _same(o[4], t[4]) and _same(o[5], t[5])
        for o, t in zip(_statements(ours), _statements(theirs)))


def differences(definition: dict) -> list[str]:
    """Every way the gpunet built-in differs from ANNarchy's definition (empty when identical)."""
    model = getattr(builtins, definition["gpunet"])(**definition["overrides"])
    spec = model.spec
    found = []
    synapse = definition["kind"] == "synapse"
    # ANNarchy lists a synapse's weight w among the parameters (and among the variables when a rule changes it);
    # gpunet lists it once, as a variable.
    their_parameters = [p for p in definition["parameters"] if not (synapse and p["name"] == "w")]
    their_variables = [v for v in definition["variables"] if not (synapse and v["name"] == "w")]
    if synapse:
        weight = [v for v in definition["variables"] if v["name"] == "w"] or \
                 [dict(p, method=None, min=None, max=None) for p in definition["parameters"] if p["name"] == "w"]
        their_variables += weight
    if spec.parameters != [p["name"] for p in their_parameters]:
        found.append(f"parameters {spec.parameters} != {[p['name'] for p in their_parameters]}")
    if spec.variables != [v["name"] for v in their_variables]:
        found.append(f"variables {spec.variables} != {[v['name'] for v in their_variables]}")
    for entry in their_parameters + their_variables:
        attribute = spec.attributes.get(entry["name"])
        if attribute is None:
            continue
        where = f"{definition['annarchy']}.{entry['name']}"
        if attribute.is_global != (entry["locality"] == "global"):
            found.append(f"{where}: global={attribute.is_global}, ANNarchy {entry['locality']}")
        if attribute.kind != CTYPES[entry["ctype"]]:
            found.append(f"{where}: type {attribute.kind}, ANNarchy {entry['ctype']}")
        ours = _evaluate(attribute.init, spec)
        if np.float64(ours).tobytes() != np.float64(entry["init"]).tobytes():
            found.append(f"{where}: init {ours!r}, ANNarchy {entry['init']!r}")
        for bound in ("min", "max"):
            theirs = entry.get(bound)
            mine = getattr(attribute, bound)
            if (theirs is None) != (mine is None) or (theirs is not None and float(mine) != float(theirs)):
                found.append(f"{where}: {bound} {mine}, ANNarchy {theirs}")
    defined = {s.target: s for s in spec.equations}
    for entry in their_variables:
        statement = defined.get(entry["name"])
        if statement is not None and entry["method"] is not None and statement.method != entry["method"]:
            found.append(f"{definition['annarchy']}.{entry['name']}: method {statement.method}, "
                         f"ANNarchy {entry['method']}")
    if spec.spiking != (definition["type"] == "spike"):
        found.append(f"{definition['annarchy']}: spiking={spec.spiking}, ANNarchy type {definition['type']}")
    theirs = _annarchy_text_model(definition).spec
    if not _same_statements(spec.equations, theirs.equations):
        found.append(f"{definition['annarchy']}: equations differ")
    if definition["gpunet"] != "SpikeSourceNeuron":  # its spikes come from the spike times in both tools
        for block in ("reset", "pre_spike", "post_spike"):
            if not _same_statements(getattr(spec, block), getattr(theirs, block)):
                found.append(f"{definition['annarchy']}: {block} differs")
        for block in ("spike", "refractory", "psp"):
            if not _same(getattr(spec, block), getattr(theirs, block)):
                found.append(f"{definition['annarchy']}: {block} {getattr(spec, block)} != {getattr(theirs, block)}")
    return found


@pytest.mark.parametrize("definition", MODELS, ids=[m["annarchy"] for m in MODELS])
def test_builtin_model_is_annarchys(definition):
    assert differences(definition) == []


def test_every_builtin_model_is_compared():
    exported = {"Izhikevich", "LeakyIntegrator", "IF_curr_exp", "IF_cond_exp", "IF_curr_alpha", "IF_cond_alpha",
                "EIF_cond_exp_isfa_ista", "HH_cond_exp", "PoissonNeuron", "SpikeSourceNeuron", "STDP", "STP",
                "Hebb", "Oja", "DefaultSpiking", "DefaultRate"}
    assert exported <= set(builtins.__all__)
    assert {m["gpunet"] for m in MODELS} == exported


def test_the_comparison_sees_a_global_flag_and_a_changed_default():
    """The check itself: a model with Izhikevich's old global ``a`` or another default is reported."""
    definition = next(m for m in MODELS if m["annarchy"] == "Izhikevich()")
    changed = json.loads(json.dumps(definition))
    changed["parameters"][1]["locality"] = "global"
    changed["variables"][2]["init"] = -13.5
    assert differences(changed) == ["Izhikevich().a: global=False, ANNarchy global",
                                    "Izhikevich().u: init -13.0, ANNarchy -13.5"]


def test_izhikevich_parameters_are_per_neuron():
    """The Izhikevich (2003) recipe: each neuron its own a, b, c, d (ANNarchy's parameters are local)."""
    net = gpunet.Network(backend="numpy", seed=1)
    pop = net.create(4, gpunet.Izhikevich, name="exc")
    re = np.array([0.0, 0.25, 0.5, 1.0])
    pop.c = -65.0 + 15.0 * re ** 2
    pop.d = 8.0 - 6.0 * re ** 2
    pop.a = np.array([0.02, 0.03, 0.05, 0.1])
    assert pop.c.tolist() == (-65.0 + 15.0 * re ** 2).tolist() and pop.a[3] == 0.1
    assert pop.v.tolist() == [-65.0] * 4 and pop.u.tolist() == [-13.0] * 4


def _annarchy_python() -> str | None:
    configured = os.environ.get("GPUNET_ANNARCHY_PYTHON")
    if configured:
        return configured if Path(configured).exists() else None
    import importlib.util
    import sys
    return sys.executable if importlib.util.find_spec("ANNarchy") is not None else None


@pytest.mark.annarchy
def test_installed_annarchy_defines_what_models_json_says(tmp_path):
    """The installed ANNarchy's definitions equal the committed file, so the tests above compare to ANNarchy."""
    python = _annarchy_python()
    if python is None:
        pytest.skip("ANNarchy is not importable (set GPUNET_ANNARCHY_PYTHON to an interpreter that has it)")
    env = dict(os.environ, PATH=f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([python, str(DATA / "make_fixtures.py"), "--models", str(tmp_path / "models.json")],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    live = json.loads((tmp_path / "models.json").read_text())
    assert live["annarchy"] == "5.0.4.1"
    assert live["models"] == MODELS
    for definition in live["models"]:
        assert differences(definition) == [], definition["annarchy"]
