"""``cupy.cuda.Device`` of the stand-in: a configurable number of devices and a context stack."""
from __future__ import annotations

from typing import Any, Optional

from gpunet.testing.cupy_standin import _hazards, _state
from gpunet.testing.cupy_standin.cuda.errors import CUDARuntimeError


def check_id(device: int) -> int:
    count = _state.device_count()
    if not 0 <= int(device) < count:
        raise CUDARuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {device} (the CuPy stand-in has "
                               f"{count} device(s); set {_state.DEVICES_VARIABLE} for more)")
    return int(device)


class Device:
    """A stand-in CUDA device; ``with Device(i):`` makes it current."""

    def __init__(self, device: Optional[int] = None) -> None:
        self.id = _state.current_device() if device is None else check_id(device)

    def __enter__(self) -> "Device":
        _state.thread.devices.append(self.id)
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.thread.devices.pop()

    def use(self) -> None:
        """Make this device current (until another ``use`` or the end of the enclosing context)."""
        if _state.thread.devices:
            _state.thread.devices[-1] = self.id
        else:
            _state.thread.devices.append(self.id)

    def synchronize(self) -> None:
        """Wait for all work of this device (counted)."""
        _state.syncs.count("device.synchronize", f"device{self.id}")
        _hazards.host_waits_for_device(self.id)

    @property
    def compute_capability(self) -> str:
        return "90"

    @property
    def mem_info(self) -> tuple[int, int]:
        return _state.memory_info()

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("Device", self.id))

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id} (CuPy stand-in)>"
