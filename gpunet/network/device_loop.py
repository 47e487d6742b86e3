"""The network's side of the GPU step graph: whole steps replayed without Python work per kernel.

On a GPU whose objects all run generated kernels, :func:`install` (called by
``Network.compile``) makes :class:`GraphStepLoop` the network's step loop: each
step is one replay of a :class:`gpunet.codegen.runtime.step_graph.StepGraph`
(a CUDA graph where CuPy captures streams, else its launch list), followed by
the monitors of that step.  One log line says which.  Before each call the
loop checks that its launches still hold the network's arrays (a load or a
reseed may replace them: it records again, compiling nothing) and that every
object still runs kernels (learning switched off, ``set_runner``): otherwise
the steps run the per-object runners (:class:`gpunet.network.runners.StepLoop`).
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from gpunet.codegen.runtime.step_graph import StepGraph, graph_reason
from gpunet.network.runners import StepLoop

log = logging.getLogger("gpunet")


class GraphStepLoop:
    """A network runner replaying a recorded step (see the module docstring)."""

    kind = "graph"
    #: ``Network.simulate`` may give it many steps per call: it records every step's monitors itself.
    runs_chunks = True

    def __init__(self, network: Any, graph: StepGraph) -> None:
        self.network = network
        self.graph = graph
        self.steps = StepLoop(network)  # the per-object runners, when the graph cannot run
        self._checked = False
        self._usable = False
        self._clock: Optional[int] = None  # the step the device clock holds (None: unknown)

    def invalidate(self) -> None:
        """Runners changed (``set_runner``, learning switched): check again before the next step."""
        self.steps.invalidate()
        self._checked = False

    def usable(self) -> bool:
        """Whether the next steps replay the graph (recording it again when arrays were replaced)."""
        if not self._checked:
            self._usable = graph_reason(self.network) is None
            self._checked = True
        if not self._usable:
            return False
        if not self.graph.current():
            self.prepare()
        return True

    def prepare(self) -> None:
        """Record the step's launches and capture them where the device can."""
        network = self.network
        with network.backend.activate():
            self.graph.record()
            self.graph.capture(network.backend.compute_stream)
        self._clock = None

    def run(self, count: int) -> None:
        """Advance the network ``count`` steps."""
        if not self.usable():
            self._clock = None  # the per-object runners take the step by value: the device clock falls behind
            self.steps.run(count)
            return
        network, graph = self.network, self.graph
        t = network._step
        if self._clock != t:
            graph.set_step(t)
        stream = network.backend.compute_stream
        monitors = network.monitors
        for _ in range(count):
            graph.replay(stream)
            for monitor in monitors:
                monitor._record(t)
            t += 1
            network._step = t
        self._clock = t


def install(network: Any) -> Optional[GraphStepLoop]:
    """Make a :class:`GraphStepLoop` ``network``'s step loop when it can run one; log which step loop runs.

    Parameters
    ----------
    network : Network
        A compiled network on a GPU, its fused kernels attached.

    Returns
    -------
    GraphStepLoop or None
        The loop installed, or None (the per-object runners run the steps).
    """
    reason = graph_reason(network)
    if reason is not None:
        log.info("steps: per-object kernel runners (no step graph: %s)", reason)
        return None
    with network.backend.activate():  # the graph's arrays (the clock) live on the network's device and stream
        loop = GraphStepLoop(network, StepGraph(network))
        loop.prepare()
    network.use_step_loop(loop)
    kernels = len(loop.graph.launches)
    if loop.graph.mode == "graph":
        log.info("steps: CUDA graph of one step (%d kernels, one graph launch per step; %s)", kernels,
                 loop.graph.description())
    else:
        log.info("steps: launch list of %d kernels per step (no CUDA graph: %s; %s)", kernels,
                 loop.graph.capture_error, loop.graph.description())
    return loop
