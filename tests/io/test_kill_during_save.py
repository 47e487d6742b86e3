"""A process killed (SIGKILL) while saving never leaves a torn file."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import gpunet as gn
from gpunet.io.storage.atomic import TEMP_SUFFIX, cleanup_temporaries

pytestmark = pytest.mark.slow  # processes of their own: deselect with -m 'not slow' for a quick run

HERE = Path(__file__).resolve().parent

CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, {here!r})
    import gpunet as gn
    from helpers import small_network
    path = sys.argv[1]
    net = small_network(seed=4, neurons=1500)
    gn.save(path, network=net)
    print("ready", flush=True)
    while True:
        net.simulate(1.0)
        gn.save(path, network=net)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("suffix", [".npz", ".txt"])
def test_sigkill_at_random_moments_leaves_a_loadable_file(tmp_path, suffix):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(here=str(HERE)))
    path = tmp_path / f"state{suffix}"
    rng = random.Random(1234)
    steps_seen = set()
    for attempt in range(6):
        child = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 0.6))
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        state = gn.read_state(path)  # never torn: the old or the new file, complete
        assert [p.name for p in state.populations] == ["pop0", "pop1"]
        assert state.projections[0].values["w"].shape == (state.projections[0].nb_synapses,)
        steps_seen.add(state.step)
        leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]
        assert cleanup_temporaries(tmp_path) == leftovers
        assert not any(p.name.endswith(TEMP_SUFFIX) for p in tmp_path.iterdir())
    assert len(steps_seen) > 1  # the kills did land at different moments of the save loop
