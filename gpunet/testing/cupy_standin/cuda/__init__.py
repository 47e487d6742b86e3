"""``cupy.cuda`` of the stand-in: devices, streams, events, pinned memory, runtime and compiler."""
from gpunet.testing.cupy_standin.cuda import compiler, graph, runtime
from gpunet.testing.cupy_standin.cuda.device import Device
from gpunet.testing.cupy_standin.cuda.errors import CUDARuntimeError
from gpunet.testing.cupy_standin.cuda.memory import PinnedMemoryPointer, alloc_pinned_memory
from gpunet.testing.cupy_standin.cuda.streams import Event, Stream, get_current_stream, get_elapsed_time

__all__ = ["Device", "Stream", "Event", "alloc_pinned_memory", "PinnedMemoryPointer", "get_current_stream",
           "get_elapsed_time", "runtime", "compiler", "graph", "CUDARuntimeError", "is_available"]


def is_available() -> bool:
    return True
