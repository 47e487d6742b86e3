"""The progress bar of simulate(): tqdm's automatic front end, shown when a run is long, silenced on request."""
import io

import tqdm.auto

import gpunet as gn
from gpunet.network import progress
from gpunet.network.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(bar: ProgressBar, steps: int) -> None:
    for done in range(1, steps + 1):
        bar.update(done)
    bar.close()


def test_forced_bar_is_tqdm_auto_and_counts_simulated_ms():
    stream = io.StringIO()
    bar = ProgressBar(30, 0.5, enabled=True, stream=stream)
    run(bar, 30)
    assert isinstance(bar.bar, tqdm.auto.tqdm) and bar.bar.n == 30
    assert stream.getvalue().endswith("100%|##########| 15/15 ms [00:00<00:00]\n")


def test_automatic_bar_appears_on_a_terminal_or_in_a_notebook_only_for_long_runs(monkeypatch):
    terminal = Terminal()
    short = ProgressBar(10, 1.0, stream=terminal, min_seconds=2.0)
    short.start -= 0.3  # 0.3 s for the first step of ten: 3 s expected
    run(short, 10)
    assert short.visible and "10/10 ms" in terminal.getvalue()
    quick = ProgressBar(10, 1.0, stream=Terminal(), min_seconds=2.0)
    run(quick, 10)  # microseconds per step: no bar
    assert not quick.visible and quick.stream.getvalue() == ""
    pipe = io.StringIO()
    slow_to_a_file = ProgressBar(10, 1.0, stream=pipe)
    slow_to_a_file.start -= 5.0
    run(slow_to_a_file, 10)
    assert not slow_to_a_file.visible and pipe.getvalue() == ""
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    notebook = ProgressBar(10, 1.0, stream=io.StringIO())
    notebook.start -= 5.0
    run(notebook, 10)
    assert notebook.visible


def test_disabled_bar_stays_silent_on_a_terminal(numpy_net, capsys):
    terminal = Terminal()
    silent = ProgressBar(10, 1.0, enabled=False, stream=terminal)
    silent.start -= 5.0
    run(silent, 10)
    assert not silent.visible and terminal.getvalue() == ""
    numpy_net.create(3, gn.Izhikevich)
    numpy_net.simulate(10.0, progress=False)
    assert capsys.readouterr().err == ""
    assert not progress.in_notebook()
