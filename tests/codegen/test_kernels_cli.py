"""``gpunet kernels --emit DIR [--check]``."""
from pathlib import Path

from gpunet.cli import main
from gpunet.codegen.cuda import nvcc


def test_emit_writes_the_sources(tmp_path, capsys):
    assert main(["kernels", "--emit", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "neuron_Izhikevich_f64.cu").is_file()
    assert "CUDA sources" in capsys.readouterr().out


def test_check_without_nvcc_says_it_was_skipped_and_succeeds(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(nvcc, "find_nvcc", lambda: None)
    assert main(["kernels", "--emit", str(tmp_path), "--check"]) == 0
    assert "compile check skipped: nvcc not found" in capsys.readouterr().out


def test_check_fails_when_a_file_does_not_compile(tmp_path, capsys, monkeypatch):
    def compile_all(paths, compiler, arch, jobs=None):
        return [nvcc.CompileResult(Path(p), p.name != "rng.cu", 0.1, "rng.cu(3): error: broken") for p in paths]
    monkeypatch.setattr(nvcc, "find_nvcc", lambda: "/opt/nvcc")
    monkeypatch.setattr(nvcc, "compile_all", compile_all)
    assert main(["kernels", "--emit", str(tmp_path), "--check", "--arch", "sm_80"]) == 1
    out = capsys.readouterr().out
    assert "FAIL rng.cu (0.10 s)  rng.cu(3): error: broken" in out
    assert "ok   pack.cu" in out and "-arch=sm_80" in out
