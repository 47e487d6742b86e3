"""``gpunet inspect / verify / diff / convert`` accept a ``.shards`` folder."""
import pickle
import sys
from pathlib import Path

import pytest

import gpunet as gn
from gpunet.io.formats import state_shards

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import small_network  # noqa: E402
from state_examples import assert_states_equal, same_objects  # noqa: E402


def run(capsys, *args):
    from gpunet import cli
    status = cli.main([str(a) for a in args])
    return status, capsys.readouterr().out


@pytest.fixture()
def saved(tmp_path):
    net = small_network(seed=9, neurons=30)
    net.simulate(15.0)
    net.save(tmp_path / "one.npz")
    net.save(tmp_path / "one.txt")
    state_shards.save(tmp_path / "three.shards", gn.read_state(tmp_path / "one.npz"), nprocs=3)
    return tmp_path


def test_convert_of_shards_gives_the_single_file_a_one_process_run_writes(capsys, saved):
    status, out = run(capsys, "convert", saved / "three.shards", saved / "back.npz")
    assert status == 0 and "state_npz" in out
    assert (saved / "back.npz").read_bytes() == (saved / "one.npz").read_bytes()
    assert run(capsys, "convert", saved / "three.shards", saved / "back.txt")[0] == 0
    converted, direct = (pickle.loads((saved / name).read_bytes()) for name in ("back.txt", "one.txt"))
    for extra in (converted, direct):  # where the state came from: informative only
        extra["_gpunet"].pop("format"), extra["_gpunet"].pop("format_version")
    assert same_objects(converted, direct)
    # and back into a folder
    assert run(capsys, "convert", saved / "one.npz", saved / "again.shards")[0] == 0
    assert_states_equal(gn.read_state(saved / "again.shards"), gn.read_state(saved / "one.npz"))


def test_inspect_verify_and_diff_read_the_folder(capsys, saved):
    status, out = run(capsys, "inspect", saved / "three.shards")
    assert status == 0 and "state_shards version 2" in out and "CRC-32 of every shard file, and of every block" in out
    status, out = run(capsys, "verify", saved / "three.shards")
    assert status == 0 and out.startswith("OK")
    status, out = run(capsys, "diff", saved / "three.shards", saved / "one.npz")
    assert status == 0 and "no differences" in out
    shard = saved / "three.shards" / state_shards.read_manifest(saved / "three.shards")["shards"][2]["file"]
    data = bytearray(shard.read_bytes())
    data[100] ^= 1  # inside the first member's header: the zip still opens
    shard.write_bytes(bytes(data))
    status, out = run(capsys, "verify", saved / "three.shards")
    assert status == 1 and out.startswith("FAIL") and str(shard) in out
