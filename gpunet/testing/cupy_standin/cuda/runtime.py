"""``cupy.cuda.runtime`` of the stand-in: devices, memory information and raw copies.

Copies check every pointer against the memory the stand-in knows: device
pointers must lie in a device array (whose ``.data`` was taken) of the
stream's device, host pointers must not.  A device-to-host copy into host
memory that is not pinned is synchronous on a GPU: it is counted as a sync.
"""
from __future__ import annotations

import ctypes
import os
from typing import Optional

from gpunet.testing.cupy_standin import _hazards, _state
from gpunet.testing.cupy_standin.cuda.device import check_id
from gpunet.testing.cupy_standin.cuda.errors import CUDARuntimeError
from gpunet.testing.cupy_standin.cuda.streams import stream_of_ptr

__all__ = ["CUDARuntimeError", "getDeviceCount", "getDevice", "setDevice", "memGetInfo", "getDeviceProperties",
           "memcpyAsync", "memcpy", "memcpyHostToHost", "memcpyHostToDevice", "memcpyDeviceToHost",
           "memcpyDeviceToDevice", "memcpyDefault", "runtimeGetVersion", "driverGetVersion", "is_hip",
           "DEVICE_NAME"]

is_hip = False
memcpyHostToHost, memcpyHostToDevice, memcpyDeviceToHost, memcpyDeviceToDevice, memcpyDefault = 0, 1, 2, 3, 4
#: The name every stand-in device reports.
DEVICE_NAME = "CuPy stand-in (no GPU)"
_KIND_NAMES = {0: "HostToHost", 1: "HostToDevice", 2: "DeviceToHost", 3: "DeviceToDevice", 4: "Default"}


def getDeviceCount() -> int:  # noqa: N802 - CUDA's names
    return _state.device_count()


def getDevice() -> int:  # noqa: N802
    return _state.current_device()


def setDevice(device: int) -> None:  # noqa: N802
    from gpunet.testing.cupy_standin.cuda.device import Device
    Device(device).use()


def memGetInfo() -> tuple[int, int]:  # noqa: N802
    """(free, total) bytes: the host's available and physical memory."""
    return _state.memory_info()


def getDeviceProperties(device: int) -> dict:  # noqa: N802
    check_id(device)
    return {"name": DEVICE_NAME.encode(), "totalGlobalMem": _state.memory_info()[1], "major": 9, "minor": 0,
            "multiProcessorCount": os.cpu_count() or 1, "warpSize": 32, "maxThreadsPerBlock": 1024,
            "pciBusID": device}


def runtimeGetVersion() -> int:  # noqa: N802
    return 12000


def driverGetVersion() -> int:  # noqa: N802
    return 12000


def _side(address: int, size: int, on_device: bool, stream_device: int, what: str) -> Optional[_state.Range]:
    found = _state.find(int(address), int(size))
    if on_device:
        if found is None or found.device is None:
            raise CUDARuntimeError(f"cudaErrorInvalidValue: {what} {address:#x} (+{size} bytes) is not in a "
                                   "device allocation of the CuPy stand-in")
        if found.device != stream_device:
            raise CUDARuntimeError(f"cudaErrorInvalidValue: {what} {address:#x} is memory of device "
                                   f"{found.device}, the copy runs on device {stream_device}")
    elif found is not None and found.device is not None:
        raise CUDARuntimeError(f"cudaErrorInvalidValue: {what} {address:#x} is device memory (device "
                               f"{found.device}), a host address was expected")
    return found


def _copy(dst: int, src: int, size: int, kind: int, stream, blocking: bool) -> None:
    if kind not in _KIND_NAMES or kind == memcpyDefault:
        raise CUDARuntimeError(f"cudaErrorInvalidMemcpyDirection: the CuPy stand-in takes an explicit kind, "
                               f"got {kind}")
    size = int(size)
    if size < 0:
        raise CUDARuntimeError(f"cudaErrorInvalidValue: negative size {size}")
    device = stream.device_id
    if stream.device is not None and stream.device != _state.current_device():
        raise CUDARuntimeError(f"cudaErrorInvalidResourceHandle: stream {stream.label} of device {stream.device} "
                               f"used while device {_state.current_device()} is current")
    if size == 0:
        return
    name = _KIND_NAMES[kind]
    source = _side(src, size, name.startswith("Device"), device, "source")
    target = _side(dst, size, name.endswith("ToDevice"), device, "destination")
    ctypes.memmove(int(dst), int(src), size)
    _state.launches.count(f"memcpy{name}")
    device_side = [r.owner() if r is not None and r.device is not None else None for r in (source, target)]
    _hazards.operation(f"memcpy{name}", [device_side[0]], [device_side[1]], stream=stream)
    if name == "DeviceToHost" and (blocking or target is None or not target.pinned):
        _state.syncs.count("memcpy (blocking)" if blocking else "async copy into pageable host memory (blocking)",
                           stream.label)
        _hazards.host_waits_for_stream(stream)


def memcpyAsync(dst: int, src: int, size: int, kind: int, stream: int) -> None:  # noqa: N802
    """Copy ``size`` bytes from ``src`` to ``dst`` on the stream whose handle is ``stream``."""
    _copy(dst, src, size, kind, stream_of_ptr(stream), blocking=False)


def memcpy(dst: int, src: int, size: int, kind: int) -> None:
    """Blocking copy on the legacy default stream (a device-to-host one is counted)."""
    from gpunet.testing.cupy_standin.cuda.streams import Stream
    _copy(dst, src, size, kind, Stream.null, blocking=True)
