"""Run a benchmark network in ANNarchy, for side-by-side figures (this module never imports gpunet).

The gpunet side builds its network, then :func:`export_network` writes what
defines it to a plain ``.npz`` (numbers only): every Izhikevich parameter of
both populations (``i_offset`` and ``noise`` included, so the drive is the
same), and for a projection its synapses, weights, uniform delay and STDP
globals.  :func:`run_in_subprocess` starts this file with a Python that has
ANNarchy (possibly another virtual environment); :func:`run_annarchy` rebuilds
the very same network there (``connect_from_sparse``), compiles and simulates
it, and prints one JSON line.  Only the noise realisations differ.

ANNarchy's compile step runs cmake, which calls ``python3``: the interpreter's
folder is put first on PATH for that reason.

Usage (normally spawned by the benchmarks)::

    python benchmarks/annarchy_side.py '{"network_file": "net.npz", "duration": 1000.0, "noise": [0.0, 2.0]}'

With ``"save_load": [".txt", ".txt.gz"]`` it also times ANNarchy's own
``net.save``/``net.load`` of the simulated network in each format (best of
``"repeats"``).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

RESULT_PREFIX = "ANNARCHY-RESULT "
NEURON_ATTRIBUTES = ("a", "b", "c", "d", "v_thresh", "i_offset", "noise")
STDP_GLOBALS = ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max")


def find_annarchy_python(explicit: Optional[str] = None) -> Optional[str]:
    """The Python interpreter that can import ANNarchy, or None.

    Looks at ``explicit`` (``--annarchy-python``), then the environment variable
    ``GPUNET_ANNARCHY_PYTHON``, then the running interpreter.
    """
    for candidate in (explicit, os.environ.get("GPUNET_ANNARCHY_PYTHON")):
        if candidate:
            return candidate
    if importlib.util.find_spec("ANNarchy") is not None:
        return sys.executable
    return None


def export_network(net: Any, path: Path) -> None:
    """Write the two Izhikevich populations (and the STDP projection, if any) of a gpunet network to ``path``."""
    arrays: dict[str, Any] = {"dt": net.dt, "seed": net.seed}
    for index, population in enumerate(net.populations):
        arrays[f"pop{index}.size"] = population.size
        for name in NEURON_ATTRIBUTES:
            arrays[f"pop{index}.{name}"] = np.broadcast_to(getattr(population, name), (population.size,))
    if net.projections:
        proj = net.projections[0]
        delay = proj.delays
        if not isinstance(delay, float):
            raise ValueError("the ANNarchy side needs one uniform delay (connect_from_sparse)")
        post_ranks, row_ptr, pre_ranks = proj.connectivity()
        arrays["proj.pre"] = pre_ranks
        arrays["proj.post"] = np.repeat(post_ranks, np.diff(row_ptr))
        arrays["proj.w"] = np.concatenate(proj.w) if proj.nb_synapses else np.zeros(0)
        arrays["proj.delay"] = delay
        for name in STDP_GLOBALS:
            arrays[f"proj.{name}"] = getattr(proj, name)
    np.savez(path, **arrays)


def run_in_subprocess(python: str, config: dict, timeout: float = 900.0) -> dict:
    """Run :func:`run_annarchy` with ``python``; return its result (``{"error": ...}`` on failure)."""
    environment = dict(os.environ)
    environment["PATH"] = str(Path(python).parent) + os.pathsep + environment.get("PATH", "")
    try:
        completed = subprocess.run([python, str(Path(__file__).resolve()), json.dumps(config)], env=environment,
                                   capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
    return {"error": f"exit status {completed.returncode}: " + " | ".join(tail)}


def _set_drive(populations: list, spec: Any, noise: Optional[float]) -> None:
    for index, population in enumerate(populations):
        for name in NEURON_ATTRIBUTES:
            setattr(population, name, spec[f"pop{index}.{name}"])
        if noise is not None:
            population.noise = noise


def _build(ann: Any, spec: Any) -> tuple[Any, list, Any]:
    import scipy.sparse

    net = ann.Network(dt=float(spec["dt"]), seed=int(spec["seed"]) % (2 ** 31))
    count = sum(1 for key in spec if key.startswith("pop") and key.endswith(".size"))
    populations = [net.create(int(spec[f"pop{k}.size"]), ann.Izhikevich, name=f"pop{k}") for k in range(count)]
    proj = None
    if "proj.w" in spec:
        stdp = ann.STDP(**{name: float(spec[f"proj.{name}"]) for name in STDP_GLOBALS})
        proj = net.connect(populations[0], populations[1], "exc", stdp, name="proj0")
        shape = (populations[0].size, populations[1].size)  # ANNarchy's sparse matrices are (pre, post)
        matrix = scipy.sparse.csr_matrix((spec["proj.w"], (spec["proj.pre"], spec["proj.post"])), shape=shape)
        proj.from_sparse(matrix, delays=float(spec["proj.delay"]))
    return net, populations, proj


def run_annarchy(config: dict) -> dict[str, Any]:
    """Rebuild the exported network in ANNarchy, compile it, simulate it; timings and counts.

    ``config["noise"]`` (optional) is a list of noise levels: one run each on
    the same compiled network (``reset()`` in between).  Without it, one run
    with the exported noise.
    """
    import ANNarchy as ann

    spec = dict(np.load(config["network_file"]))
    started = time.perf_counter()
    net, populations, proj = _build(ann, spec)
    record = list(config.get("record") or [])  # variables recorded at every step besides the spikes
    monitors = [net.monitor(population, ["spike", *record]) for population in populations]
    result: dict[str, Any] = {"version": ann.__release__, "runs": []}
    with tempfile.TemporaryDirectory(prefix="annarchy-bench-") as folder:
        net.compile(directory=folder, silent=True)
        result["build_s"] = time.perf_counter() - started
        result["synapses"] = int(proj.nb_synapses) if proj is not None else 0
        for index, noise in enumerate(config.get("noise") or [None]):
            if index:
                net.reset()
            _set_drive(populations, spec, noise)
            start, cpu = time.perf_counter(), time.process_time()
            net.simulate(float(config["duration"]))
            run: dict[str, Any] = {"noise": noise, "simulate_s": time.perf_counter() - start,
                                   "cpu_s": time.process_time() - cpu}
            spikes = [m.get("spike") for m in monitors]
            for monitor in monitors:
                for variable in record:
                    monitor.get(variable)
            run["spikes"] = [sum(len(times) for times in s.values()) for s in spikes]
            if proj is not None:
                out_degree = np.bincount(spec["proj.pre"], minlength=populations[0].size)
                run["events"] = int(sum(len(times) * out_degree[rank] for rank, times in spikes[0].items()))
                run["w_mean"] = float(np.mean(np.concatenate([np.asarray(r) for r in proj.w])))
            result["runs"].append(run)
        if config.get("save_load"):
            result["save_load"] = _time_save_load(net, config["save_load"], int(config.get("repeats", 3)))
    return result


def _time_save_load(net: Any, suffixes: list[str], repeats: int) -> dict[str, dict[str, float]]:
    """Best-of-``repeats`` seconds of ``net.save`` and ``net.load`` for each suffix, and the file size."""
    timings = {}
    with tempfile.TemporaryDirectory(prefix="annarchy-save-") as folder:
        for suffix in suffixes:
            path = os.path.join(folder, "state" + suffix)
            saves, loads = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                net.save(path)
                saves.append(time.perf_counter() - start)
            for _ in range(repeats):
                start = time.perf_counter()
                net.load(path)
                loads.append(time.perf_counter() - start)
            timings[suffix] = {"save_s": min(saves), "load_s": min(loads), "size": os.path.getsize(path)}
    return timings


def main() -> None:
    config = json.loads(sys.argv[1])
    print(RESULT_PREFIX + json.dumps(run_annarchy(config)), flush=True)


if __name__ == "__main__":
    main()
