"""The hyperparameter map on a network (learning rate x batch size, final test loss):
each cell equals a separate ``sim.simulate`` run; progress, cancel, bad input; the
exported CSV and PNG; ``losslab export --map hyper`` on a network lab."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import simulator as sim
from simulator import cli
from simulator.core import maps as ex
from simulator.export import maps as map_files


@pytest.fixture(scope="module")
def net():
    return sim.network("moons", hidden=(4,), n_train=24, n_test=32, noise=0.2, seed=0)


@pytest.fixture(scope="module")
def hm(net):
    return ex.hyper_map(net, sim.SGD(lr=0.5, momentum=0.5), None, "lr",
                        ex.grid_values(0.1, 3.0, 3, log=True), "batch_size",
                        np.array([1.0, 5.2, 24.0, 100.0]), steps=40, seed=3)


def test_cells_equal_separate_runs(net, hm):
    assert hm.complete and hm.final_test_losses.shape == (4, 3)
    assert hm.log_x and not hm.log_y
    # batch sizes run as whole numbers, capped at the training set's size
    np.testing.assert_array_equal(hm.values_y, [1, 5, 24, 24])
    for j in range(4):
        for i in range(3):
            run = sim.simulate(net, sim.SGD(lr=hm.values_x[i], momentum=0.5), net.init, 40,
                               batch_size=int(hm.values_y[j]), seed=3)
            assert hm.final_losses[j, i] == run.losses[-1]
            assert hm.final_test_losses[j, i] == run.test_losses[-1]
            assert hm.status[j, i] == run.status
            rep = hm.replay(i, j)
            np.testing.assert_array_equal(rep.positions, run.positions)
    # the full batch (24 and 100 -> 24) is one run: the same cell twice
    np.testing.assert_array_equal(hm.final_test_losses[2], hm.final_test_losses[3])


def test_progress_cancel_and_bad_input(net):
    seen = []
    stop = {"after": 2}

    def progress(done, total, m):
        seen.append((done, total))

    def cancel():
        return len(seen) >= stop["after"]

    m = ex.hyper_map(net, sim.SGD(lr=0.5), net.init, "lr", [0.1, 1.0], "batch_size",
                     [2, 4, 8, 16], steps=10, progress=progress, cancel=cancel)
    assert seen == [(1, 4), (2, 4)] and not m.complete and m.rows_done == 2
    assert (m.status[2:] == "not computed").all() and np.isnan(m.final_test_losses[2:]).all()
    with pytest.raises(ValueError, match="network only"):
        ex.hyper_map(sim.get_surface("quadratic"), sim.SGD(lr=0.1), (1.0, 1.0), "lr",
                     [0.1], "batch_size", [1, 2], steps=5)
    m = ex.hyper_map(net, sim.SGD(lr=0.5), net.init, "lr", [0.1, -1.0], "batch_size",
                     [0.0, 4], steps=5)
    assert m.status[0, 0] == "invalid" and m.status[1, 1] == "invalid"  # batch 0, lr < 0
    assert m.status[1, 0] != "invalid"
    assert "batch_size" in ex.sweepable_params(sim.SGD(lr=0.1), network=True)
    assert "batch_size" not in ex.sweepable_params(sim.SGD(lr=0.1))


def test_csv_and_png(tmp_path, hm):
    out = tmp_path / "h.csv"
    map_files.write_hyper_csv(hm, out)
    lines = out.read_text().splitlines()
    assert "# start: the network's initial weights" in lines
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert len(rows) == 12 and rows[0]["batch_size"] == "1"
    assert float(rows[0]["final_test_loss"]) == pytest.approx(hm.final_test_losses[0, 0],
                                                              rel=1e-5)
    img = map_files.render_hyper(hm, "test_loss")
    ok = hm.status != "diverged"
    assert (img[..., 3] == 255).all() and len(np.unique(img[ok][:, :3], axis=0)) > 3
    lo, hi = map_files.color_range(hm, "test_loss")
    assert lo == pytest.approx(np.nanmin(hm.final_test_losses[ok]))
    map_files.save_hyper_png(hm, tmp_path / "h.png", color_by="test_loss")
    assert (tmp_path / "h.png").stat().st_size > 1000
    surf = ex.hyper_map(sim.get_surface("quadratic"), sim.SGD(lr=0.1), (1.0, 1.0), "lr",
                        [0.1, 0.2], "momentum", [0.0, 0.5], steps=5)
    with pytest.raises(ValueError, match="needs a network"):
        map_files.render_hyper(surf, "test_loss")


def test_cli_map_on_a_network_lab(tmp_path, capsys):
    out = tmp_path / "m.csv"
    assert cli.main(["export", "edge-of-stability", "--map", "hyper", "--resolution", "2",
                     "--map-steps", "20", "-o", str(out), "-q"]) == 0
    rows = [r for r in csv.reader(line for line in out.read_text().splitlines()
                                  if not line.startswith("#"))]
    assert rows[0] == ["lr", "batch_size", "final_loss", "steps_to_converge", "status",
                       "final_test_loss"]
    assert [r[1] for r in rows[1:]] == ["1", "1", "128", "128"]  # 1 .. n_train
    lab = sim.load_lab("edge-of-stability")
    run = sim.simulate(lab.surface, sim.SGD(lr=float(rows[4][0])), lab.surface.init, 20,
                       batch_size=128)
    assert float(rows[4][5]) == pytest.approx(run.test_losses[-1], rel=1e-5)
    assert cli.main(["export", "edge-of-stability", "--map", "basin", "-o",
                     str(tmp_path / "b.png"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "use --map hyper" in err and "Traceback" not in err
