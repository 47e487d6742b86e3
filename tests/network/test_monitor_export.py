"""Monitor.save: recordings to .npz (documented layout) and to NWB (mapping tested without pynwb; round trip with it)."""
import os

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import FormatError
from gpunet.io.formats import nwb_export


def network():
    net = gn.Network(backend="numpy", seed=3)
    pop = net.create(5, gn.Izhikevich, name="exc")
    pop.i_offset = [0.0, 5.0, 10.0, 15.0, 20.0]
    proj = net.connect(pop, pop, "exc", gn.STDP, name="rec")
    proj.connect_from_list([(0, 1, 0.5, 1.0), (3, 1, 0.2, 1.0), (4, 2, 0.1, 1.0)])
    view = net.monitor(pop[[4, 1, 3]], ["spike", "v"], period=2.0)
    synapses = net.monitor(proj, ["w", "tau_plus"], period=5.0)
    net.simulate(50.0)
    return net, view, synapses


def test_npz_layout_holds_the_recordings_and_hands_them_over(tmp_path):
    _, view, synapses = network()
    expected = view.get(keep=True)
    view.save(tmp_path / "view.npz")
    with np.load(tmp_path / "view.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["info.dt", "info.name", "info.period", "info.period_offset", "info.ranks",
                                      "info.target", "spike.ranks", "spike.steps", "v", "v.steps"]
        assert np.array_equal(data["v"], expected["v"]) and data["v"].shape == (25, 3)
        assert data["v.steps"].tolist() == list(range(0, 50, 2))
        assert data["info.ranks"].tolist() == [4, 1, 3] and str(data["info.name"]) == "Monitor_exc"
        assert float(data["info.period"]) == 2.0 and float(data["info.dt"]) == 1.0
        trains = {rank: data["spike.steps"][data["spike.ranks"] == rank].tolist() for rank in (4, 1, 3)}
        assert trains == expected["spike"] and sum(map(len, trains.values())) > 5
        assert np.all(np.diff(data["spike.steps"]) >= 0)
    assert view.times("v").size == 0 and view.get("spike") == {4: [], 1: [], 3: []}  # handed over
    synapses.save(tmp_path / "w.npz", keep=True)
    with np.load(tmp_path / "w.npz", allow_pickle=False) as data:
        assert data["w"].shape == (10, 3) and data["tau_plus"].shape == (10,)
        assert data["info.post_ranks"].tolist() == [1, 1, 2] and data["info.pre_ranks"].tolist() == [0, 3, 4]
        assert np.array_equal(data["w"], synapses.get("w"))


def test_unknown_suffixes_and_nwb_without_pynwb_are_refused(tmp_path, monkeypatch):
    _, view, _ = network()
    with pytest.raises(FormatError, match=r"m\.hdf5: Monitor.save writes .npz or .nwb files"):
        view.save(tmp_path / "m.hdf5")
    monkeypatch.setattr(nwb_export, "available", lambda: False)
    with pytest.raises(FormatError, match=r"m\.nwb: writing NWB files needs pynwb"):
        view.save(tmp_path / "m.nwb")
    assert view.times("v").size == 25 and not os.listdir(tmp_path)  # nothing handed over, nothing written


def test_nwb_mapping_units_and_series():
    _, view, synapses = network()
    expected = view.get(keep=True)
    content = nwb_export.nwb_content(view.export_arrays(keep=True))
    assert content.units.ids.tolist() == [4, 1, 3]
    for rank, times in zip(content.units.ids, content.units.spike_times):
        assert times.tolist() == [step * 1.0 / 1000.0 for step in expected["spike"][int(rank)]]
    (series,) = content.series
    assert series.name == "Monitor_exc.v" and series.unit == "n.a."
    assert np.array_equal(series.data, expected["v"])
    assert np.allclose(series.timestamps, np.arange(0, 50, 2) / 1000.0)
    assert series.comments == "columns: population ranks 4,1,3"
    w, tau = nwb_export.nwb_content(synapses.export_arrays(keep=True)).series
    assert w.name == "Monitor_rec.w" and w.comments == "columns: synapses post<-pre 1<-0,1<-3,2<-4"
    assert tau.data.shape == (10,)
    many = {"info.ranks": np.arange(5, 5000), "info.dt": np.array(1.0), "info.name": np.array("m"),
            "info.target": np.array("p"), "info.period": np.array(1.0)}
    text = nwb_export._columns(many)
    assert len(text) < nwb_export.MAX_COLUMN_TEXT + 60 and text.endswith("(Monitor.save to .npz lists them all)")


def test_nwb_round_trip_with_pynwb(tmp_path):
    if os.environ.get("CI"):
        import pynwb  # CI installs the test extra, which has pynwb: there the round trip must run
    else:
        pynwb = pytest.importorskip("pynwb")
    _, view, synapses = network()
    expected = view.get(keep=True)
    view.save(tmp_path / "view.nwb")
    synapses.save(tmp_path / "w.nwb", keep=True)
    with pynwb.NWBHDF5IO(str(tmp_path / "view.nwb"), "r") as reader:
        nwbfile = reader.read()
        assert list(nwbfile.units.id[:]) == [4, 1, 3]
        for index, rank in enumerate((4, 1, 3)):
            assert np.allclose(nwbfile.units.get_unit_spike_times(index), np.array(expected["spike"][rank]) / 1e3)
        series = nwbfile.acquisition["Monitor_exc.v"]
        assert np.array_equal(series.data[:], expected["v"]) and np.allclose(series.timestamps[:],
                                                                             np.arange(0, 50, 2) / 1e3)
    with pynwb.NWBHDF5IO(str(tmp_path / "w.nwb"), "r") as reader:
        assert np.array_equal(reader.read().acquisition["Monitor_rec.w"].data[:], synapses.get("w"))
