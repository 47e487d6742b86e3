"""Soak: 10,000 steps with a snapshot every 100 and reloads in between == the uninterrupted run."""
import os
import sys
from pathlib import Path

import gpunet as gn
from gpunet.io.pipeline import saving

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from helpers import assert_same_state, small_network, snapshot  # noqa: E402

LONG = os.environ.get("GPUNET_TEST_PROFILE") == "long"
STEPS = 100_000 if LONG else 10_000
RELOAD_EVERY = 2_000


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_soak_snapshots_and_reloads_stay_bitwise_equal_and_memory_stays_flat(tmp_path):
    straight = small_network(seed=8, neurons=80)
    straight.simulate(float(STEPS))

    run = small_network(seed=8, neurons=80)
    run.compile()
    memory, pools = [], []
    for chunk in range(STEPS // RELOAD_EVERY):
        snapshotter = gn.Snapshotter(run, tmp_path, every=100.0, keep_last=2)
        run.simulate(float(RELOAD_EVERY), snapshotter=snapshotter)
        snapshotter.close()
        assert snapshotter.taken == RELOAD_EVERY // 100
        pools.append((saving.saver_of(run).pool_nbytes, saving.saver_of(run).pool.allocations))
        # continue on a freshly built network restored from the newest snapshot
        fresh = small_network(seed=100 + chunk, neurons=80)
        assert gn.load_latest(tmp_path, network=fresh).name.endswith(f"-{(chunk + 1) * RELOAD_EVERY:012d}.npz")
        run = fresh
        memory.append(rss_bytes())
    assert_same_state(snapshot(straight), snapshot(run))
    assert len(gn.list_snapshots(tmp_path)) == 2
    # each network's pool holds at most max_pending (2) buffer sets of one size, allocated once
    set_size = min(size for size, _ in pools)
    assert all(allocations <= 2 and size in (set_size, 2 * set_size) for size, allocations in pools)
    growth = memory[-1] - memory[1]
    print(f"RSS after each reload (MB): {[round(m / 2**20, 1) for m in memory]}; pool {pools[0][0]} bytes")
    assert growth < 20 * 2 ** 20, f"RSS grew by {growth / 2**20:.1f} MB over the soak"
