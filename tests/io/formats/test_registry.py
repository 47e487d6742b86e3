"""The format registry: one record per format, looked up by suffix; state functions refuse parameter files."""
import io

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import FormatError
from gpunet.io import formats


@pytest.mark.parametrize("name, expected", [
    ("a.npz", "state_npz"), ("a.NPZ", "state_npz"), ("a.mat", "state_mat"), ("a.txt.gz", "state_gzip"),
    ("a.txt", "state_pickle"), ("a.data", "state_pickle"), ("noext", "state_pickle"), ("p.json", "params_json"),
    ("run/a.shards", "state_shards"), ("a.SHARDS/", "state_shards"),
])
def test_suffix_selects_the_format(name, expected):
    fmt = formats.format_for(name)
    assert fmt.name == expected
    home = "gpunet.io.formats.pickled" if expected in ("state_gzip", "state_pickle") else "gpunet.io.formats"
    assert fmt.module.__name__ == f"{home}.{expected}"
    assert formats.format_name(name) == expected


def test_every_format_has_one_record_and_one_suffix_owner():
    suffixes = [suffix for fmt in formats.FORMATS for suffix in fmt.suffixes]
    assert len(suffixes) == len(set(suffixes))
    assert [fmt for fmt in formats.FORMATS if not fmt.suffixes] == [formats.format_for("x.unknown")]
    for fmt in formats.FORMATS:
        assert fmt.kind in ("state", "parameters")
        assert callable(fmt.module.load) and callable(fmt.module.inspect)
        if fmt.kind == "state" and not fmt.directory:
            assert callable(fmt.module.write)


def _compiled_network():
    net = gn.Network(backend="numpy", seed=3)
    net.create(4, gn.Izhikevich, name="exc")
    net.compile()
    return net


@pytest.mark.parametrize("call", ["load", "read_state", "save", "pop.load", "pop.save"])
def test_state_functions_refuse_a_parameters_file_and_name_the_right_function(tmp_path, call):
    net = _compiled_network()
    params = tmp_path / "p.json"
    net.save_parameters(params)
    before = params.read_bytes()
    pop = net.populations[0]
    v = pop.v
    actions = {"load": lambda: net.load(params), "read_state": lambda: gn.read_state(params),
               "save": lambda: net.save(params), "pop.load": lambda: pop.load(params),
               "pop.save": lambda: pop.save(params)}
    with pytest.raises(FormatError, match=r"p\.json: a \.json file holds parameters.*gpunet\.load_parameters"):
        actions[call]()
    assert params.read_bytes() == before
    np.testing.assert_array_equal(pop.v, v)


def test_write_of_a_parameters_format_is_a_format_error():
    with pytest.raises(FormatError, match="params_json format holds parameters"):
        formats.format_for("p.json").write(None, io.BytesIO())


def test_parameters_keep_annarchys_any_suffix(tmp_path):
    net = _compiled_network()
    net.save_parameters(tmp_path / "params.txt")
    assert gn.load_parameters(tmp_path / "params.txt", network=net) == {}


def test_inflates_says_which_readers_take_a_decompression_cap():
    import inspect
    for fmt in formats.FORMATS:
        assert ("max_output" in inspect.signature(fmt.module.load).parameters) == fmt.inflates, fmt.name
