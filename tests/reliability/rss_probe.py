"""Load one file in a child process and report its peak memory (used by the memory-bound tests).

``python tests/reliability/rss_probe.py`` prints the figures of every crafted input of
:mod:`hostile_inputs`; ``PYTHONPATH=<a checkout> python tests/reliability/rss_probe.py`` measures that checkout
(default: this one).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

#: The child: imports gpunet, then loads each file in turn and reports, per file, the peak RSS reached
#: during the load above the RSS before it.  Between files the kernel's high-water mark is reset
#: (/proc/self/clear_refs); where that is impossible, the caller gives one file per child.
CHILD = r"""
import json, resource, sys, time
import gpunet
from gpunet.errors import GpunetError

def status(field):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False

for path in sys.argv[1:]:
    resettable = reset_peak()
    base = status("VmRSS") if resettable else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        gpunet.read_state(path)
        outcome, message = "loaded", ""
    except GpunetError as exc:
        outcome, message = type(exc).__name__, str(exc)[:300]
    except BaseException as exc:  # what the tests look for: anything that is not a gpunet error
        outcome, message = "escaped " + type(exc).__name__, str(exc)[:300]
    peak = status("VmHWM") if resettable else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"path": path, "outcome": outcome, "message": message, "base_kb": base, "peak_kb": peak,
                      "seconds": time.perf_counter() - start, "resettable": resettable}), flush=True)
"""


def probe_many(paths: list[Path], address_limit: int = 6 << 30, timeout: float = 300.0) -> list[dict]:
    """Load each of ``paths`` in one child limited to ``address_limit`` bytes of address space.

    Returns one report per path: ``outcome`` (the gpunet error's class name, ``"loaded"``, or
    ``"escaped <class>"``), ``message``, ``extra_bytes`` (peak RSS during the load above the RSS
    before it) and ``seconds``.  A child that dies is reported for the path it was loading.
    """
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_limit, address_limit))

    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    # Run beside the files, not in the caller's folder: ``python -c`` imports from its working folder first,
    # and PYTHONPATH is what chooses the gpunet measured.
    done = subprocess.run([sys.executable, "-c", CHILD, *(str(Path(p).resolve()) for p in paths)],
                          capture_output=True, text=True, timeout=timeout, preexec_fn=limit, env=env,
                          cwd=str(Path(paths[0]).resolve().parent))
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    for report in reports:
        report["extra_bytes"] = (report["peak_kb"] - report["base_kb"]) * 1024
    if reports and not reports[0]["resettable"] and len(paths) > 1:  # one file per child, then
        return [probe_many([path], address_limit, timeout)[0] for path in paths]
    if len(reports) < len(paths):
        reports.append({"path": str(paths[len(reports)]), "outcome": f"child died (status {done.returncode})",
                        "message": done.stderr[-500:], "extra_bytes": 0, "seconds": 0.0})
        reports += probe_many(paths[len(reports):], address_limit, timeout) if len(reports) < len(paths) else []
    return reports


def probe(path: Path, address_limit: int = 6 << 30, timeout: float = 300.0) -> dict:
    """:func:`probe_many` of one file."""
    return probe_many([path], address_limit, timeout)[0]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import hostile_inputs
    folder = Path(tempfile.mkdtemp(prefix="gpunet-rss-"))
    for name, (suffix, build) in hostile_inputs.CASES.items():
        path = folder / f"{name}{suffix}"
        path.write_bytes(build())
        report = probe(path)
        print(f"{name:28s} {path.stat().st_size:>10,d} B  peak extra {report['extra_bytes'] / 2 ** 20:9.1f} MiB  "
              f"{report['seconds']:6.2f} s  {report['outcome']}: {report['message'][:110]}")
        path.unlink()


if __name__ == "__main__":
    main()
