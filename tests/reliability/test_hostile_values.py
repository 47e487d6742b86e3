"""Every value a file can hold, made hostile: the load ends in a gpunet error and changes nothing, or loads it.

The network covers every built-in model (Izhikevich with refractory counters,
IF_curr_exp, IF_cond_exp, Poisson, SpikeSourceArray, LeakyIntegrator; STDP
with event-driven traces, Hebb, Oja, the default spiking and rate synapses),
a model with ``int`` and ``bool`` attributes, a uniform delay and per-synapse
delays.  For every attribute and internal array of every object, each class of
hostile value (NaN, inf, negative, huge, out of the integer range, wrong dtype
kind) is put into a copy of the network's own state and loaded.  The decision
of which values are legal, per class of attribute, is the one documented in
:mod:`gpunet.io.pipeline.restore`; an illegal value must raise a GpunetError and leave
the network bit for bit equal to an untouched twin (every array, ring buffer,
index, spike-source event list, the step, the seed and the compiled flag).
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import GpunetError
from gpunet.io.pipeline.gather import gather_state
from gpunet.io.pipeline.restore import restore_state
from gpunet.limits import MAX_DELAY_STEPS, MAX_STEP

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz_records import measure, summary  # noqa: E402

Typed = gn.Neuron(parameters="n = 2 : int\nflag = True : bool\nk = 3 : int, population",
                  equations="r = n", name="Typed")


def build(compiled: bool = True, precision: str = "float64") -> gn.Network:
    net = gn.Network(dt=1.0, seed=5, backend="numpy", precision=precision)
    izh = net.create(6, gn.Izhikevich(tau_refrac=3.0, i_offset=12.0), name="izh")
    ifc = net.create(5, gn.IF_curr_exp, name="ifc")
    ifcond = net.create(5, gn.IF_cond_exp, name="ifcond")
    poisson = gn.PoissonPopulation(6, rates=300.0, name="poisson", network=net)
    source = gn.SpikeSourceArray([[1.0, 4.0], [2.0], [], [3.0, 7.0]], name="src", network=net)
    rate_a = net.create(4, gn.LeakyIntegrator(B=1.0), name="rate_a")
    rate_b = net.create(4, gn.LeakyIntegrator, name="rate_b")
    net.create(3, Typed, name="typed")
    net.connect(izh, ifc, "exc", gn.STDP, name="stdp").connect_fixed_probability(0.6, weights=0.4, delays=2.0)
    net.connect(poisson, izh, "exc", name="drive").connect_all_to_all(
        weights=gn.Uniform(0.1, 0.5), delays=gn.Uniform(1.0, 4.0))
    net.connect(source, ifcond, "exc", name="timed").connect_all_to_all(weights=0.05, delays=1.0)
    net.connect(rate_a, rate_b, "exc", gn.Hebb, name="hebb").connect_all_to_all(weights=0.2)
    net.connect(rate_b, rate_a, "exc", gn.Oja, name="oja").connect_all_to_all(weights=0.1)
    net.connect(rate_a, rate_b, "inh", name="static_rate").connect_all_to_all(weights=0.05)
    if compiled:
        net.compile()
        net.simulate(12.0)
    return net


def fingerprint(net: gn.Network) -> dict:
    """Everything a load may change, as host values."""
    host = net.backend.to_host
    out = {("network", "step"): net.get_current_step(), ("network", "seed"): net.seed,
           ("network", "compiled"): net.compiled}
    for pop in net.populations:
        for key, value in pop._state.items():
            out[(pop.name, key)] = host(value)
        out[(pop.name, "_spiked")] = host(pop._spiked)
        out[(pop.name, "_history")] = None if pop._history is None else host(pop._history)
        out[(pop.name, "_noise_keys")] = dict(pop._noise_keys)
        for key in ("_times", "_event_steps", "_event_ranks"):
            if hasattr(pop, key):
                out[(pop.name, key)] = copy.deepcopy(getattr(pop, key))
    for proj in net.projections:
        for key, value in proj._state.items():  # what exists: a load must not build or drop an index either
            out[(proj.name, key)] = host(value)
        out[(proj.name, "_host_row_ptr")] = proj._host_row_ptr.copy()
        if proj.connected:
            for key, value in zip(("post", "pre", "delays"), proj.synapse_arrays()):
                out[(proj.name, key)] = value.copy()
        out[(proj.name, "_groups")] = [(d, host(p), host(s)) for d, p, s in proj._groups]
    return out


def assert_same(a: dict, b: dict, label: str) -> None:
    assert a.keys() == b.keys(), label
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=True), (label, key)
        elif isinstance(x, list) and x and isinstance(x[0], tuple):
            assert len(x) == len(y) and all(
                p[0] == q[0] and np.array_equal(p[1], q[1]) and np.array_equal(p[2], q[2]) for p, q in zip(x, y)), (
                label, key)
        else:
            assert x == y, (label, key)


# -- hostile values ---------------------------------------------------------------------------------------------
CLASSES = ("nan", "inf", "negative", "huge", "int_range", "uint_range", "complex", "text")


def hostile(original, kind: str):
    """``original`` with its first value replaced by a hostile one (the whole value for a 0-d array)."""
    array = np.array(original, copy=True)
    if kind == "complex":
        return array.astype(np.complex128) + 1j
    if kind == "text":
        return np.full(array.shape, "x")
    replacement = {"nan": np.nan, "inf": np.inf, "negative": -3, "huge": 1e300,
                   "int_range": 2 ** 32 + 3, "uint_range": 2 ** 64 - 1}[kind]
    dtype = {"nan": np.float64, "inf": np.float64, "huge": np.float64, "int_range": np.int64,
             "uint_range": np.uint64}.get(kind, np.result_type(array.dtype, np.int8))
    array = array.astype(dtype)
    if array.ndim == 0:
        array[()] = replacement
    else:
        array.flat[0] = replacement
    return array


def legal(role: str, kind: str) -> bool:
    """The documented decision: which hostile classes are legal data for each role of value."""
    if kind in ("complex", "text"):
        return False
    if role == "float":  # model attributes of float type: data, whatever the value, if exactly a float
        return kind != "uint_range"  # 2**64 - 1 has no exact float64 value
    if role == "int":
        return kind in ("negative", "int_range")
    if role == "stamp":  # last spike / last event steps, in [-2**53, 2**53]
        return kind in ("negative", "int_range")
    if role == "spike_times":  # ms, finite, >= 0, at most step 2**53
        return kind == "int_range"
    return False  # bool attributes, refractory counters, spike history, spike counts, delays, connectivity


def role_of(obj, key: str) -> str:
    attribute = obj.spec.attributes.get(key)
    if attribute is not None:
        return {"int": "int", "bool": "bool"}.get(attribute.kind, "float")
    return {"_last_spike": "stamp", "_last_event": "stamp", "_spike_times": "spike_times"}.get(key, "other")


def cases(net: gn.Network, state):
    """(label, mutate(state), role, kind, check(net) for a legal load) for every value of ``state``."""
    for saved in state.populations + state.projections:
        obj = next(o for o in net.populations + net.projections if o.name == saved.name)
        fields = [("values", k) for k in saved.values] + [("internal", k) for k in saved.internal]
        if hasattr(saved, "delays"):
            fields += [("delays", None), ("post_ranks", None), ("row_ptr", None), ("pre_ranks", None)]
        for group, key in fields:
            role = role_of(obj, key) if key else "other"
            for kind in CLASSES:
                yield f"{saved.name}.{key or group} <- {kind}", saved.name, group, key, role, kind


def mutate(state, name: str, group: str, key, kind: str):
    state = copy.deepcopy(state)
    saved = state.population(name) or state.projection(name)
    if key is None:
        setattr(saved, group, hostile(getattr(saved, group), kind))
    else:
        getattr(saved, group)[key] = hostile(getattr(saved, group)[key], kind)
    return state, saved


def arrived(net: gn.Network, name: str, key: str, value) -> bool:
    """Whether the legal hostile ``value`` of ``name.key`` is what the network now holds."""
    obj = next(o for o in net.populations + net.projections if o.name == name)
    if key == "_spike_times":
        return [t for neuron in obj._times for t in neuron] == np.asarray(value, dtype=np.float64).tolist()
    held = net.backend.to_host(obj._state[key])  # the state is the network's own: same (post-major) order
    expected = np.asarray(value)
    return np.array_equal(held, expected.astype(held.dtype).reshape(held.shape), equal_nan=True)


def test_every_hostile_value_is_refused_with_nothing_changed_or_loaded_exactly():
    twin = build()
    reference = fingerprint(twin)
    state = gather_state(twin)
    net = build()
    assert_same(fingerprint(net), reference, "two builds")
    failures, counts = [], {"refused": 0, "loaded": 0}
    for label, name, group, key, role, kind in cases(net, state):
        hostile_state, saved = mutate(state, name, group, key, kind)
        try:
            restore_state(net, hostile_state, "hostile.txt")
        except GpunetError as exc:
            counts["refused"] += 1
            if legal(role, kind):
                failures.append(f"{label}: legal value refused: {exc}")
            assert "hostile.txt" in str(exc), label
            try:
                assert_same(fingerprint(net), reference, label)
            except AssertionError as exc2:
                failures.append(f"{label}: network changed by a failed load: {exc2}")
            continue
        except Exception as exc:  # noqa: BLE001 - the point: nothing but gpunet errors
            failures.append(f"{label}: {type(exc).__name__} escaped: {exc}")
            net = build()
            continue
        counts["loaded"] += 1
        if not legal(role, kind):
            failures.append(f"{label}: illegal value loaded")
        elif not arrived(net, name, key, getattr(saved, group)[key]):
            failures.append(f"{label}: loaded, but the network does not hold the file's value")
        restore_state(net, state, "original.txt")  # the network's own state back, checked
        try:
            assert_same(fingerprint(net), reference, label)
        except AssertionError as exc2:
            failures.append(f"{label}: reloading the original state does not give the original network: {exc2}")
            net = build()
    assert not failures, "\n".join(failures)
    assert counts["refused"] > 300 and counts["loaded"] > 100, counts


def test_out_of_range_counters_seeds_and_dt_are_refused():
    twin, net = build(), build()
    reference = fingerprint(twin)
    state = gather_state(twin)
    bad = {"step": [-1, MAX_STEP + 1, 1.5, float("nan"), "12", True, 2 ** 64],
           "seed": [-1, 2 ** 64, 0.5, True, float("inf"), "7", np.float64(np.nan)],
           "dt": [float("nan"), 2.0, "1.0", float("inf"), True]}
    for field_name, values in bad.items():
        for value in values:
            hostile_state = copy.deepcopy(state)
            setattr(hostile_state, field_name, value)
            with pytest.raises(GpunetError, match="hostile.npz"):
                restore_state(net, hostile_state, "hostile.npz")
            assert_same(fingerprint(net), reference, f"{field_name} = {value!r}")
    for step, seed in ((MAX_STEP, 2 ** 64 - 1), (np.int64(3), np.uint64(2 ** 63)), (7.0, 0)):
        hostile_state = copy.deepcopy(state)
        hostile_state.step, hostile_state.seed = step, seed
        restore_state(net, hostile_state, "edge.npz")
        assert net.get_current_step() == int(step) and net.seed == int(seed)
        assert type(net.seed) is int and type(net.get_current_step()) is int


def test_a_failed_load_leaves_an_uncompiled_network_uncompiled_and_a_good_one_compiles_it():
    state = gather_state(build())
    hostile_states = []
    for name, group, key, value in (("src", "internal", "_spike_times", np.nan),
                                    ("stdp", "delays", None, 1e12), ("drive", "delays", None, 1e20),
                                    ("izh", "internal", "_refractory", 2 ** 32 + 3)):
        hostile_state = copy.deepcopy(state)
        saved = hostile_state.population(name) or hostile_state.projection(name)
        if key is None:
            setattr(saved, group, np.asarray(value))
        else:
            getattr(saved, group)[key] = np.full_like(getattr(saved, group)[key], value,
                                                      dtype=np.asarray(value).dtype)
        hostile_states.append(hostile_state)
    twin = build(compiled=False)
    reference = fingerprint(twin)
    net = build(compiled=False)
    for hostile_state in hostile_states:
        with pytest.raises(GpunetError):
            restore_state(net, hostile_state, "hostile.txt")
        assert not net.compiled
        assert_same(fingerprint(net), reference, "uncompiled")
    gn.Population(2, gn.Izhikevich, name="late", network=net)  # still open for new objects
    net = build(compiled=False)
    restore_state(net, state, "good.txt")
    assert net.compiled and net.get_current_step() == 12
    compiled = build()
    assert_same(fingerprint(net), fingerprint(compiled), "loaded into an uncompiled network")


def test_longer_delays_from_a_file_grow_the_ring_buffer_within_its_bound(monkeypatch):
    from gpunet.io.pipeline import restore
    state = gather_state(build())
    longer = copy.deepcopy(state)
    longer.projection("stdp").delays = np.asarray(40.0)
    for compiled in (True, False):
        net = build(compiled=compiled)
        restore_state(net, longer, "longer.txt")
        izh = net.get_population("izh")
        assert izh._history.shape == (40, 6) and net.get_projection("stdp").max_delay == 40
    # the ring buffer a load may allocate is bounded: 40 steps x 6 neurons > 200 bytes
    monkeypatch.setattr(restore, "MAX_LOAD_RING_BYTES", 200)
    twin, net = build(), build()
    with pytest.raises(GpunetError, match="ring buffer"):
        restore_state(net, longer, "longer.txt")
    assert_same(fingerprint(net), fingerprint(twin), "ring buffer bound")
    too_long = copy.deepcopy(state)
    too_long.projection("stdp").delays = np.asarray(float(MAX_DELAY_STEPS + 1))
    with pytest.raises(GpunetError, match=f"at most {MAX_DELAY_STEPS} steps"):
        restore_state(net, too_long, "too_long.txt")


def test_memory_errors_while_preparing_a_rebuild_are_gpunet_errors(monkeypatch):
    state = gather_state(build())
    other = copy.deepcopy(state)
    other.projection("stdp").delays = np.asarray(3.0)
    twin, net = build(), build()
    projection_type = type(net.get_projection("stdp"))

    def no_memory(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(projection_type, "prepare_connectivity", no_memory)
    with pytest.raises(GpunetError, match="not enough memory"):
        restore_state(net, other, "big.txt")
    assert_same(fingerprint(net), fingerprint(twin), "memory error")


@pytest.mark.parametrize("precision_case", ["huge", "nan"])
def test_a_float32_network_refuses_values_it_cannot_hold_and_keeps_nan(precision_case):
    net = build(precision="float32")
    twin = build(precision="float32")
    state = gather_state(twin)
    value = 1e300 if precision_case == "huge" else np.nan
    state.population("izh").values["v"] = np.full(6, value)
    if precision_case == "huge":
        with pytest.raises(GpunetError, match="float32"):
            restore_state(net, state, "f32.txt")
        assert_same(fingerprint(net), fingerprint(twin), "float32")
    else:
        restore_state(net, state, "f32.txt")
        assert np.isnan(net.get_population("izh").v).all()


@pytest.mark.parametrize("suffix", [".txt", ".gz", ".npz", ".mat"])
def test_the_reported_cases_through_real_files(tmp_path, suffix):
    """The issue's examples, written as files and loaded through ``load``."""
    twin = build()
    reference = fingerprint(twin)
    state = gather_state(twin)
    examples = {
        "nan spike time": ("src", "internal", "_spike_times", lambda a: np.where(np.arange(a.size) == 0, np.nan, a)),
        "negative spike time": ("src", "internal", "_spike_times", lambda a: a - 10.0),
        "delay 1e12 ms": ("stdp", "delays", None, lambda a: np.asarray(1e12)),
        "delay 1e20 ms": ("drive", "delays", None, lambda a: np.full(a.shape, 1e20)),
        "refractory 2**32 + 3": ("izh", "internal", "_refractory", lambda a: np.full(a.shape, 2 ** 32 + 3)),
    }
    from gpunet.io import formats
    module = formats.format_for(tmp_path / f"x{suffix}")
    net = build()
    loaded = 0
    for label, (name, group, key, change) in examples.items():
        hostile_state = copy.deepcopy(state)
        saved = hostile_state.population(name) or hostile_state.projection(name)
        if key is None:
            setattr(saved, group, change(np.asarray(getattr(saved, group))))
        else:
            getattr(saved, group)[key] = change(np.asarray(getattr(saved, group)[key]))
        path = tmp_path / f"{label.replace(' ', '_')}{suffix}"
        try:
            with open(path, "wb") as stream:
                if hasattr(module, "write"):
                    module.write(hostile_state, stream)
                else:
                    stream.write(module.dumps(hostile_state))
        except GpunetError:
            continue  # the writer refuses it already: nothing to load
        loaded += 1
        with pytest.raises(GpunetError) as error:
            net.load(path)
        assert str(path) in str(error.value), label
        assert_same(fingerprint(net), reference, label)
    assert loaded >= 3  # most of these reach the loader: the writers store what they are given


@pytest.mark.parametrize("seed", [-1, 2 ** 64, 1.5, True, "3"])
def test_seeds_outside_their_range_are_refused_when_a_network_is_made(seed):
    with pytest.raises(GpunetError, match=r"seed must be an integer in \[0, 2\*\*64 - 1\]"):
        gn.Network(backend="numpy", seed=seed)
    net = gn.Network(backend="numpy", seed=2 ** 64 - 1)
    pop = net.create(3, gn.Izhikevich(noise=1.0), name="noisy")
    net.connect(pop, pop, "exc").connect_fixed_probability(0.5, weights=0.1)
    net.simulate(2.0)  # the largest seed draws numbers like any other
    assert np.all(np.isfinite(pop.v))


@pytest.mark.parametrize("delay", [1e12, 1e20, float(MAX_DELAY_STEPS + 1)])
def test_delays_beyond_the_maximum_are_refused_at_connect(delay):
    net = gn.Network(backend="numpy", seed=1)
    pop = net.create(3, gn.Izhikevich, name="pop")
    projection = net.connect(pop, pop, "exc")
    with pytest.raises(GpunetError, match=f"at most {MAX_DELAY_STEPS} steps"):
        projection.connect_all_to_all(weights=0.1, delays=delay)
    assert not projection._connected
    projection.connect_all_to_all(weights=0.1, delays=float(MAX_DELAY_STEPS))
    assert projection.max_delay == MAX_DELAY_STEPS


# -- structure-aware fuzzing: any field, any dtype, any value (40 examples in CI, 2,000 with the long profile) ----
from hypothesis import given, strategies as st  # noqa: E402

_FUZZ_DTYPES = [np.float64, np.float32, np.int64, np.int32, np.uint64, np.uint8, np.int8, np.bool_, np.complex128]
_FUZZ_NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2 ** 70, 2 ** 70),
                          st.sampled_from([0, 1, -1, 2 ** 31, 2 ** 32 + 3, 2 ** 53 + 1, 2 ** 63, 2 ** 64 - 1]))


@pytest.fixture(scope="module")
def fuzz_target():
    twin = build()
    state = gather_state(twin)
    fields = [(name, group, key, role) for _, name, group, key, role, kind in cases(twin, state) if kind == "nan"]
    return {"net": build(), "state": state, "reference": fingerprint(twin), "fields": fields}


def _same_numbers(held, value) -> bool:
    """Element by element, as Python numbers: a load that succeeded kept every value exactly (NaN = NaN)."""
    return all(a == b or (a != a and b != b) for a, b in zip(np.ravel(held).tolist(), np.ravel(value).tolist()))


@pytest.fixture(scope="module", autouse=True)
def _fuzz_summary():
    yield
    print("\n" + summary(("hostile values",)))


@given(data=st.data())
def test_fuzz_any_value_of_any_dtype_in_any_field(fuzz_target, data):
    name, group, key, role = data.draw(st.sampled_from(fuzz_target["fields"]), label="field")
    state = fuzz_target["state"]
    saved = state.population(name) or state.projection(name)
    original = np.asarray(getattr(saved, group) if key is None else getattr(saved, group)[key])
    dtype = data.draw(st.sampled_from(_FUZZ_DTYPES), label="dtype")
    number = data.draw(_FUZZ_NUMBERS, label="number")
    try:
        with np.errstate(all="ignore"):
            scalar = np.array(number).astype(dtype)
            if scalar.tolist() != number and not (number != number and scalar != scalar):
                return  # not representable in this dtype: another draw covers it
            value = np.array(original).astype(dtype)
    except (OverflowError, ValueError, TypeError):
        return
    position = data.draw(st.integers(0, max(value.size - 1, 0)), label="position")
    if value.ndim == 0:
        value = scalar
    elif value.size:
        value.flat[position] = scalar
    hostile_state = copy.deepcopy(state)
    target = hostile_state.population(name) or hostile_state.projection(name)
    if key is None:
        setattr(target, group, value)
    else:
        getattr(target, group)[key] = value
    net = fuzz_target["net"]
    _peak, outcome = measure("hostile values", int(np.asarray(value).nbytes),
                             lambda: restore_state(net, hostile_state, "fuzz.npz"))
    if isinstance(outcome, GpunetError):
        assert "fuzz.npz" in str(outcome)
        assert_same(fingerprint(net), fuzz_target["reference"], f"{name}.{key or group}")
        return
    obj = next(o for o in net.populations + net.projections if o.name == name)
    if key is not None and key in obj._state:
        assert _same_numbers(net.backend.to_host(obj._state[key]), value), (name, key, value)
    restore_state(net, state, "original.npz")
    if fingerprint(net).keys() != fuzz_target["reference"].keys():
        fuzz_target["net"] = build()
    else:
        try:
            assert_same(fingerprint(net), fuzz_target["reference"], "restored")
        except AssertionError:  # a legal load that grew a ring buffer: start again from a fresh network
            fuzz_target["net"] = build()


def test_spike_counts_whose_sum_wraps_around_are_refused():
    twin, net = build(), build()
    state = copy.deepcopy(gather_state(twin))
    source = state.population("src")
    source.internal["_spike_times"] = np.zeros(0)
    source.internal["_spike_counts"] = np.full(4, 2 ** 62, dtype=np.int64)  # sums to 2**64 = 0 in int64
    with pytest.raises(GpunetError, match="_spike_counts"):
        restore_state(net, state, "wrapped.txt")
    assert_same(fingerprint(net), fingerprint(twin), "wrapped counts")
