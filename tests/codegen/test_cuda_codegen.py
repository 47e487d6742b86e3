"""CUDA generation from the model plan: units of the built-in models, printing, unsupported features."""
import pytest
import sympy

import gpunet as gn
from gpunet.codegen.cuda.codegen import UnsupportedByCuda, model_unit, network_units, pack_source, rng_source
from gpunet.commands.kernels import INPUTS, builtin_models, emit_all
from gpunet.codegen.printers import CudaPrinter

x, y = sympy.symbols("x y")
PRINT = CudaPrinter({"x": "x", "y": "y"}, real="float")


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(builtin_models()))
def test_every_builtin_model_generates_a_complete_unit(name, precision):
    spec = builtin_models()[name].spec
    unit = model_unit(spec, precision)
    real = "double" if precision == "float64" else "float"
    assert unit.kernels and unit.precision == precision
    assert "GN_PRELUDE_CUH" in unit.source and "gn_mix64" in unit.source
    for kernel in unit.kernels.values():
        assert f"GN_KERNEL {kernel.name}(" in unit.source
        assert [p.role for p in kernel.params[:1]] == ["n"]
    other = "float" if real == "double" else "double"
    assert f"{other}* a_" not in unit.body  # attribute arrays in the unit's precision only


def test_phases_follow_the_model():
    assert set(model_unit(gn.STDP.spec).kernels) == {"spike_count", "spike_list", "pre_events_ordered",
                                                     "pre_events_atomic", "pre_events_atomic_groups",
                                                     "pre_events_merged", "spike_count_merged",
                                                     "spike_list_merged", "post_events"}
    assert set(model_unit(gn.Hebb.spec).kernels) == {"continuous", "rate_sum"}
    assert set(model_unit(gn.model.DefaultRate.spec).kernels) == {"rate_sum"}
    # the merged update: a step graph's one launch for the populations of the model
    assert set(model_unit(gn.Izhikevich.spec).kernels) == {"neuron_update", "neuron_update_merged"}


def test_izhikevich_element_follows_the_array_code():
    body = model_unit(gn.Izhikevich.spec).body
    assert "const bool active = refractory[i] == 0;" in body
    # the counter of neuron i is its global rank: i plus the first neuron's (a block of a population under comm)
    assert "if (l_noise != 0) { rand_0 = (double)gn_normal(key_0, step, (gn_u64)(i + noise_first)" in body
    assert "((double)0.04)*(l_v*l_v)" in body  # v**2 squares exactly, as NumPy does
    assert "l_g_exc = 0;" in body and "refractory[i] = (int)((l_tau_refrac) / dt);" in body
    assert body.index("tmp_d_u =") < body.index("l_v = l_v + tmp_d_v*dt")  # every RHS from the old values


def test_stdp_decays_traces_from_the_last_event():
    unit = model_unit(gn.STDP.spec)
    assert "elapsed = dt * (double)(last_event[s] - (step - 1));" in unit.body
    assert "elapsed = dt * (double)(last_event[s] - step);" in unit.body
    assert "contribution += l_w;" in unit.body


def test_rate_sum_order_matches_the_array_code_path():
    assert "const bool from_zero = true;" in model_unit(gn.model.DefaultRate.spec).body
    custom = gn.Synapse(psp="w * pre.r * 2.0", name="Doubled")
    assert "const bool from_zero = false;" in model_unit(custom.spec).body


@pytest.mark.parametrize("expr, text", [
    (x**2, "(x*x)"), (x**0.5, "sqrt(x)"), (x**-1, "(((float)1)/x)"), (x**3, "pow(x, ((float)3.0))"),
    (x / 3, "x/3"), (sympy.Rational(1, 3) + x, "x + ((float)0.3333333333333333)"), (2**x, "pow(((float)2.0), x)"),
])
def test_printer_keeps_numpy_arithmetic(expr, text):
    assert PRINT.doprint(expr) == text


def test_printer_functions_use_numpy_like_min_max():
    from gpunet.model.expressions import clip, pos
    assert PRINT.doprint(pos(x)) == "gn_maximum(((float)(x)), ((float)0))"
    assert PRINT.doprint(clip(x, 0, y)) == "gn_minimum(gn_maximum(((float)(x)), ((float)(0))), ((float)(y)))"


def test_printer_refuses_non_finite_constants():
    with pytest.raises(ValueError, match="no CUDA C literal"):
        PRINT.doprint(sympy.oo * x)


def test_global_equations_run_first_in_a_kernel_of_one_thread():
    model = gn.Neuron(parameters="tau = 10.0 : population", equations="dm/dt = -m / tau : population\nr = m",
                      name="GlobalVar")
    unit = model_unit(model.spec)
    assert list(unit.kernels) == ["neuron_globals", "neuron_update", "neuron_update_merged"]
    assert "a_m[0] = l_m;" in unit.body   # written by the one thread ...
    assert {p.name: p.ctype for p in unit.kernels["neuron_update"].params}["a_m"] == "const double*"   # read here


@pytest.mark.parametrize("equations, reason", [
    ("dm/dt = (1 - m) / tau : population\ndv/dt = m - v\nr = v", "_d_v reads the old value of m"),
    ("r = m\ndm/dt = (1 - m) / tau : population", "r reads the old value of m"),
    ("dv/dt = -v\nm = v : population\nr = v", "they read v"),
    ("m = m + 1.0 : population\nr = Normal(0.0, m)", "a noise argument reads m"),
])
def test_global_equations_out_of_the_array_codes_order_are_unsupported(equations, reason):
    """The neuron kernel reads the globals' new values: a model that reads an old one stays on the array code."""
    model = gn.Neuron(parameters="tau = 10.0 : population", equations=equations, name="GlobalVar")
    with pytest.raises(UnsupportedByCuda, match=reason):
        model_unit(model.spec)


def test_a_synapse_models_global_equations_run_after_the_semiglobal_ones_in_one_thread():
    model = gn.Synapse(parameters="tau = 40.0 : projection\ntau_a = 5.0 : postsynaptic",
                       equations="tau_a * da/dt = post.r - a : postsynaptic\n"
                                 "tau * ds/dt = 1.0 - s : projection\nm = s * pre.r\ndw/dt = m - w", name="GlobalSyn")
    unit = model_unit(model.spec)
    assert list(unit.kernels) == ["semiglobal", "synapse_globals", "continuous", "rate_sum"]
    assert {p.name: p.ctype for p in unit.kernels["continuous"].params}["a_s"] == "const double*"
    with pytest.raises(UnsupportedByCuda, match="_d_w reads the old value of s"):   # one run of ODEs: old s
        model_unit(gn.Synapse(parameters="tau = 40.0 : projection",
                              equations="tau * ds/dt = 1.0 - s : projection\ndw/dt = s - w").spec)


def test_synapse_reading_g_target_is_unsupported():
    model = gn.Synapse(pre_spike="g_target = w", name="Assigns")
    with pytest.raises(UnsupportedByCuda, match="g_target"):
        model_unit(model.spec)


def test_int64_index_variant():
    unit = model_unit(gn.STDP.spec, "float64", index="int64")
    assert unit.prefix.endswith("_i64") and "const gn_i64* __restrict__ row_ptr" in unit.body


def test_network_units_share_equal_models_and_rename_clashing_names():
    net = gn.Network(backend="numpy", seed=1)
    a = net.create(5, gn.Izhikevich)
    b = net.create(5, gn.Izhikevich(a=0.1))
    other = gn.Neuron(equations="dv/dt = -v\nr = v", name="Izhikevich")
    c = net.create(5, other)
    net.connect(a, b, "exc").connect_all_to_all(weights=1.0)
    net.connect(b, a, "exc", gn.STDP).connect_all_to_all(weights=1.0)
    assert c.spec.name == "Izhikevich"
    units = network_units(net)
    prefixes = [u.prefix for u in units]
    assert prefixes == ["gn_Izhikevich_f64", "gn_Izhikevich_2_f64", "gn_DefaultSpiking_f64_i32", "gn_STDP_f64_i32"]


def test_rng_and_pack_sources_are_complete():
    assert "GN_KERNEL gn_rng_normal(" in rng_source()
    assert "GN_KERNEL gn_pack(" in pack_source() and "GN_KERNEL gn_unpack(" in pack_source()


def test_emit_all_writes_every_model_in_both_precisions(tmp_path):
    paths = emit_all(tmp_path)
    names = {p.name for p in paths}
    assert len(names) == len(paths)
    assert {"rng.cu", "pack.cu", "step.cu", "neuron_Izhikevich_f64.cu", "neuron_Izhikevich_f32.cu",
            "synapse_STDP_f64.cu", "synapse_Oja_f32.cu", "clocked_synapse_STDP_f64.cu",
            "network_reference_network_f64.cu"} <= names
    # rng, pack, step; each model in both precisions and clocked (float64); one example network so far; each
    # input in both precisions (CurrentInjection with both index types), and all inputs in one unit
    assert len(paths) == 3 + 3 * len(builtin_models()) + 2 + 2 * len(INPUTS) + 2 + 2 + 2  # + parity_language
    assert {"input_TimedArray_f64.cu", "input_CurrentInjection_f32_i64.cu", "network_inputs_f32.cu"} <= names
    assert "network_parity_language_f64.cu" in names   # semiglobal variables, pre.sum(), every method
    language = (tmp_path / "network_parity_language_f64.cu").read_text()
    assert "GN_KERNEL gn_SemiglobalRate_f64_i32_semiglobal(" in language and "post_sum_exc[post]" in language
    assert all(p.read_text().startswith("// Generated by gpunet") for p in paths)
