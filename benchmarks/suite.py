"""Benchmark suite of issue 19: seven networks timed in gpunet (each runner) and in ANNarchy, side by side.

Networks (``--quick`` shrinks each to a smoke-test size; ``--size tiny`` is what the test suite runs):

==================  ===========================================================================================
``izh_ei_1m``        Izhikevich E/I 800/200 all-to-all (1M synapses, E->E 639,200 STDP), noise 5 / 2, 5,000 ms
``izh_ei_100k``      same populations, deterministic (no noise, ``i_offset`` drive), probability 0.1, 1,000 ms
``rate_200_40``      rate-coded 200 -> 40, Oja + lateral inhibition, 200 x (new input pattern, simulate(50))
``rate_oja_1m``      rate-coded 1000 -> 1000 all-to-all Oja, simulate(1000)
``poisson_if``       Poisson 1000 -> 200 IF_cond_exp, STDP, per-synapse delays 0.1-5 ms, dt 0.1, 2,000 ms
``stdp_2x10000``     2 x 10,000 Izhikevich, ~1M STDP synapses, delay 2 ms, noise 2, 1,000 ms
``one_neuron``       one Izhikevich neuron, 10,000 steps: the per-step floor (microseconds per step)
==================  ===========================================================================================

Each network is built once per gpunet runner (``numpy`` always; ``compiled`` when
:mod:`gpunet.codegen.runtime.host_loop` finds a C++ compiler) with the same seed, and,
where an interpreter with ANNarchy is found (``--annarchy-python`` or
``GPUNET_ANNARCHY_PYTHON``), rebuilt in ANNarchy in a child process from the very
same synapses, weights, delays and parameters (``suite_annarchy.py``; only the
noise realisations differ).  Timed: the simulate calls (and the input changes
between them), not the build or compile, which are printed separately; as wall
time and as the process's CPU time (the fairer figure on a machine that other
work loads: both tools run one thread here).
ANNarchy runs single-threaded (its default), as gpunet does; with ``--threads N`` (N > 1) each
network is also timed with gpunet's compiled runner on N OpenMP threads (``num_threads=N``, row
``compiled-Nt``) and ANNarchy on N threads (``config(num_threads=N)``, row ``annarchy-Nt``), each
multi-threaded row compared with the other tool's row of the same thread count.  CPU time then adds
up every thread's time, so it is the wall time that shows the speed-up.

Usage::

    python benchmarks/suite.py [--quick] [--networks izh_ei_1m,one_neuron] [--runners numpy,compiled]
        [--threads N] [--annarchy-python PATH | --no-annarchy] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

RESULT_PREFIX = "SUITE-RESULT "
SIZES = ("full", "quick", "tiny")


@dataclass
class Protocol:
    """What is timed: ``calls`` x (set the inputs of call k, simulate ``ms``)."""

    calls: int
    ms: float
    inputs: dict[str, np.ndarray] = field(default_factory=dict)  # "population.attribute" -> (calls, size) values


@dataclass
class Case:
    key: str
    title: str
    build: Callable[[str, dict], Any]          # (size, network keywords) -> uncompiled gpunet Network
    protocol: Callable[[str], Protocol]
    per_step: bool = False                     # report microseconds per step


def _pick(size: str, full: Any, quick: Any, tiny: Any) -> Any:
    return {"full": full, "quick": quick, "tiny": tiny}[size]


# -- the networks ------------------------------------------------------------------------------------------
def _izhikevich_ei(size: str, options: dict, dense: bool) -> Any:
    import gpunet as gn
    n_exc, n_inh = _pick(size, (800, 200), (400, 100), (40, 10))
    net = gn.Network(dt=1.0, seed=2003 if dense else 2004, **options)
    exc = net.create(n_exc, gn.Izhikevich, name="exc")
    inh = net.create(n_inh, gn.Izhikevich, name="inh")
    rng = np.random.default_rng(1)
    re, ri = rng.random(n_exc), rng.random(n_inh)
    exc.a, exc.b, exc.c, exc.d = 0.02, 0.2, -65.0 + 15.0 * re ** 2, 8.0 - 6.0 * re ** 2
    inh.a, inh.b, inh.c, inh.d = 0.02 + 0.08 * ri, 0.25 - 0.05 * ri, -65.0, 2.0
    for pop in (exc, inh):
        pop.v = -65.0
        pop.u = pop.b * -65.0
    if dense:
        exc.noise, inh.noise = 5.0, 2.0
    else:
        exc.i_offset, inh.i_offset = np.linspace(0.0, 12.0, n_exc), 4.0
    probability = None if dense else 0.1

    def connect(proj: Any, weights: Any) -> None:
        if probability is None:
            proj.connect_all_to_all(weights=weights, delays=1.0)
        else:
            proj.connect_fixed_probability(probability, weights=weights, delays=1.0)
    connect(net.connect(exc, exc, "exc", gn.STDP(w_max=1.0), name="ee"), gn.Uniform(0.0, 0.5))
    connect(net.connect(exc, inh, "exc", name="ei"), gn.Uniform(0.0, 0.5))
    connect(net.connect(inh, exc, "inh", name="ie"), gn.Uniform(0.0, 1.0))
    connect(net.connect(inh, inh, "inh", name="ii"), gn.Uniform(0.0, 1.0))
    return net


def _rate_200_40(size: str, options: dict) -> Any:
    import gpunet as gn
    n_in, n_out = _pick(size, (200, 40), (200, 40), (20, 4))
    net = gn.Network(dt=1.0, seed=7, **options)
    inputs = net.create(n_in, gn.LeakyIntegrator(tau=10.0), name="input")
    output = net.create(n_out, gn.LeakyIntegrator(tau=10.0), name="output")
    net.connect(inputs, output, "exc", gn.Oja(eta=0.001, alpha=0.5), name="ff").connect_all_to_all(
        weights=gn.Uniform(0.0, 0.1))
    net.connect(output, output, "inh", name="lateral").connect_all_to_all(weights=0.2)
    return net


def _rate_200_40_protocol(size: str) -> Protocol:
    n_in = _pick(size, 200, 200, 20)
    calls = _pick(size, 200, 40, 3)
    patterns = np.random.default_rng(3).random((calls, n_in))
    return Protocol(calls, 50.0, {"input.B": patterns})


def _rate_oja(size: str, options: dict) -> Any:
    import gpunet as gn
    n = _pick(size, 1000, 300, 30)
    net = gn.Network(dt=1.0, seed=8, **options)
    inputs = net.create(n, gn.LeakyIntegrator(tau=10.0), name="input")
    inputs.B = np.random.default_rng(4).random(n)
    output = net.create(n, gn.LeakyIntegrator(tau=10.0), name="output")
    net.connect(inputs, output, "exc", gn.Oja(eta=1e-4, alpha=0.5), name="oja").connect_all_to_all(
        weights=gn.Uniform(0.0, 0.01))
    return net


def _poisson_if(size: str, options: dict) -> Any:
    import gpunet as gn
    n_in, n_out = _pick(size, (1000, 200), (1000, 200), (50, 10))
    net = gn.Network(dt=0.1, seed=9, **options)
    source = gn.PoissonPopulation(n_in, rates=20.0, name="poisson", network=net)
    target = net.create(n_out, gn.IF_cond_exp, name="if")
    net.connect(source, target, "exc", gn.STDP(w_max=0.05, A_plus=0.01, A_minus=0.0105), name="stdp") \
        .connect_fixed_probability(0.1, weights=gn.Uniform(0.0, 0.03), delays=gn.Uniform(0.1, 5.0))
    return net


def _stdp_2x10000(size: str, options: dict) -> Any:
    from gpunet.examples import reference_network
    neurons, probability = _pick(size, (10_000, 0.01), (2_000, 0.05), (100, 0.1))
    return reference_network(neurons, probability=probability, seed=42, **options)


def _one_neuron(size: str, options: dict) -> Any:
    import gpunet as gn
    net = gn.Network(dt=1.0, seed=1, **options)
    pop = net.create(1, gn.Izhikevich, name="one")
    pop.i_offset = 10.0
    return net


CASES = {case.key: case for case in (
    Case("izh_ei_1m", "Izhikevich E/I 800/200, all-to-all (1M syn, 639k STDP), noise",
         lambda s, o: _izhikevich_ei(s, o, dense=True), lambda s: Protocol(1, _pick(s, 5000.0, 500.0, 20.0))),
    Case("izh_ei_100k", "Izhikevich E/I 800/200, p=0.1 (100k syn), deterministic",
         lambda s, o: _izhikevich_ei(s, o, dense=False), lambda s: Protocol(1, _pick(s, 1000.0, 300.0, 20.0))),
    Case("rate_200_40", "rate 200 -> 40, Oja + lateral inhibition, N x simulate(50)", _rate_200_40,
         _rate_200_40_protocol),
    Case("rate_oja_1m", "rate 1000 -> 1000 all-to-all Oja (1M syn)", _rate_oja,
         lambda s: Protocol(1, _pick(s, 1000.0, 200.0, 20.0))),
    Case("poisson_if", "Poisson 1000 -> 200 IF_cond_exp, STDP, per-synapse delays, dt 0.1", _poisson_if,
         lambda s: Protocol(1, _pick(s, 2000.0, 200.0, 5.0))),
    Case("stdp_2x10000", "2 x 10,000 Izhikevich, ~1M STDP synapses, noise", _stdp_2x10000,
         lambda s: Protocol(1, _pick(s, 1000.0, 200.0, 20.0))),
    Case("one_neuron", "one Izhikevich neuron (per-step floor)", _one_neuron,
         lambda s: Protocol(1, _pick(s, 10000.0, 2000.0, 100.0)), per_step=True),
)}


# -- gpunet side -------------------------------------------------------------------------------------------
def available_runners() -> list[str]:
    """gpunet runners this machine can time: ``numpy``, and ``compiled`` when a C++ compiler is found."""
    runners = ["numpy"]
    try:
        from gpunet.codegen.runtime.host_loop import compiled_runner_available
    except ImportError:
        return runners
    if compiled_runner_available():
        runners.append("compiled")
    return runners


def build(case: Case, size: str, runner: str) -> Any:
    """The case's uncompiled network, on NumPy, for ``runner``."""
    net = case.build(size, {"backend": "numpy"})
    net.runner = runner  # also "numpy": GPUNET_RUNNER may have set another default
    return net


def _apply_inputs(net: Any, protocol: Protocol, call: int) -> None:
    for target, values in protocol.inputs.items():
        population, attribute = target.split(".")
        setattr(net.get_population(population), attribute, values[call])


def run_gpunet(case: Case, size: str, runner: str, threads: int = 1) -> dict[str, Any]:
    """Build, compile and run the case's protocol with ``runner`` (on ``threads`` OpenMP threads when compiled);
    timings and a fingerprint of the final state."""
    protocol = case.protocol(size)
    net = build(case, size, runner)
    net.num_threads = threads
    started = time.perf_counter()
    net.compile(silent=True)
    compiled, cpu = time.perf_counter(), time.process_time()
    for call in range(protocol.calls):
        _apply_inputs(net, protocol, call)
        net.simulate(protocol.ms, progress=False)
    simulate_s, cpu_s = time.perf_counter() - compiled, time.process_time() - cpu
    return {"compile_s": compiled - started, "simulate_s": simulate_s, "cpu_s": cpu_s, "steps": net.get_current_step(),
            "runner": getattr(net, "runner_in_use", runner), "state": fingerprint(net)}


def fingerprint(net: Any) -> dict[str, Any]:
    """Every population and projection variable of ``net`` (host copies), by ``object.variable``."""
    state = {}
    for obj in net.populations:
        for name in obj.spec.variables:
            state[f"{obj.name}.{name}"] = np.asarray(getattr(obj, name), dtype=np.float64).ravel()
    for proj in net.projections:
        for name in proj.spec.variables:
            state[f"{proj.name}.{name}"] = net.backend.to_host(proj.device_view(name)).astype(np.float64)
    return state


# -- ANNarchy side (the child runs suite_annarchy.py) ------------------------------------------------------
def find_annarchy_python(explicit: Optional[str] = None) -> Optional[str]:
    """``--annarchy-python``, else ``$GPUNET_ANNARCHY_PYTHON``, else None (ANNarchy is never imported here)."""
    return explicit or os.environ.get("GPUNET_ANNARCHY_PYTHON") or None


def describe(net: Any, protocol: Protocol, folder: Path) -> dict[str, Any]:
    """A plain description of ``net`` for ANNarchy: JSON structure, arrays written to ``folder/net.npz``."""
    arrays: dict[str, np.ndarray] = {}
    populations, projections = [], []
    for pop in net.populations:
        entry = {"name": pop.name, "size": pop.size, "model": pop.spec.name, "attributes": []}
        if pop.spec.name == "Poisson":
            arrays[f"{pop.name}.rates"] = np.asarray(pop.rates, dtype=np.float64).ravel()
        else:
            for name in list(pop.spec.parameters) + list(pop.spec.variables):
                arrays[f"{pop.name}.{name}"] = np.asarray(getattr(pop, name), dtype=np.float64)
                entry["attributes"].append(name)
        populations.append(entry)
    for proj in net.projections:
        post_ranks, row_ptr, pre_ranks = proj.connectivity()
        delays = proj.delays
        entry = {"name": proj.name, "pre": proj.pre.name, "post": proj.post.name, "target": proj.target,
                 "synapse": proj.spec.name, "globals": {}, "uniform_delay": None}
        if isinstance(delays, float):
            entry["uniform_delay"] = delays
        else:
            arrays[f"{proj.name}.delays"] = np.concatenate([np.asarray(d, dtype=np.float64) for d in delays])
        for name in proj.spec.parameters:
            value = getattr(proj, name)
            if np.ndim(value) == 0:
                entry["globals"][name] = float(value)
        arrays[f"{proj.name}.post_ranks"] = np.asarray(post_ranks)
        arrays[f"{proj.name}.row_ptr"] = np.asarray(row_ptr)
        arrays[f"{proj.name}.pre_ranks"] = np.asarray(pre_ranks)
        arrays[f"{proj.name}.w"] = np.concatenate([np.asarray(w, dtype=np.float64) for w in proj.w]) \
            if proj.nb_synapses else np.zeros(0)
        projections.append(entry)
    for target, values in protocol.inputs.items():
        arrays[f"input:{target}"] = values
    np.savez(folder / "net.npz", **arrays)
    return {"dt": net.dt, "seed": int(net.seed) % (2 ** 31), "populations": populations,
            "projections": projections, "calls": protocol.calls, "ms": protocol.ms,
            "inputs": list(protocol.inputs), "arrays": str(folder / "net.npz")}


def run_annarchy(python: str, description: dict, timeout: float = 1800.0) -> dict[str, Any]:
    """Run ``suite_annarchy.py`` with ``python`` on ``description``; its JSON result or ``{"error": ...}``."""
    environment = dict(os.environ)
    # ANNarchy's compile runs cmake, which calls python3: the interpreter's folder comes first on PATH
    environment["PATH"] = str(Path(python).parent) + os.pathsep + environment.get("PATH", "")
    script = Path(__file__).resolve().parent / "suite_annarchy.py"
    try:
        completed = subprocess.run([python, str(script), json.dumps(description)], env=environment,
                                   capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
    return {"error": f"exit status {completed.returncode}: " + " | ".join(tail)}


# -- the run -----------------------------------------------------------------------------------------------
def thread_row(name: str, threads: int) -> str:
    """The name of the row of ``name`` ("compiled", "annarchy") run on ``threads`` threads."""
    return name if threads == 1 else f"{name}-{threads}t"


def run_suite(keys: list[str], size: str, runners: list[str], python: Optional[str],
              out: Callable[[str], None] = print, threads: int = 1) -> dict[str, dict[str, Any]]:
    """Time every case of ``keys``; print one block per case; return the results by case and runner.

    With ``threads`` > 1 the compiled runner and ANNarchy also run on that many threads (rows ``*-Nt``)."""
    results: dict[str, dict[str, Any]] = {}
    for key in keys:
        case = CASES[key]
        protocol = case.protocol(size)
        out(f"{key}: {case.title} [{size}: {protocol.calls} x simulate({protocol.ms:g} ms)]")
        rows: dict[str, Any] = {}
        for runner in runners:
            rows[runner] = run_gpunet(case, size, runner)
            if runner == "compiled" and threads > 1:
                rows[thread_row(runner, threads)] = run_gpunet(case, size, runner, threads)
        if python is not None:
            with tempfile.TemporaryDirectory(prefix="gpunet-suite-") as folder:
                description = describe(build(case, size, "numpy"), protocol, Path(folder))
                rows["annarchy"] = run_annarchy(python, description)
                if threads > 1:
                    rows[thread_row("annarchy", threads)] = run_annarchy(python, {**description, "num_threads": threads})
        results[key] = rows
        steps = next(iter(rows.values()))["steps"]
        for name, row in rows.items():
            reference = rows.get(thread_row("annarchy", threads) if name.endswith(f"-{threads}t") else "annarchy", {})
            if "error" in row:
                out(f"  {name:<12} failed: {row['error']}")
                continue
            line = (f"  {name:<12} compile {row['compile_s']:7.3f} s | simulate {row['simulate_s']:8.3f} s wall "
                    f"{row['cpu_s']:8.3f} s CPU")
            if case.per_step:
                line += f" | {row['cpu_s'] / max(steps, 1) * 1e6:8.2f} us/step CPU"
            if reference.get("simulate_s") and not name.startswith("annarchy"):
                line += (f" | gpunet/ANNarchy {row['simulate_s'] / reference['simulate_s']:6.2f} wall, "
                         f"{row['cpu_s'] / max(reference['cpu_s'], 1e-9):6.2f} CPU")
            if name != "numpy" and not name.startswith("annarchy") and "state" in rows.get("numpy", {}):
                same = all(np.array_equal(row["state"][k], v) for k, v in rows["numpy"]["state"].items())
                line += " | state bit-identical to numpy" if same else " | state DIFFERS from numpy"
            out(line)
    return results


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes (seconds, not minutes)")
    parser.add_argument("--size", choices=SIZES, help="network sizes (overrides --quick)")
    parser.add_argument("--networks", help=f"comma-separated subset of {','.join(CASES)}")
    parser.add_argument("--runners", help="comma-separated gpunet runners (default: all available)")
    parser.add_argument("--annarchy-python", help="Python interpreter with ANNarchy (else $GPUNET_ANNARCHY_PYTHON)")
    parser.add_argument("--no-annarchy", action="store_true", help="gpunet figures only")
    parser.add_argument("--threads", type=int, default=1,
                        help="also time the compiled runner and ANNarchy on this many OpenMP threads")
    parser.add_argument("--json", help="also write the timings to this JSON file")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    size = args.size or ("quick" if args.quick else "full")
    keys = args.networks.split(",") if args.networks else list(CASES)
    unknown = [k for k in keys if k not in CASES]
    if unknown:
        parser.error(f"unknown network(s) {unknown}; choose from {list(CASES)}")
    runners = args.runners.split(",") if args.runners else available_runners()
    python = None if args.no_annarchy else find_annarchy_python(args.annarchy_python)
    import gpunet
    print(f"gpunet {gpunet.__version__}, runners {runners}; ANNarchy: "
          + (python if python else "not run (--annarchy-python or GPUNET_ANNARCHY_PYTHON)") + f"; {os.cpu_count()} CPUs"
          + (f"; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}" if hasattr(os, "getloadavg") else ""))
    results = run_suite(keys, size, runners, python, threads=args.threads)
    if args.json:
        for rows in results.values():
            for row in rows.values():
                row.pop("state", None)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
