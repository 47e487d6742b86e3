"""Run under ``mpiexec -n N python mpi_sharded_save.py MODE OUT``: the processes save one network as .shards.

Every process builds the same network (the engine is not distributed yet, so each simulates all of it) and
saves its own block of rows: a background save at step 20 into ``OUT/a.shards`` (process 0 also writes that
moment to ``OUT/ref.npz``), then a blocking one at step 30 into the same folder, then a third one, at step 40,
fails on process 1 (an injected disk-full error); each process writes ``OUT/status-<rank>.txt``; then a
collective load of the folder fails on process 1 (changing no network) and one succeeds (``OUT/load-<rank>.txt``);
then a spike raster goes through the spike exchange (``OUT/exchange-<rank>.txt``); then periodic sharded snapshots
and a collective ``load_latest`` (``OUT/latest-<rank>.txt``).  MODE ``kill``:
periodic snapshots into ``OUT/snaps`` every 10 ms, and process 1 is killed during the one at step 30.
"""
import os
import signal
import sys
from pathlib import Path


def main(mode: str, out: Path) -> None:
    from mpi4py import MPI

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from helpers import small_network

    import gpunet.io.sharded_save as sharded_save

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    net = small_network(seed=5, neurons=40)
    if mode == "kill":
        return periodic_snapshots_then_kill(net, comm, out)
    net.simulate(20.0)
    handle = net.save(out / "a.shards", blocking=False, comm=comm)
    if rank == 0:
        net.save(out / "ref.npz")
    net.simulate(10.0)
    handle.result()
    if rank == 1:
        cut = sharded_save.cut

        def broken(*args):
            if net.get_current_step() == 40:
                raise OSError(28, "No space left on device (injected)")
            return cut(*args)
        sharded_save.cut = broken
    net.save(out / "a.shards", comm=comm)
    net.simulate(10.0)
    try:
        net.save(out / "a.shards", comm=comm)
        status = "saved"
    except Exception as exc:  # noqa: BLE001 - the test reads the message
        status = f"error {type(exc).__name__}: {exc}"
    (out / f"status-{rank}.txt").write_text(status)
    (out / f"load-{rank}.txt").write_text(collective_loads(net, comm, out / "a.shards"))
    (out / f"exchange-{rank}.txt").write_text(exchange_raster(comm))
    (out / f"latest-{rank}.txt").write_text(snapshots_then_load_latest(comm, out / "snaps"))


def snapshots_then_load_latest(comm, folder: Path) -> str:
    """Periodic sharded snapshots with recordings (automatic with comm), then a fresh network loads the newest on
    both processes, recordings included."""
    import gpunet as gn
    from gpunet.io.snapshots import load_latest

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from helpers import small_network

    net = small_network(seed=6, neurons=30)
    net.monitor(net.populations[1], ["spike", "v"], name="m")
    snapshots = gn.Snapshotter(net, folder, every=4.0, keep_last=2, comm=comm, monitors=True)
    net.simulate(12.0, snapshotter=snapshots)
    snapshots.close()
    fresh = small_network(seed=6, neurons=30)
    fresh.monitor(fresh.populations[1], ["spike", "v"], name="m")
    path = load_latest(folder, network=fresh, comm=comm)
    same = all(bool((a.v == b.v).all()) for a, b in zip(net.populations, fresh.populations))
    recorded = [m.get(keep=True) for m in (net.monitors[0], fresh.monitors[0])]
    same_recordings = recorded[0]["spike"] == recorded[1]["spike"] and (recorded[0]["v"] == recorded[1]["v"]).all()
    return (f"{path.name}\nstep {fresh.get_current_step()}\nsame v {same}\nrecorded {recorded[1]['v'].shape[0]} "
            f"steps, the same {bool(same_recordings)}")


def raster(steps: int = 4):
    """A spike raster of populations a (13 neurons) and b (6): the same on every process."""
    import numpy as np
    rng = np.random.default_rng(11)
    return [{"a": np.flatnonzero(rng.random(13) < 0.4), "b": np.flatnonzero(rng.random(6) < 0.4)}
            for _ in range(steps)]


def exchange_raster(comm) -> str:
    """Each process records the spikes of its own rows, one exchange per 2 steps gives everyone everything."""
    from gpunet.io.pipeline.partition import Partition
    from gpunet.network.spike_exchange import SpikeExchange

    spikes = raster()
    partition = Partition.of({"a": 13, "b": 6}, comm.Get_size())
    exchange = SpikeExchange(comm, [("a", 13), ("b", 6)], interval=2)
    received = []
    for start in (0, 2):
        for offset in range(2):
            for name in ("a", "b"):
                lo, hi = partition.rows(name, comm.Get_rank())
                ranks = spikes[start + offset][name]
                exchange.record(offset, name, ranks[(ranks >= lo) & (ranks < hi)])
        received.extend(exchange.exchange())
    return repr([{k: v.tolist() for k, v in step.items()} for step in received]) + f"\n{exchange.bytes_sent}"


def collective_loads(net, comm, path: Path) -> str:
    """A load that fails on process 1 (changes nothing anywhere), then one that succeeds everywhere."""
    import numpy as np

    import gpunet.io.api as io_api
    from gpunet.errors import FormatError

    step, v = net.get_current_step(), net.populations[0].v.copy()
    read_state = io_api.read_state
    if comm.Get_rank() == 1:
        def broken(filename):
            raise FormatError(f"{filename}: unreadable here (injected)")
        io_api.read_state = broken
    try:
        io_api.load(path, network=net, comm=comm)
        first = "loaded"
    except Exception as exc:  # noqa: BLE001 - the test reads the message
        first = f"{type(exc).__name__}: {exc}"
    unchanged = net.get_current_step() == step and np.array_equal(net.populations[0].v, v)
    io_api.read_state = read_state
    io_api.load(path, network=net, comm=comm)
    return f"{first}\nunchanged={unchanged}\nthen step {net.get_current_step()}"


def periodic_snapshots_then_kill(net, comm, out: Path) -> None:
    """Snapshots every 10 ms (keep_last=2) from every process; process 1 is killed in the one at step 30."""
    import gpunet as gn
    import gpunet.io.sharded_save as sharded_save

    snapshots = gn.Snapshotter(net, out / "snaps", every=10.0, keep_last=2, comm=comm)
    net.simulate(20.0, snapshotter=snapshots)
    snapshots.close()
    if comm.Get_rank() == 1:
        sharded_save.cut = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
    net.simulate(10.0, snapshotter=snapshots)
    snapshots.close()
    (out / f"status-{comm.Get_rank()}.txt").write_text("not killed")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
