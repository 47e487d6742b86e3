"""A network's arrays on the host, for tests that compare runners bit for bit."""
from __future__ import annotations

from typing import Any

import numpy as np


def host_arrays(network: Any, rings: bool = False) -> dict[tuple[str, str], np.ndarray]:
    """Every population attribute and every projection array of ``network``, copied to the host.

    Parameters
    ----------
    network : Network
        A compiled network on any backend.
    rings : bool
        Also each spiking population's spike ring, as ``(population, "spike ring")``.

    Returns
    -------
    dict
        ``(object name, array name)`` -> host array.
    """
    host = network.backend.to_host
    arrays = {(pop.name, name): host(pop.device_view(name))
              for pop in network.populations for name in pop.spec.attributes}
    if rings:
        for pop in network.populations:
            history = pop.step_arrays().history
            if history is not None:
                arrays[pop.name, "spike ring"] = host(history)
    for proj in network.projections:
        arrays.update(((proj.name, name), host(array)) for name, array in proj.state_dict().items())
    return arrays


def assert_same_arrays(expected: dict, found: dict, equal_nan: bool = False) -> None:
    """Assert that ``found`` holds the arrays of ``expected``, bit for bit (NaN equal to NaN with ``equal_nan``).

    Parameters
    ----------
    expected, found : dict
        :func:`host_arrays` of two networks.
    equal_nan : bool
        Count NaN values in the same places as equal.
    """
    assert expected.keys() == found.keys()
    differing = [key for key in expected if not np.array_equal(expected[key], found[key], equal_nan=equal_nan)]
    assert differing == [], differing
