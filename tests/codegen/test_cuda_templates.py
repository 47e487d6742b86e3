"""Kernel templates: strict filling, declared placeholders, shipped files."""
from importlib import resources

import pytest

from gpunet.codegen.cuda.common import KernelInfo, KernelParam, check_signature
from gpunet.codegen.cuda.templates import (
    TemplateError,
    declared_placeholders,
    fill,
    placeholders_used,
    read_source,
    render,
)

TEMPLATE = "// placeholders: fn, real\nGN_KERNEL ${fn}(${real}* x) {}\n"


def test_fill_substitutes_every_placeholder_and_drops_the_declaration():
    assert fill(TEMPLATE, {"fn": "step", "real": "double"}) == "GN_KERNEL step(double* x) {}\n"


def test_missing_placeholder_raises_naming_it():
    with pytest.raises(TemplateError, match="no value for real"):
        fill(TEMPLATE, {"fn": "step"})


def test_value_for_unused_name_raises():
    with pytest.raises(TemplateError, match="does not use: index"):
        fill(TEMPLATE, {"fn": "step", "real": "double", "index": "int"})


def test_declaration_that_disagrees_with_the_text_raises():
    with pytest.raises(TemplateError, match="placeholders line lists"):
        fill("// placeholders: fn\nvoid ${fn}(${real});", {"fn": "f", "real": "double"})


def test_stray_dollar_sign_raises():
    with pytest.raises(TemplateError, match="invalid"):
        placeholders_used("int x = $ 3;")


def test_template_error_is_a_gpunet_error_and_a_key_error():
    from gpunet.errors import GpunetError
    assert issubclass(TemplateError, GpunetError) and issubclass(TemplateError, KeyError)


def test_every_shipped_template_declares_exactly_what_it_uses():
    names = [p.name for p in resources.files("gpunet.kernels").iterdir() if p.name.endswith((".cu", ".cuh"))]
    assert {"neuron_update.cu", "spike_propagation.cu", "synapse_events.cu", "synapse_update.cu", "rate_sum.cu",
            "rng.cuh", "rng.cu", "pack.cu", "prelude.cuh"} <= set(names)
    for name in names:
        text = read_source(name)
        assert declared_placeholders(text) == placeholders_used(text), name


def test_render_of_a_shipped_template_without_all_values_raises():
    with pytest.raises(TemplateError, match="neuron_update.cu: no value for"):
        render("neuron_update.cu", fn="f", model="M")


def test_read_source_of_a_missing_file_raises():
    with pytest.raises(FileNotFoundError, match="no_such.cu"):
        read_source("no_such.cu")


def test_signature_check_catches_metadata_drift():
    source = "GN_KERNEL k(const gn_i64 n, double* __restrict__ x)\n{}"
    good = KernelInfo("k", "test", (KernelParam("n", "const gn_i64", "n"), KernelParam("x", "double*", "attr", "x")))
    check_signature(source, good)
    bad = KernelInfo("k", "test", (KernelParam("n", "const gn_i64", "n"), KernelParam("x", "float*", "attr", "x")))
    with pytest.raises(TemplateError, match="kernel k"):
        check_signature(source, bad)
