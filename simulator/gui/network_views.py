"""What the window adds for networks (issue 17): the Data dock (points by class and the
selected lane's decision boundary, ``views/data_view.py``), shown and raised when a
network is picked. The network's map (``views/landscape.py``) takes the 2-D view's place
in the window itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget


@dataclass
class NetworkViews:
    """What :func:`install_network_views` made."""

    data_view: object
    data_dock: QDockWidget


def install_network_views(window) -> NetworkViews:
    """Add the Data dock (tabbed with Diagnostics, toggled in the View menu)."""
    from .views.data_view import DataView

    view = DataView(window.session)
    dock = window.add_dock("Data", "dock_data", view, Qt.DockWidgetArea.RightDockWidgetArea,
                           tab_with=window.dock_diagnostics, view_menu=True)
    dock.setToolTip("A network's training and test points and the selected lane's "
                    "decision boundary at the current frame")
    shown = {"network": None}

    def on_surface() -> None:
        net = getattr(window.session.surface, "kind", None) == "network"
        if net and shown["network"] is not window.session.surface:
            dock.show()
            dock.raise_()
        shown["network"] = window.session.surface if net else None

    window.session.surface_changed.connect(on_surface)
    on_surface()
    return NetworkViews(data_view=view, data_dock=dock)
