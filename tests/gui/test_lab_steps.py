"""Labs made of steps in the app: the progress through a lab kept in the settings."""

from __future__ import annotations

from simulator.gui import settings as st


# ---- the stored progress (typed settings) ------------------------------------------------------
def test_progress_round_trip_and_corrupt_values(qtbot):
    root = st.Settings()
    p = st.LabProgress(step=2, passed={0, 2}, hints={0: 2, 1: 1}, source="lr-1d")
    st.save_lab_progress(root, "lr-1d", p)
    back = st.load_lab_progress(root, "lr-1d", 3, [2, 2, 2])
    assert back == p
    # a lab file edited since: fewer steps and hints; out-of-range parts read as none
    short = st.load_lab_progress(root, "lr-1d", 2, [1, 0])
    assert short.step == 0 and short.passed == {0} and short.hints == {0: 1}
    g = root.group(st.LABS).group("lr-1d")
    g.set("step", "two")
    g.set("passed", "[0, true, 9, \"x\"")
    g.set_json("hints", {"0": "many", "x": 1, "1": -3})
    assert st.load_lab_progress(root, "lr-1d", 3, [2, 2, 2]) == st.LabProgress(source="lr-1d")
    # an id the lab format refuses is never used as a settings key
    st.save_lab_progress(root, "../evil", p)
    assert st.load_lab_progress(root, "../evil", 3) == st.LabProgress()
    st.clear_lab_progress(root, "lr-1d")
    assert st.load_lab_progress(root, "lr-1d", 3) == st.LabProgress()
