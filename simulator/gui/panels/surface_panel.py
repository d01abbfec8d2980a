"""Surface panel: the library (grouped 2-D / 1-D / data), what each surface teaches,
its parameters as sliders, and the domain shown.

Other ways of making a surface (a typed formula, a brush) plug in below the library
through :meth:`SurfacePanel.add_section`.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .. import palette
from . import ErrorLabel, NumberField, PairField, form_layout, section_label

GROUPS = (("2d", "2-D surfaces"), ("1d", "1-D curves"), ("data", "Data (model weights)"),
          ("network", "Networks"))
NET_PREFIX = "network:"  # tree entries of the Networks group: NET_PREFIX + preset title


def _group_of(surface) -> str:
    if surface.kind in ("data", "network"):
        return surface.kind
    return "1d" if surface.dim == 1 else "2d"


def _html_escape(t: str) -> str:
    return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SurfacePanel(QWidget):
    """Pick a library surface, tune its parameters, set the domain."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("SurfacePanel")
        self._library: dict[str, object] = {}  # name -> default surface (for grouping)
        self._param_fields: dict[str, NumberField] = {}
        self._shown_name: str | None = None

        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setMinimumHeight(140)
        self.tree.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.tree.currentItemChanged.connect(self._on_pick)

        self.title = section_label("")
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.params_title = section_label("Parameters")
        self.params_host = QWidget()
        self.params_form = form_layout()
        self.params_host.setLayout(self.params_form)

        self.domain_x = PairField(("from", "to"))
        self.domain_y = PairField(("from", "to"))
        self.domain_x.edited.connect(lambda _v: self._on_domain())
        self.domain_y.edited.connect(lambda _v: self._on_domain())
        self.domain_reset = QPushButton("Default domain")
        self.domain_reset.setToolTip("Back to the surface's own domain")
        self.domain_reset.clicked.connect(self._on_domain_reset)
        self.race_button = QPushButton("Default race")
        self.race_button.setToolTip(
            "This surface's own start and lanes, chosen so the race is worth watching "
            "(replaces the lanes)")
        self.race_button.clicked.connect(self.session.use_race)
        self.message = ErrorLabel()

        from .network_form import NetworkForm

        self.network_form = NetworkForm()
        self.network_form.network_built.connect(self._on_network_built)
        self.network_form.setVisible(False)

        # where other issues add "type a formula" and "draw a surface"
        self.extra = QVBoxLayout()
        self.extra.setContentsMargins(0, 0, 0, 0)

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(8, 4, 8, 8)
        lay.setSpacing(4)
        lay.addWidget(self.title)
        lay.addWidget(self.formula)
        lay.addWidget(self.description)
        lay.addWidget(self.params_title)
        lay.addWidget(self.params_host)
        lay.addWidget(self.network_form)
        self.domain_title = section_label("Domain")
        lay.addWidget(self.domain_title)
        dom = form_layout()
        self._x_label = QLabel("x")
        self._y_label = QLabel("y")
        dom.addRow(self._x_label, self.domain_x)
        dom.addRow(self._y_label, self.domain_y)
        self.domain_host = QWidget()
        self.domain_host.setLayout(dom)
        lay.addWidget(self.domain_host)
        row = QHBoxLayout()
        row.addWidget(self.race_button)
        row.addStretch(1)
        row.addWidget(self.domain_reset)
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addLayout(self.extra)
        lay.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 0)
        outer.setSpacing(4)
        outer.addWidget(self.tree, 2)
        outer.addWidget(scroll, 3)

        self._fill_library()
        session.surface_changed.connect(self._on_surface_changed)
        self._on_surface_changed()

        from .formula_field import FormulaField

        self.formula_field = FormulaField(session)
        self.add_section("Type a formula", self.formula_field)

    def add_section(self, title: str, widget: QWidget) -> None:
        """Add a way of making surfaces (formula entry, brush) under the library."""
        self.extra.addWidget(section_label(title))
        self.extra.addWidget(widget)

    # ---- library ---------------------------------------------------------------------------
    def _fill_library(self) -> None:
        from simulator.core.library import get_surface, list_surfaces

        groups = {}
        with QSignalBlocker(self.tree):
            for key, title in GROUPS:
                g = QTreeWidgetItem([title])
                g.setFlags(Qt.ItemFlag.ItemIsEnabled)
                f = g.font(0)
                f.setBold(True)
                g.setFont(0, f)
                self.tree.addTopLevelItem(g)
                groups[key] = g
            for name in list_surfaces():
                try:
                    s = get_surface(name)
                except Exception:  # noqa: BLE001 - a broken entry must not hide the others
                    continue
                self._library[name] = s
                it = QTreeWidgetItem([name])
                it.setData(0, Qt.ItemDataRole.UserRole, name)
                first = s.description.split(". ")[0].rstrip(".") + "."
                it.setToolTip(0, f"{s.formula}\n\n{first}" if s.formula else first)
                groups[_group_of(s)].addChild(it)
            from .network_form import NETWORK_PRESETS, TIPS

            for title in NETWORK_PRESETS:
                it = QTreeWidgetItem([title])
                it.setData(0, Qt.ItemDataRole.UserRole, NET_PREFIX + title)
                it.setToolTip(0, "A small neural network trained live: its weights are the "
                              "parameters, its training loss the landscape. "
                              + TIPS["dataset"])
                groups["network"].addChild(it)
            for g in groups.values():
                g.setExpanded(True)
                g.setHidden(g.childCount() == 0)

    def _item_for(self, name: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            g = self.tree.topLevelItem(i)
            for j in range(g.childCount()):
                if g.child(j).data(0, Qt.ItemDataRole.UserRole) == name:
                    return g.child(j)
        return None

    def _on_pick(self, item, _prev) -> None:
        if item is None:
            return
        name = item.data(0, Qt.ItemDataRole.UserRole)
        if name and name.startswith(NET_PREFIX):
            from .network_form import NETWORK_PRESETS

            self.network_form.set_values(NETWORK_PRESETS[name[len(NET_PREFIX):]])
            self.network_form.apply()
            return
        if not name or (self.session.surface is not None
                        and self.session.surface.name == name
                        and self.session.surface.kind in ("builtin", "data")):
            return
        from simulator.core.library import get_surface

        try:
            s = get_surface(name)
        except (LookupError, ValueError) as e:
            self.message.show_message(str(e))
            return
        self.message.clear_message()
        self.session.set_surface(s, race=True)  # its default race, unless lanes were edited

    # ---- from the session -----------------------------------------------------------------
    def _on_network_built(self, net) -> None:
        from .network_form import set_network

        if net == self.session.surface:
            return
        try:
            set_network(self.session, net)
        except ValueError as e:
            self.network_form.message.show_message(str(e))

    def _show_network(self, s) -> None:
        for w in (self.formula, self.params_title, self.params_host, self.domain_title,
                  self.domain_host, self.domain_reset):
            w.setVisible(False)
        self.network_form.setVisible(True)
        self.network_form.show_network(s)
        self.race_button.setEnabled(False)
        self.title.setText(f"{_html_escape(s.name)}  <span style='font-weight:normal; "
                           f"color:{palette.muted_color()}'>(network)</span>")
        self.description.setText(
            "Train a small neural network on 2-D points. Every weight is a coordinate, so "
            "the loss lives in a space of many dimensions: the map shows it on a plane "
            "through the runs (PCA) or along random filter-normalised directions, and the "
            "Data view shows the decision boundary.")
        self.description.setVisible(True)
        self._shown_name = (s.name, s.kind)
        with QSignalBlocker(self.tree):
            self.tree.setCurrentItem(None)
            self.tree.clearSelection()

    def _on_surface_changed(self) -> None:
        s = self.session.surface
        if s is None:
            return
        if s.kind == "network":
            self._show_network(s)
            return
        self.network_form.setVisible(False)
        for w in (self.domain_title, self.domain_host, self.domain_reset):
            w.setVisible(True)
        item = self._item_for(s.name) if s.kind in ("builtin", "data") else None
        with QSignalBlocker(self.tree):
            if item is not None:
                self.tree.setCurrentItem(item)
            else:
                self.tree.setCurrentItem(None)
                self.tree.clearSelection()
        from simulator.core.scene import race_for

        self.race_button.setEnabled(race_for(s) is not None)
        kind = {"2d": "2-D surface", "1d": "1-D curve", "data": "data surface",
                "network": "network"}[_group_of(s)]
        self.title.setText(f"{s.name}  <span style='font-weight:normal; color:"
                           f"{palette.muted_color()}'>({kind})</span>")
        vars_ = ", ".join(s.variables)
        self.formula.setText(
            f"<code>L({_html_escape(vars_)}) = {_html_escape(s.formula)}</code>"
            if s.formula else ""
        )
        self.formula.setVisible(bool(s.formula))
        self.description.setText(s.description)
        self.description.setVisible(bool(s.description))
        if self._shown_name != (s.name, s.kind):
            self._build_params(s)
            self._shown_name = (s.name, s.kind)
        else:
            for name, field in self._param_fields.items():
                if name in s.params:
                    field.set_value(float(s.params[name]))
        self._x_label.setText(s.variables[0])
        self.domain_x.set_value(s.domain[0])
        two = s.dim == 2
        self._y_label.setVisible(two)
        self.domain_y.setVisible(two)
        if two:
            self._y_label.setText(s.variables[1])
            self.domain_y.set_value(s.domain[1])

    def _build_params(self, s) -> None:
        from simulator.core.library import surface_parameters

        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self._param_fields.clear()
        try:
            specs = surface_parameters(s.name) if s.kind in ("builtin", "data") else []
        except LookupError:
            specs = []
        for spec in specs:
            v = float(s.params.get(spec.name, spec.default))
            f = NumberField(spec.lo, spec.hi, log=spec.log, integer=spec.integer, value=v,
                            minimum=spec.lo, maximum=spec.hi)
            f.setToolTip(spec.help or spec.label)
            f.edited.connect(lambda _v, n=spec.name, f=f: self._on_param(n, f))
            label = QLabel(spec.label or spec.name)
            label.setToolTip(spec.help or spec.label)
            label.setWordWrap(True)
            self.params_form.addRow(label, f)
            self._param_fields[spec.name] = f
        self.params_title.setVisible(bool(specs))
        self.params_host.setVisible(bool(specs))

    # ---- to the session ----------------------------------------------------------------------
    def _on_param(self, name: str, field: NumberField) -> None:
        from simulator.core.library import get_surface

        s = self.session.surface
        params = {k: f.value() for k, f in self._param_fields.items()}
        try:
            new = get_surface(s.name, **params)
        except (LookupError, ValueError) as e:
            field.reject(str(e), s.params.get(name))
            return
        # a parameter change keeps a domain the user chose (unless the default moved)
        lib = self._library.get(s.name)
        if lib is not None and s.domain != lib.domain and s.dim == new.dim:
            try:
                new = dataclasses.replace(new, domain=s.domain)
            except ValueError:
                pass
        self.session.set_surface(new)

    def _on_domain(self) -> None:
        s = self.session.surface
        dom = (self.domain_x.value(),)
        if s.dim == 2:
            dom = dom + (self.domain_y.value(),)
        try:
            new = dataclasses.replace(s, domain=tuple(tuple(p) for p in dom))
        except ValueError:
            self.message.show_message("each range needs from < to")
            self.domain_x.set_value(s.domain[0])
            if s.dim == 2:
                self.domain_y.set_value(s.domain[1])
            return
        self.message.clear_message()
        self.session.set_surface(new)

    def _on_domain_reset(self) -> None:
        from simulator.core.library import get_surface

        s = self.session.surface
        if s.kind not in ("builtin", "data"):
            return
        try:
            default = get_surface(s.name, **{k: v for k, v in s.params.items()})
        except (LookupError, ValueError, TypeError):
            return
        if default.domain != s.domain:
            self.session.set_surface(dataclasses.replace(s, domain=default.domain))
