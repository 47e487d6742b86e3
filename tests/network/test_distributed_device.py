"""The GPU of each process under comm: its rank on its node (MPI.COMM_TYPE_SHARED) modulo the devices it sees."""
import pytest

from gpunet.network.distributed_device import device_for_rank, local_rank

MPI = pytest.importorskip("mpi4py.MPI")


class Node:
    def __init__(self, rank: int) -> None:
        self.rank, self.freed = rank, False

    def Get_rank(self) -> int:  # noqa: N802 - mpi4py's names
        return self.rank

    def Free(self) -> None:  # noqa: N802
        self.freed = True


class World:
    """Process ``rank`` of a communicator whose processes on this node are ranked ``node_rank`` among them."""

    def __init__(self, rank: int, node_rank: int) -> None:
        self.rank, self.node = rank, Node(node_rank)
        self.splits = []

    def Get_rank(self) -> int:  # noqa: N802
        return self.rank

    def Split_type(self, kind, key=0):  # noqa: N802
        self.splits.append((kind, key))
        return self.node


@pytest.mark.parametrize("node_rank, count, device", [(0, 1, 0), (3, 1, 0), (0, 4, 0), (3, 4, 3), (5, 4, 1),
                                                      (6, 3, 0), (7, 3, 1), (2, 0, 0)])
def test_the_device_is_the_rank_on_the_node_modulo_the_devices(node_rank, count, device):
    world = World(rank=10 + node_rank, node_rank=node_rank)
    assert device_for_rank(world, count) == device
    # one split of the processes sharing memory (ordered by their global rank), freed at once
    assert world.splits == [(MPI.COMM_TYPE_SHARED, 10 + node_rank)] and world.node.freed


def test_the_local_rank_of_a_real_communicator():
    assert local_rank(MPI.COMM_SELF) == 0 and local_rank(MPI.COMM_WORLD) == MPI.COMM_WORLD.Get_rank()
