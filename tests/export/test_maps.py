"""Basin and hyperparameter maps as pictures and tables, and ``losslab export --map``
(simulator.export.maps)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import simulator as sim
from simulator.core import maps as ex
from simulator.export import maps as map_files


@pytest.fixture(scope="module")
def two_wells():
    return sim.get_surface("two-wells")


def test_basin_csv_and_png(tmp_path, two_wells):
    bm = ex.basin_map(two_wells, sim.SGD(lr=0.05), resolution=(12, 10), steps=200)
    p = tmp_path / "basin.csv"
    map_files.write_basin_csv(bm, p)
    lines = p.read_text().splitlines()
    meta = [ln for ln in lines if ln.startswith("#")]
    assert any("two-wells" in ln for ln in meta)
    rows = list(csv.DictReader(ln for ln in lines if not ln.startswith("#")))
    assert len(rows) == 120
    assert {"x", "y", "label", "basin", "status", "final_x", "final_y", "final_loss"} <= \
        set(rows[0])
    r = rows[13]  # row-major: j = 1, i = 1
    assert float(r["x"]) == pytest.approx(bm.xs[1], rel=1e-5)
    assert float(r["y"]) == pytest.approx(bm.ys[1], rel=1e-5)
    assert int(r["label"]) == bm.labels[1, 1]
    png = tmp_path / "basin.png"
    map_files.save_basin_png(bm, png)
    from PIL import Image

    im = Image.open(png)
    assert im.size[0] >= 512 and im.format == "PNG"


def test_hyper_progress_cancel_csv_png(tmp_path):
    s = sim.get_surface("quadratic")
    seen = []
    hm = ex.hyper_map(s, sim.SGD(), (1.0, 1.0), "lr", ex.grid_values(0.1, 3, 8, log=True),
                      "momentum", ex.grid_values(0, 0.9, 5), steps=100,
                      progress=lambda d, t, m: seen.append(d), cancel=lambda: len(seen) >= 3)
    assert seen == [1, 2, 3] and hm.rows_done == 3 and not hm.complete
    assert set(hm.status[3:].ravel()) == {"not computed"}
    p = tmp_path / "hyper.csv"
    map_files.write_hyper_csv(hm, p)
    rows = list(csv.DictReader(ln for ln in p.read_text().splitlines()
                               if not ln.startswith("#")))
    assert len(rows) == 40 and set(rows[0]) == {"lr", "momentum", "final_loss",
                                                "steps_to_converge", "status"}
    for by in ("loss", "steps", "status"):
        img = map_files.render_hyper(hm, by)
        assert img.shape == (5, 8, 4)
        assert np.all(img[3:, :, 3] == 0) and np.all(img[:3, :, 3] == 255)
        map_files.save_hyper_png(hm, tmp_path / f"h-{by}.png", color_by=by)
    with pytest.raises(ValueError):
        map_files.render_hyper(hm, "colour")


def test_losslab_export_map(tmp_path, capsys):
    from simulator.cli import main

    out = tmp_path / "basin.csv"
    assert main(["export", "sharp-flat", "--map", "basin", "--resolution", "24",
                 "--map-steps", "200", "--out", str(out), "-q"]) == 0
    rows = [ln for ln in out.read_text().splitlines() if not ln.startswith("#")]
    assert len(rows) == 1 + 24 * 24
    png = tmp_path / "hyper.png"
    assert main(["export", "ravine", "--map", "hyper", "--resolution", "8", "--x",
                 "lr:1e-3:1:log", "--y", "momentum:0:0.9", "--color-by", "status",
                 "--out", str(png)]) == 0
    assert "hyper map lr x momentum" in capsys.readouterr().err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["export", "ravine", "--map", "hyper", "--x", "lr:1:0",
                 "--out", str(png)]) == 2
    assert "LO < HI" in capsys.readouterr().err
    assert main(["export", "ravine", "--map", "basin", "--lane", "9",
                 "--out", str(png)]) == 2
