"""The desktop app (PySide6 + pyqtgraph). Reads ``simulator.core``; never the reverse.

``simulator.gui.app.main`` starts it; :class:`~simulator.gui.session.Session` is the
scene model every panel and view shares.
"""
