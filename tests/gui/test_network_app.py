"""The app on a network (issue 17, App): the Networks group and form, the loss plane
computed off the GUI thread, the data view, the plots and the diagnostics."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.core.network import Network
from simulator.gui.panels.network_form import NETWORK_LANES, parse_hidden

SMALL = dict(dataset="moons", hidden=(8,), n_train=64, n_test=64, seed=1)


@pytest.fixture
def window(qtbot):
    from simulator.gui.main_window import MainWindow

    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.session.flush()
    yield w
    w.animator.pause()


def _pick_network(window, **values):
    panel = window.surface_panel
    form = panel.network_form
    form.set_values({**SMALL, **values})
    form.apply()
    window.session.flush()
    return window.session.surface


def test_networks_group_lists_presets(window):
    tree = window.surface_panel.tree
    titles = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert "Networks" in titles
    g = tree.topLevelItem(titles.index("Networks"))
    assert g.childCount() >= 3 and not g.isHidden()
    assert all(g.child(j).toolTip(0) for j in range(g.childCount()))


def test_picking_a_network_in_the_tree_reaches_the_scene(window, qtbot):
    tree = window.surface_panel.tree
    titles = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    g = tree.topLevelItem(titles.index("Networks"))
    tree.setCurrentItem(g.child(0))
    window.session.flush()
    net = window.session.surface
    assert isinstance(net, Network) and net.dataset == "moons"
    assert window.surface_panel.network_form.isVisible()
    assert tuple(window.session.start) == tuple(net.init)
    # lanes race from the same initial weights, each with its own optimizer and batch
    lanes = window.session.lanes
    assert len(lanes) == len(NETWORK_LANES)
    assert [lane.batch_size for lane in lanes] == [None, 16, None, None]
    runs = [window.session.results[lane.uid] for lane in lanes]
    assert all(np.array_equal(r.positions[0], net.init) for r in runs)
    assert all(r.positions.shape[1] == net.n_params for r in runs)
    assert not np.allclose(runs[0].positions[-1], runs[1].positions[-1])


def test_form_values_reach_the_scene(window):
    net = _pick_network(window, dataset="xor", hidden=(6, 4), activation="relu",
                        label_noise=0.1, n_train=50, n_test=30, seed=3)
    assert net == Network(dataset="xor", hidden=(6, 4), activation="relu", n_train=50,
                          n_test=30, noise=0.2, label_noise=0.1, seed=3)
    # a second edit keeps the lanes (their rates and batch sizes)
    uids = [lane.uid for lane in window.session.lanes]
    window.session.update_lane(2, lr=0.05)
    window.session.flush()
    net2 = _pick_network(window, dataset="xor", hidden=(6, 4), activation="tanh",
                         n_train=50, n_test=30, seed=3)
    assert net2.activation == "tanh"
    assert [lane.uid for lane in window.session.lanes] == uids
    assert window.session.lanes[2].optimizer.lr == 0.05


def test_lane_batch_size_applies_to_networks(window):
    _pick_network(window)
    s = window.session
    s.select_lane(0)
    ed = window.lanes_panel.editor
    ed.show_lane(s.current_lane)
    assert ed.batch.isVisibleTo(ed)
    ed.batch.set_value(8)
    ed.batch.edited.emit(8)
    s.flush()
    assert s.results[s.lanes[0].uid].batch_size == 8


@pytest.mark.parametrize("field, text, words", [
    ("hidden", "16, a", "not a whole number"),
    ("hidden", "16, 16, 16, 16", "at most 3 hidden layers"),
    ("label_noise", "1.5", "label noise"),
    ("n_train", "0", "training points"),
    ("n_test", "ten", "test points"),
    ("seed", "-1", "seed"),
])
def test_bad_form_value_gives_a_message_and_keeps_the_scene(window, field, text, words):
    net = _pick_network(window)
    form = window.surface_panel.network_form
    getattr(form, field).setText(text)
    getattr(form, field).editingFinished.emit()
    window.session.flush()
    assert form.message.isVisibleTo(form)
    assert words in form.message.text().lower()
    assert window.session.surface is net


def test_parse_hidden():
    assert parse_hidden("") == ()
    assert parse_hidden("16") == (16,)
    assert parse_hidden(" 16, 8 ,") == (16, 8)
    with pytest.raises(ValueError, match="whole number"):
        parse_hidden("1.5")


def test_back_to_a_surface_hides_the_form(window):
    _pick_network(window)
    from simulator.core.library import get_surface

    window.session.set_surface(get_surface("rosenbrock"))
    panel = window.surface_panel
    assert not panel.network_form.isVisibleTo(panel)
    assert panel.domain_host.isVisibleTo(panel)
