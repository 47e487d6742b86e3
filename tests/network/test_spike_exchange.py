"""The spike exchange: one collective per interval gives every process every spike, in an order independent of N."""
import threading

import numpy as np
import pytest

from gpunet.io.pipeline.partition import Partition
from gpunet.network.spike_exchange import SpikeExchange


class ThreadWorld:
    """``size`` processes played by threads: allgather through a barrier (the collective's semantics)."""

    def __init__(self, size):
        self.size = size
        self.slots = [None] * size
        self.barrier = threading.Barrier(size)

    def comm(self, rank):
        world = self

        class Comm:
            def allgather(self, value):
                world.slots[rank] = value
                world.barrier.wait()
                result = list(world.slots)
                world.barrier.wait()  # nobody overwrites a slot before everyone has read it
                return result
        return Comm()


def _raster(rng, sizes, steps):
    return [{name: np.flatnonzero(rng.random(size) < 0.3) for name, size in sizes.items()} for _ in range(steps)]


@pytest.mark.parametrize("nprocs", [1, 2, 3, 4])
def test_every_process_receives_every_spike_of_the_interval_sorted(nprocs):
    sizes = {"exc": 17, "inh": 5, "empty": 0}
    interval = 3
    raster = _raster(np.random.default_rng(nprocs), sizes, 2 * interval)
    partition = Partition.of(sizes, nprocs)
    world = ThreadWorld(nprocs)
    received = [None] * nprocs
    sent = [0] * nprocs

    def process(rank):
        exchange = SpikeExchange(world.comm(rank), list(sizes.items()), interval)
        out = []
        for start in (0, interval):
            for offset in range(interval):
                for name in sizes:
                    lo, hi = partition.rows(name, rank)
                    spikes = raster[start + offset][name]
                    exchange.record(offset, name, spikes[(spikes >= lo) & (spikes < hi)][::-1])  # any order
            out.extend(exchange.exchange())
        received[rank] = out
        sent[rank] = exchange.bytes_sent
        assert exchange.exchanges == 2
        assert exchange.bytes_received + exchange.bytes_sent == 8 * sum(len(s) for step in raster for s in step.values())

    threads = [threading.Thread(target=process, args=(rank,)) for rank in range(nprocs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for rank in range(nprocs):
        assert [{k: v.tolist() for k, v in step.items()} for step in received[rank]] == \
               [{k: v.tolist() for k, v in step.items()} for step in raster]
    assert sum(sent) == 8 * sum(len(s) for step in raster for s in step.values())


def test_bad_records_are_value_errors():
    class Alone:
        def allgather(self, value):
            return [value]

    exchange = SpikeExchange(Alone(), [("exc", 10)], interval=2)
    with pytest.raises(ValueError, match=r"step offset 2 is not in \[0, 2\)"):
        exchange.record(2, "exc", np.array([1]))
    with pytest.raises(ValueError, match=r"population 'exc': spiking ranks must lie in \[0, 10\)"):
        exchange.record(0, "exc", np.array([10]))
    with pytest.raises(ValueError, match="interval must be >= 1"):
        SpikeExchange(Alone(), [("exc", 10)], interval=0)
    assert [s["exc"].tolist() for s in exchange.exchange()] == [[], []]
