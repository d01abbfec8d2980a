"""What a network view says while its picture is being computed.

A network's lanes are trained in a worker thread (a first network of a session also
compiles its kernels: 20 s and more on a cold start), then its loss plane and its
sharpness are computed in others. Until a picture arrives a view would show empty axes,
which a student reads as a broken view. ``Placeholder`` is a label laid over a view:
``say(text)`` shows a message in the middle of an empty view (the view shows no axes
meanwhile), ``note(text)`` a small note in its top right corner over a picture that is
being recomputed (the view dims the old picture; a note appears only when the work
lasts longer than ``NOTE_DELAY_MS``, so a warm re-run of a tenth of a second never
flickers), ``clear()`` hides it. ``waiting_text`` words the wait for the lanes' runs.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget

NOTE_DELAY_MS = 300
#: after this long training the first runs, a kernel not yet compiled is being compiled
COMPILE_HINT_S = 1.5
DIM = 0.45  # the opacity of a picture being recomputed

_CENTRE_CSS = ("QLabel { background: rgba(32, 33, 36, 215); color: #ececec; "
               "border-radius: 6px; padding: 10px 14px; }")
_NOTE_CSS = ("QLabel { background: rgba(32, 33, 36, 200); color: #ececec; "
             "border-radius: 4px; padding: 2px 6px; }")


class Placeholder(QLabel):
    """A message over ``host`` (which it follows when resized); mouse events pass through."""

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self.setObjectName("placeholder")
        self.host = host
        self.mode = ""  # "", "say" or "note"
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.message = ""  # the text shown or due, plain
        self._due = ""  # the note shown once the delay has passed
        self._delay = QTimer(self)
        self._delay.setSingleShot(True)
        self._delay.setInterval(NOTE_DELAY_MS)
        self._delay.timeout.connect(self._note_now)
        host.installEventFilter(self)
        self.hide()

    @property
    def showing(self) -> str:
        """The plain text on screen ("" when hidden)."""
        return self.message if self.mode and not self.isHidden() else ""

    def _set(self, text: str) -> None:
        """``text``, its first line in bold when it says something in the middle."""
        if text == self.message and self.text():
            return
        self.message = text
        lines = [html.escape(t) for t in text.split("\n")]
        if self.mode == "say" and len(lines) > 1:
            lines[0] = f"<b>{lines[0]}</b>"
        self.setText("<br>".join(lines))

    def say(self, text: str) -> None:
        """A message in the middle (the view has nothing to show yet)."""
        self._delay.stop()
        if self.mode != "say":
            self.mode = "say"
            self.setStyleSheet(_CENTRE_CSS)
            self.message = ""
        self._set(text)
        self._place()
        self.show()
        self.raise_()

    def note(self, text: str) -> None:
        """A small note in the top right corner, after ``NOTE_DELAY_MS`` (at once when a
        note is already shown)."""
        self._due = text
        if self.mode == "note" and not self.isHidden():
            self._note_now()
        elif not self._delay.isActive():
            if self.mode == "say":
                self.hide()
                self.mode = ""
            self._delay.start()

    @property
    def note_due(self) -> bool:
        """Whether a note waits for its delay (or is shown)."""
        return self._delay.isActive() or (self.mode == "note" and not self.isHidden())

    def _note_now(self) -> None:
        if self.mode != "note":
            self.mode = "note"
            self.setStyleSheet(_NOTE_CSS)
            self.message = ""
        self._set(self._due)
        self._place()
        self.show()
        self.raise_()

    def clear(self) -> None:
        self._delay.stop()
        self.mode = ""
        self.hide()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self.host and event.type() == QEvent.Type.Resize and self.mode:
            self._place()
        return False

    def _place(self) -> None:
        w, h = self.host.width(), self.host.height()
        if self.mode == "say":
            width = max(60, min(w - 24, 440))
            height = min(self.heightForWidth(width), h)
            self.setGeometry((w - width) // 2, max(0, (h - height) // 2), width, height)
        else:
            width = min(w - 8, self.sizeHint().width())
            height = self.heightForWidth(width) if self.wordWrap() else self.sizeHint().height()
            self.setGeometry(max(0, w - width - 6), 6, width, height)


def kernel_compiled(name: str = "run_network") -> bool:
    """Whether this process has the networks' kernel ``name`` compiled or loaded
    (``run_network``: training; ``evaluate``: plane and predictions; ``hvp_many_kernel``:
    sharpness: a kernel of ``kernels.mlp``)."""
    if name == "run_network":
        from simulator.core.kernels.loops import is_ready

        return is_ready("run_network", ())
    from simulator.core.kernels import mlp

    return bool(getattr(getattr(mlp, name, None), "signatures", True))


def compile_hint(name: str, elapsed: float) -> str:
    """A line on why a first use takes long, when kernel ``name`` is still compiling."""
    if elapsed >= COMPILE_HINT_S and not kernel_compiled(name):
        return ("\nThe first network of a session compiles its kernels first "
                "(once; this can take half a minute).")
    return ""


def waiting_text(session, what: str = "") -> str:
    """The message for a view waiting for its lanes' runs: "Training the lanes (k of
    n done)…", and why it takes long while the training kernel is being compiled; then
    ``what`` (what appears when the runs are in)."""
    done, total, elapsed = session.runs_state()
    count = f" ({done} of {total} done)" if total > 1 else ""
    text = f"Training the lanes{count}\u2026"
    if elapsed >= COMPILE_HINT_S:
        text += f" {elapsed:.0f} s" + compile_hint("run_network", elapsed)
    return f"{text}\n{what}" if what else text
