"""Helpers shared by the io tests: small networks and whole-state comparison."""
from __future__ import annotations

import numpy as np

import gpunet as gn
from gpunet.examples import reference_network


def small_network(seed: int = 3, neurons: int = 60, backend: str = "numpy", **kwargs) -> gn.Network:
    """The reference STDP network, small, with noise, delays and plasticity."""
    return reference_network(neurons=neurons, probability=0.2, backend=backend, seed=seed, **kwargs)


def snapshot(network: gn.Network) -> dict:
    """Host copies of every array of the network's state, internal ones included."""
    arrays = {}
    for population in network.populations:
        for key, value in population._state.items():
            arrays[(population.name, key)] = network.backend.to_host(value).copy()
        if population._history is not None:
            arrays[(population.name, "_history")] = network.backend.to_host(population._history).copy()
    for projection in network.projections:
        state = projection._state  # the indexes built on demand too (read here: compared, not their presence)
        for key in sorted(set(state) | set(getattr(state, "derived", ()))):
            arrays[(projection.name, key)] = network.backend.to_host(state[key]).copy()
    arrays[("network", "step")] = np.asarray(network.get_current_step())
    return arrays


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert np.array_equal(a[key], b[key], equal_nan=True), key


def flip_byte_in_member(path, member: str, offset_in_data: int = 200) -> bytes:
    """The bytes of zip file ``path`` with one byte of ``member``'s stored data flipped."""
    import struct
    import zipfile
    data = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    assert offset_in_data < info.compress_size
    data[start + offset_in_data] ^= 0xFF
    return bytes(data)
