"""Load one file in a child process and report its peak memory (used by the memory-bound tests).

``python tests/reliability/rss_probe.py`` prints the figures of every crafted input of
:mod:`hostile_inputs` (run it with ``PYTHONPATH`` at a checkout to measure that checkout).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

#: The child: imports gpunet, notes its RSS, loads the file, reports the peak RSS and what was raised.
CHILD = r"""
import json, resource, sys, time
import gpunet
from gpunet.errors import GpunetError
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    gpunet.read_state(sys.argv[1])
    outcome, message = "loaded", ""
except GpunetError as exc:
    outcome, message = type(exc).__name__, str(exc)[:300]
except BaseException as exc:  # what the tests look for: anything that is not a gpunet error
    outcome, message = "escaped " + type(exc).__name__, str(exc)[:300]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "message": message, "base_kb": base, "peak_kb": peak,
                  "seconds": time.perf_counter() - start}))
"""


def probe(path: Path, address_limit: int = 6 << 30, timeout: float = 120.0) -> dict:
    """Load ``path`` in a child limited to ``address_limit`` bytes of address space.

    Returns the child's report: ``outcome`` (the gpunet error's class name, ``"loaded"``, or
    ``"escaped <class>"``), ``message``, ``base_kb`` (peak RSS after importing gpunet),
    ``peak_kb`` (peak RSS at the end), ``extra_bytes`` (their difference) and ``seconds``.
    """
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_limit, address_limit))

    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, env=env)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"outcome": f"child died (status {done.returncode})", "message": done.stderr[-500:],
                "base_kb": 0, "peak_kb": 0, "extra_bytes": 0, "seconds": 0.0}
    report = json.loads(lines[-1])
    report["extra_bytes"] = (report["peak_kb"] - report["base_kb"]) * 1024
    return report


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
