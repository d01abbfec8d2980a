"""3-D view checks of issue 18, run by test_divergence.py in a subprocess on an X display
(OpenGL does not work on the offscreen platform the rest of the suite uses).

Usage: python gl_issue18.py log-1d [--hide-3d] | diverged

``log-1d``: a 2-D lab with log colour on, then the 1-D lab opened (the 3-D view raised
IndexError in ``_xy`` from ``_on_log_toggled``). ``diverged``: a lane with lr 1e100 is
marked with an x in the 3-D view. Exit 0 when right; 2 and the traceback or the reason
when not.
"""

from __future__ import annotations

import sys
import traceback


def main(what: str, hide: bool) -> int:
    errors: list[str] = []
    sys.excepthook = lambda *a: errors.append("".join(traceback.format_exception(*a)))
    from simulator.gui.app import make_application

    app = make_application(["gl_issue18"])
    from simulator.gui import lab_dialogs
    from simulator.gui.main_window import MainWindow

    def spin(n=60):
        for _ in range(n):
            app.processEvents()

    w = MainWindow(with_3d=True)
    w.show()
    spin()
    if w.surface3d is None:
        print("no 3-D view: no OpenGL")
        return 2
    if what == "log-1d":
        lab_dialogs.open_lab_ref(w, "race")  # log colour on (the lab says so)
        spin()
        if not w.contour.log_check.isChecked():
            print("the race lab did not turn log colour on")
            return 2
        if hide:
            w.act_show_3d.setChecked(False)
            spin()
        lab_dialogs.open_lab_ref(w, "lr-1d")
        spin(120)
        if w.session.surface.dim != 1:
            print("the 1-D lab did not open")
            return 2
    elif what == "diverged":
        s = w.session
        s.update_lane(0, lr=1e100)
        s.flush()
        spin(120)
        s.set_frame(s.steps)
        spin(30)
        v = w.surface3d
        if v.waiting():
            spin(200)
        pos = getattr(v.diverged_item, "pos", None)
        if pos is None or len(pos) != 4 or not v.diverged_item.visible():
            print(f"no x marks the diverged lane in 3-D: {pos!r}")
            return 2
    if errors:
        print("\n".join(errors))
        return 2
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--hide-3d" in sys.argv))
