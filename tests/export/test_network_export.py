"""Exports of network scenes: CSV and JSON carry the projected path (alpha, beta on the
loss plane), every parameter at every step and the test figures, and read back to the
runs; pictures draw the loss plane; SVG and 3-D give a clear message, never a traceback."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import simulator as sim
from simulator import cli
from simulator.export import data


@pytest.fixture(scope="module")
def scene_runs():
    net = sim.network("xor", hidden=(4,), n_train=32, n_test=24, noise=0.1, seed=0)
    sc = sim.Scene(net, steps=30)
    sc.add_lane(sim.SGD(lr=0.5), name="GD")
    sc.add_lane(sim.Adam(lr=0.05), name="Adam, batch 8", batch_size=8)
    runs = sc.run()
    ex = [data.ExportRun(ln.name, ln.color, ln.optimizer, r) for ln, r in zip(sc.lanes, runs)]
    return sc, runs, ex


def _f(s: str) -> float:
    return float(s) if s != "" else float("nan")


def test_csv_reads_back(tmp_path, scene_runs):
    sc, runs, ex = scene_runs
    net = sc.surface
    out = tmp_path / "net.csv"
    n = data.write_csv(ex, out)
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    assert n == len(body) == 2 * 31
    assert head[:11] == list(data.NETWORK_CSV_COLUMNS)
    assert head[11:] == [f"w{i}" for i in range(net.n_params)]
    plane = sim.loss_plane(net, runs=runs, directions="pca")  # what the app draws first
    for k, run in enumerate(runs):
        mine = [r for r in body if r[0] == sc.lanes[k].name]
        assert [int(r[2]) for r in mine] == list(range(31))
        W = np.array([[float(v) for v in r[11:]] for r in mine])
        np.testing.assert_array_equal(W, run.positions)  # repr round-trips exactly
        ab = np.array([[_f(r[3]), _f(r[4])] for r in mine])
        np.testing.assert_allclose(ab, plane.paths[k], rtol=1e-9, atol=1e-12)
        # the scene records a minibatch lane once an epoch (Scene.record_epochs): the
        # cells between its records are empty
        assert (run.record_steps is None) == (k == 0)
        np.testing.assert_array_equal([_f(r[5]) for r in mine], run.per_step(run.losses))
        np.testing.assert_array_equal([_f(r[6]) for r in mine],
                                      run.per_step(run.test_losses))
        acc = [net.accuracy(w, "test") for w in run.positions]
        np.testing.assert_array_equal([float(r[7]) for r in mine], acc)
        assert {r[10] for r in mine} == {run.status}


def test_json_reads_back(tmp_path, scene_runs):
    sc, runs, ex = scene_runs
    net = sc.surface
    out = tmp_path / "net.json"
    data.write_json(sc.to_dict(), ex, out)
    doc = json.loads(out.read_text())
    nd = doc["network"]
    assert nd["n_params"] == net.n_params
    # the layout puts torch's parameters back together from the flat vector
    w = np.asarray(doc["runs"][0]["positions"][-1])
    for p, arr in zip(nd["parameters"], net.parameters(w)):
        got = w[p["start"]: p["start"] + arr.size].reshape(p["shape"])
        np.testing.assert_array_equal(got, arr)
    assert [p["name"] for p in nd["parameters"]] == ["0.weight", "0.bias", "2.weight",
                                                      "2.bias"]
    plane = sim.loss_plane(net, runs=runs, directions="pca")
    np.testing.assert_allclose(nd["plane"]["directions"], plane.directions, rtol=1e-12)
    np.testing.assert_allclose(nd["plane"]["explained_variance"], plane.explained_variance)
    for rec, run, path in zip(doc["runs"], runs, plane.paths):
        np.testing.assert_array_equal(rec["positions"], run.positions)
        np.testing.assert_allclose(rec["plane_path"], path, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(rec["test_losses"], run.test_losses)
        assert len(rec["test_accuracies"]) == len(run.positions)
    # the scene reads back to the same network
    assert sim.Scene.from_dict(doc["scene"]).surface == net


def test_a_diverged_run_exports_empty_cells(tmp_path, scene_runs):
    # a network's runs stay finite as tanh saturates; a run whose weights overflowed
    # (as a relu net's can) is made by hand from a real one
    from types import SimpleNamespace

    sc, runs, ex = scene_runs
    t = runs[1]
    P = np.array(t.positions)
    P[20:] = np.nan
    fields = ("optimizer", "status", "losses", "grad_norms", "gradients",
              "learning_rates", "next_lr", "surface", "record_steps", "per_step")
    bad = SimpleNamespace(**{k: getattr(t, k) for k in fields}, positions=P,
                          test_losses=None, status_step=20, status_reason="diverged")
    ex2 = [ex[0], data.ExportRun("blows up", None, t.optimizer, bad)]
    out = tmp_path / "d.csv"
    data.write_csv(ex2, out)
    with open(out, newline="") as f:
        body = [r for r in csv.DictReader(f) if r["lane"] == "blows up"]
    assert body[-1]["alpha"] == body[-1]["test_accuracy"] == body[-1]["w0"] == ""
    assert body[-1]["test_loss"] == ""
    assert body[19]["alpha"] != "" and body[19]["test_loss"] != ""
    data.write_json(sc.to_dict(), ex2, tmp_path / "d.json")
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["runs"][1]["plane_path"][-1] == [None, None]
    assert doc["runs"][1]["plane_path"][19][0] is not None


def test_cli_exports_network_data_and_refuses_svg(tmp_path, capsys):
    out = tmp_path / "eos.csv"
    assert cli.main(["export", "edge-of-stability", "-o", str(out), "-q"]) == 0
    with open(out, newline="") as f:
        r = csv.reader(f)
        head = next(r)
        n = sum(1 for _ in r)
    assert head[3:5] == ["alpha", "beta"] and n == 3 * 401
    svg = tmp_path / "eos.svg"
    assert cli.main(["export", "edge-of-stability", "-o", str(svg), "-q"]) == 2
    err = capsys.readouterr().err
    assert "SVG is for surfaces" in err and "Traceback" not in err and not svg.exists()
    assert cli.main(["export", "edge-of-stability", "-o", str(tmp_path / "e.png"),
                     "--view", "3d", "-q"]) == 2
    assert "2-D view only" in capsys.readouterr().err


def test_picture_draws_the_loss_plane(tmp_path, scene_runs):
    from PySide6.QtWidgets import QApplication

    from simulator.gui.frame_renderer import FrameRenderer

    QApplication.instance() or QApplication([])
    sc = scene_runs[0]
    r = FrameRenderer(sc, "2d", (480, 320))
    try:
        assert r.landscape is not None and r.landscape.plane is not None
        assert "explained" in r.landscape.title.text() or "%" in r.landscape.title.text()
        assert r.plots.lane_count("loss") >= 2
        img = r.render(30)
        assert img.shape == (320, 480, 3) and img.std() > 10
        with pytest.raises(ValueError, match="use .png"):
            r.save_svg(tmp_path / "x.svg")
    finally:
        r.close()
    with pytest.raises(ValueError, match="2-D view only"):
        FrameRenderer(sc, "3d", (480, 320))


def test_export_image_dialog_on_a_network(qtbot, tmp_path):
    from simulator.gui import export_dialogs
    from simulator.gui.main_window import MainWindow

    w = MainWindow(restore=False, with_3d=False)
    qtbot.addWidget(w)
    w.session.load_scene(sim.load_lab("edge-of-stability").scene())
    dlg = export_dialogs.ExportImageDialog(w)
    assert dlg.view.itemText(0) == "Loss plane" and dlg.view.count() == 1
    dlg.path.setText(str(tmp_path / "x.svg"))
    dlg.accept()
    assert "a network's loss plane is exported as PNG" in dlg.error.text()
    assert not (tmp_path / "x.svg").exists()
