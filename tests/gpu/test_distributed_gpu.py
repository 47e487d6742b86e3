"""Network(comm=) on a GPU backend: refused at compile, with the reason, until the engine runs on CuPy."""
import pytest

import gpunet as gn
from gpunet.errors import BackendError

pytestmark = pytest.mark.gpu
MPI = pytest.importorskip("mpi4py.MPI")


def test_the_distributed_engine_refuses_the_cupy_backend_and_the_network_stays_uncompiled():
    net = gn.Network(backend="cupy", comm=MPI.COMM_SELF)
    net.create(4, gn.Izhikevich, name="p")
    with pytest.raises(BackendError, match="NumPy backend only for now"):
        net.compile()
    assert not net.compiled
