"""One prepared GPU check: every GPU test, the kernel and snapshot benchmarks and the demo, in one report.

Run it once on a machine with a real GPU::

    python benchmarks/gpu_check.py --out DIR [--quick]

It writes ``DIR/report.md`` and ``DIR/report.json``: the device, CuPy and
CUDA versions, each ``-m gpu`` test with its outcome and time, the output
of ``bench_kernels.py``, ``bench_launch_overhead.py`` (host time per
launch; launches issued and host microseconds per step with the step's CUDA
graph, its launch list and the per-object runners, also on the 2 x 10,000
network with 20 delay values), ``bench_snapshots.py`` (the 1M-synapse network) and
``gpunet demo --backend cupy``, ``bench_distributed_gpu.py`` under ``mpiexec -n 1`` and ``-n 2``
(the distributed engine, both processes on the one GPU: time per step, bytes exchanged) where mpiexec
exists, and, where ``compute-sanitizer`` exists, its
``racecheck`` and ``memcheck`` verdicts on the reference network with fused
kernels.  Each step has its own time limit, 590 s in all, so that the whole
check stays near 10 minutes (not yet measured on a GPU; ``--quick``
shortens the benchmarks).  On the CuPy stand-in (``GPUNET_CUPY_STANDIN=1``) it runs too,
as a rehearsal: the benchmarks then refuse to print GPU timings.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout this script belongs to, also for the steps (PYTHONPATH below)

SANITIZED = """
from gpunet.examples import reference_network
net = reference_network(neurons=200, backend="cupy", seed=3)
net.compile()
net.simulate(20.0, progress=False)
net.populations[0].v = -70.0
net.simulate(20.0, progress=False)
net.backend.synchronize()
print("fused:", net.fused.fused if net.fused else None)
"""


def run_step(name: str, command: list[str], timeout: float, out: Path) -> dict[str, Any]:
    """Run one step, keep its output in ``out/<name>.log``; return its outcome."""
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
        status, text = ("ok" if result.returncode == 0 else f"exit {result.returncode}"), result.stdout + result.stderr
    except subprocess.TimeoutExpired as exc:
        status = f"timed out after {timeout:.0f} s"
        text = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    (out / f"{name}.log").write_text(text)
    return {"name": name, "command": " ".join(command), "status": status,
            "seconds": round(time.perf_counter() - start, 1), "output": text[-6000:]}


def environment() -> dict[str, Any]:
    """Device, CuPy and CUDA versions (as gpunet sees them)."""
    from gpunet.backend import get_backend, gpu_unavailable_reason
    info: dict[str, Any] = {"python": sys.version.split()[0], "gpu_unavailable": gpu_unavailable_reason(0)}
    if info["gpu_unavailable"] is None:
        import cupy
        info["device"] = get_backend("cupy").describe()
        info["cupy"] = cupy.__version__
        info["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        info["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
        info["devices"] = cupy.cuda.runtime.getDeviceCount()
    smi = shutil.which("nvidia-smi")
    if smi:
        info["nvidia_smi"] = subprocess.run([smi, "-L"], capture_output=True, text=True).stdout.strip()
    return info


def test_results(junit: Path) -> list[dict[str, Any]]:
    """Each test case of a JUnit XML file: name, outcome, seconds, message."""
    if not junit.exists():
        return []
    cases = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome, message = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag], \
                    (element.get("message") or "")[:300]
        cases.append({"test": f"{case.get('classname')}::{case.get('name')}", "outcome": outcome,
                      "seconds": float(case.get("time") or 0.0), "message": message})
    return cases


def markdown(report: dict[str, Any]) -> str:
    lines = ["# gpunet GPU check", "", "## Environment", ""]
    lines += [f"- {key}: {value}" for key, value in report["environment"].items()]
    counts: dict[str, int] = {}
    for case in report["tests"]:
        counts[case["outcome"]] = counts.get(case["outcome"], 0) + 1
    lines += ["", "## Tests (-m gpu)", "", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none", "",
              "| test | outcome | s | message |", "|---|---|---|---|"]
    lines += [f"| {c['test']} | {c['outcome']} | {c['seconds']:.2f} | {c['message']} |" for c in report["tests"]]
    for step in report["steps"]:
        lines += ["", f"## {step['name']} ({step['status']}, {step['seconds']} s)", "", f"`{step['command']}`", "",
                  "```", step["output"].strip()[-4000:], "```"]
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for report.md, report.json and the logs")
    parser.add_argument("--quick", action="store_true", help="shorter benchmarks (a rehearsal)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    started = time.perf_counter()
    report: dict[str, Any] = {"environment": environment(), "steps": []}
    junit = out / "gpu-tests.xml"
    steps = [
        ("gpu-tests", [python, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "-ra",
                       f"--junitxml={junit}"], 160),
        ("bench-kernels", [python, "benchmarks/bench_kernels.py"]
         + (["--networks", "1M", "--duration", "200", "--numpy-duration", "20"] if args.quick
            else ["--numpy-duration", "20"]), 100),
        ("bench-launch-overhead", [python, "benchmarks/bench_launch_overhead.py", "--steps",
                                   "300" if args.quick else "1000"], 40),
        # the goal: host time per step of the 2 x 10,000 network (20 delay values), graph or not
        ("bench-step-graph", [python, "benchmarks/bench_launch_overhead.py", "--neurons", "10000", "--delays",
                              "per-synapse", "--keep-kernels", "--repeats", "1", "--steps",
                              "200" if args.quick else "1000"], 50),
        ("bench-snapshots", [python, "benchmarks/bench_snapshots.py", "--skip-big", "--folder", str(out / "snaps")],
         50),
        ("demo", [python, "-m", "gpunet", "demo", "--backend", "cupy", "--out", str(out / "demo")]
         + (["--neurons", "1000", "--duration", "200"] if args.quick else []), 60),
    ]
    mpiexec = Path(python).with_name("mpiexec")  # the distributed engine on the GPU(s), where the mpi extra is
    if mpiexec.exists() or shutil.which("mpiexec"):
        for nprocs in (1, 2):
            steps.append((f"distributed-n{nprocs}", [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n",
                                                     str(nprocs), python, "benchmarks/bench_distributed_gpu.py"]
                          + (["--neurons", "2000", "--simulate-ms", "200"] if args.quick else []), 40))
    sanitizer = shutil.which("compute-sanitizer")
    if sanitizer and not report["environment"].get("device", "").startswith("CuPy stand-in"):
        for tool in ("racecheck", "memcheck"):
            steps.append((f"sanitizer-{tool}", [sanitizer, f"--tool={tool}", "--error-exitcode=1", python, "-c",
                                                SANITIZED], 25))
    for name, command, timeout in steps:
        print(f"gpu_check: {name} ...", flush=True)
        step = run_step(name, command, timeout, out)
        print(f"gpu_check: {name}: {step['status']} ({step['seconds']} s)", flush=True)
        report["steps"].append(step)
    report["tests"] = test_results(junit)
    report["seconds"] = round(time.perf_counter() - started, 1)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(markdown(report))
    print(f"gpu_check: report in {out / 'report.md'} ({report['seconds']} s)")
    failed = [s["name"] for s in report["steps"] if s["status"] != "ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
