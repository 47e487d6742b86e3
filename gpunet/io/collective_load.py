"""A load by several processes together: validated everywhere before it changes anything anywhere.

Every process reads the file and plans its restore (:func:`gpunet.io.pipeline.restore.plan_restore`: every name, size,
shape and value checked, everything allocated); one ``allgather`` then tells each process whether all plans
succeeded.  Only then does each apply its plan (:func:`gpunet.io.pipeline.restore.apply_restore`, which cannot fail on
input).  A failure on any process raises on every process (its own error where it failed, a
:class:`~gpunet.errors.GpunetError` naming the failed processes elsewhere) and no network has changed.

While the simulation is not distributed, each process holds the whole network and reads the whole state; a
distributed engine would read :func:`gpunet.io.parts.read_part` instead and plan its own rows.
"""
from __future__ import annotations

from typing import Any, Callable

from gpunet.errors import GpunetError
from gpunet.io.pipeline.restore import apply_restore, plan_restore
from gpunet.io.pipeline.state_types import NetworkState

__all__ = ["load_together"]


def load_together(network: Any, read: Callable[[], NetworkState], filename: str, comm: Any, populations: Any = True,
                  projections: Any = True, strict: bool = False) -> None:
    """Load the state ``read()`` gives (from ``filename``) into ``network`` on every process of ``comm``, or on
    none (see the module)."""
    plan, error = None, None
    try:
        state = read()
        plan = plan_restore(network, state, str(filename), populations=populations, projections=projections,
                            strict=strict, whole_network=True)
    except GpunetError as exc:
        error = exc
    reports = comm.allgather(None if error is None else f"{type(error).__name__}: {error}")
    if error is not None:
        raise error
    failed = [f"process {rank}: {report}" for rank, report in enumerate(reports) if report is not None]
    if failed:
        raise GpunetError(f"{filename}: the load failed on {len(failed)} of {len(reports)} processes, so no "
                          f"process changed its network ({'; '.join(failed)})")
    apply_restore(network, plan)
