"""The network form: dataset, noise, architecture, set sizes and seed of a small network.

A network is one more kind of surface (``simulator.core.network``): the form builds a
``Network`` from its fields and gives it to the session like any surface, so the lanes
race from the network's initial weights, each with its own optimizer, learning rate,
schedule and batch size. Every field says what it teaches in its tooltip; a bad value
gets a message under the form naming it, and the scene stays as it was.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from . import ErrorLabel, form_layout, shrinkable

#: the app keeps every step of every lane: sets larger than this make a run slow to redo
MAX_APP_POINTS = 5000

#: tree entries of the surface chooser's "Networks" group: title -> form values
NETWORK_PRESETS: dict[str, dict] = {
    "Moons, 2-16-1 tanh": dict(dataset="moons", hidden=(16,), activation="tanh"),
    "Circles, 2-16-1 relu": dict(dataset="circles", hidden=(16,), activation="relu"),
    "XOR, 2-8-1 tanh": dict(dataset="xor", hidden=(8,), activation="tanh", noise=0.05),
    "Spirals, 2-32-32-1 tanh": dict(dataset="spirals", hidden=(32, 32), activation="tanh",
                                    noise=0.05),
    "Blobs, logistic regression": dict(dataset="blobs", hidden=(), activation="tanh"),
}

DEFAULTS = dict(dataset="moons", hidden=(16,), activation="tanh", n_train=256, n_test=256,
                noise=0.2, label_noise=0.0, seed=0)

TIPS = {
    "dataset": "The 2-D points to classify. Moons and circles need a curved boundary; "
               "XOR needs a hidden layer; spirals need depth; blobs are separable by a "
               "straight line (logistic regression is enough).",
    "noise": "Standard deviation of the noise on the points' coordinates: more noise, "
             "more overlap between the classes, and a boundary that fits the training "
             "points too closely tests worse.",
    "label_noise": "Fraction of training labels flipped to a wrong class (the test set "
                   "stays clean). A network that memorises the flipped points ends with "
                   "a low training loss and a higher test loss: overfitting made visible.",
    "hidden": "Widths of the hidden layers, comma separated: '16' is one layer of 16 "
              "units, '16, 16' two layers, empty for none (logistic regression). At most "
              "three layers of up to 256 units.",
    "activation": "The nonlinearity after every hidden layer. tanh is smooth and "
                  "centred; relu is piecewise linear (its landscape has kinks); sigmoid "
                  "saturates, so gradients shrink.",
    "n_train": "Training points: the loss the optimizers go down is the mean over these. "
               "Few points are easy to memorise.",
    "n_test": "Test points, drawn independently: the test loss and accuracy say how well "
              "the network generalises (0 for none).",
    "seed": "Seed of the data and of the initial weights (torch's default initialisation): "
            "every lane starts from the same weights.",
}


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"16, 8"`` -> ``(16, 8)``; ValueError with a message meant for the user."""
    t = text.replace(";", ",").replace("x", ",").strip()
    if not t:
        return ()
    out = []
    for part in t.split(","):
        p = part.strip()
        if not p:
            continue
        try:
            v = int(p)
        except ValueError:
            raise ValueError(f"hidden layers: \u201c{p}\u201d is not a whole number "
                             "(write widths like 16 or 16, 16)") from None
        out.append(v)
    return tuple(out)


def _int(text: str, what: str) -> int:
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        raise ValueError(f"{what}: \u201c{t}\u201d is not a whole number") from None


def _float(text: str, what: str) -> float:
    t = text.strip().replace(",", ".")
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"{what}: \u201c{t}\u201d is not a number") from None
    return v


class NetworkForm(QWidget):
    """Fields for a network; ``network_built(Network)`` when they make a valid one."""

    network_built = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from simulator.core.kernels.mlp import ACTIVATIONS
        from simulator.core.netdata import DATASETS

        self.dataset = QComboBox()
        for d in DATASETS:
            self.dataset.addItem(d, d)
        self.dataset.addItem("spirals (3 classes)", "spirals3")
        shrinkable(self.dataset)
        self.activation = QComboBox()
        for a in ACTIVATIONS:
            self.activation.addItem(a, a)
        shrinkable(self.activation)
        self.hidden = QLineEdit()
        self.hidden.setPlaceholderText("e.g. 16 or 16, 16")
        self.noise = QLineEdit()
        self.label_noise = QLineEdit()
        self.n_train = QLineEdit()
        self.n_test = QLineEdit()
        self.seed = QLineEdit()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.message = ErrorLabel()

        form = form_layout()
        rows = (("Dataset", self.dataset, "dataset"), ("Point noise", self.noise, "noise"),
                ("Label noise", self.label_noise, "label_noise"),
                ("Hidden layers", self.hidden, "hidden"),
                ("Activation", self.activation, "activation"),
                ("Training points", self.n_train, "n_train"),
                ("Test points", self.n_test, "n_test"), ("Seed", self.seed, "seed"))
        for text, w, key in rows:
            label = QLabel(text)
            label.setToolTip(TIPS[key])
            w.setToolTip(TIPS[key])
            form.addRow(label, w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addLayout(form)
        lay.addWidget(self.summary)
        lay.addWidget(self.message)
        self.set_values(DEFAULTS)
        for w in (self.hidden, self.noise, self.label_noise, self.n_train, self.n_test,
                  self.seed):
            w.editingFinished.connect(self.apply)
        self.dataset.currentIndexChanged.connect(lambda _i: self.apply())
        self.activation.currentIndexChanged.connect(lambda _i: self.apply())

    # ---- values ---------------------------------------------------------------------------
    def set_values(self, d: dict) -> None:
        """Show a network's settings (``Network.to_dict()`` or a preset's) without
        applying them."""
        v = {**DEFAULTS, **d}
        key = "spirals3" if v["dataset"] == "spirals" and v.get("classes") == 3 else v["dataset"]
        with QSignalBlocker(self.dataset), QSignalBlocker(self.activation):
            self.dataset.setCurrentIndex(max(0, self.dataset.findData(key)))
            self.activation.setCurrentIndex(max(0, self.activation.findData(v["activation"])))
        self.hidden.setText(", ".join(str(int(h)) for h in v["hidden"]))
        self.noise.setText(f"{float(v['noise']):g}")
        self.label_noise.setText(f"{float(v['label_noise']):g}")
        self.n_train.setText(str(int(v["n_train"])))
        self.n_test.setText(str(int(v["n_test"])))
        self.seed.setText(str(int(v["seed"])))

    def values(self) -> dict:
        """The fields as ``sim.network`` arguments; ValueError naming the first bad one."""
        key = self.dataset.currentData()
        d = dict(dataset="spirals" if key == "spirals3" else key,
                 classes=3 if key == "spirals3" else None,
                 activation=self.activation.currentData(),
                 hidden=parse_hidden(self.hidden.text()))
        d["noise"] = _float(self.noise.text(), "point noise")
        if not 0 <= d["noise"] <= 2:
            raise ValueError(f"point noise must be from 0 to 2, got {d['noise']:g}")
        d["label_noise"] = _float(self.label_noise.text(), "label noise")
        if not 0 <= d["label_noise"] <= 1:
            raise ValueError("label noise is a fraction of the training labels: from 0 to 1, "
                             f"got {d['label_noise']:g}")
        d["n_train"] = _int(self.n_train.text(), "training points")
        d["n_test"] = _int(self.n_test.text(), "test points")
        for what, k, lo in (("training points", "n_train", 1), ("test points", "n_test", 0)):
            if not lo <= d[k] <= MAX_APP_POINTS:
                raise ValueError(f"{what} must be from {lo} to {MAX_APP_POINTS:,}, got {d[k]:,}")
        d["seed"] = _int(self.seed.text(), "seed")
        if d["seed"] < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {d['seed']}")
        return d

    def build(self):
        """The network the fields describe, or None after showing why not."""
        from simulator.core.network import Network

        try:
            net = Network(**self.values())
        except ValueError as e:
            self.message.show_message(str(e))
            return None
        self.message.clear_message()
        return net

    def apply(self) -> None:
        net = self.build()
        if net is not None:
            self.network_built.emit(net)

    def show_network(self, net) -> None:
        """Fields and summary from the scene's network."""
        if self.build() != net:
            self.set_values(net.to_dict())
        self.message.clear_message()
        k = net.n_classes
        self.summary.setText(
            f"<b>{net.name}</b>: {net.n_params:,} weights, {k} classes, "
            f"{net.n_train} training and {net.n_test} test points. The map shows the "
            "training loss on a plane through weight space.")


#: the lanes a network gets when it replaces a surface: (preset, lane overrides). Plain
#: gradient descent full-batch and on minibatches of 16 at the same rate (the batch-size
#: comparison), momentum and Adam.
NETWORK_LANES = (("GD", {}), ("GD", {"batch_size": 16, "name": "SGD, batch 16"}),
                 ("Momentum", {}), ("Adam", {}))


def set_network(session, net) -> None:
    """Show network ``net``: a new network keeps the lanes when the scene already shows
    one (their rates and batch sizes stay), else the lanes become ``NETWORK_LANES`` with
    rates from the network's sharpness at its initial weights."""
    from simulator.core.network import Network
    from simulator.core.scene import make_preset

    if isinstance(session.surface, Network):
        session.set_surface(net)
        return
    sc = session.scene.copy()
    sc.set_surface(net)
    sc.set_lab(None)
    sc.lanes = []
    sc.selected_lane = -1
    for preset, kw in NETWORK_LANES:
        opt, lane_kw = make_preset(preset, net, sc.start)
        kw = {"name": preset, **lane_kw, **kw}
        sc.add_lane(opt, **kw)
    sc.selected_lane = 0
    sc.frame = sc.steps
    session.load_scene(sc)
    session.status_message.emit(
        f"{net.name}: four lanes race from the same initial weights (GD full-batch and "
        "on minibatches of 16 at the same rate, momentum, Adam)")
