"""The ``losslab labs``, ``losslab validate``, ``losslab open`` and ``losslab export``
commands.

``simulator.cli`` maps each command name to a module with ``HELP``,
``add_arguments(parser)`` and ``run(args)``. The three commands live together here and
are exposed to that registry as ``simulator.cli_commands.labs`` / ``.open`` /
``.export`` (small module objects registered in ``sys.modules`` when this module is
imported, which is how ``importlib.import_module`` finds them).

``losslab validate FILE...`` lists every problem of each lab file, one per line as
``FILE: place: message``, then ``FILE: N problems`` (``FILE: ok (...)`` for a valid
file); exit status 0 when every file is valid, 1 when any has problems, 2 when one
cannot be read (missing, not a regular file, too big) or the arguments are wrong.

Other commands' exit status: 0 on success; 2 on bad input, with one line on stderr and
no traceback (an invalid lab file, an unknown lab id, an unwritable path, an unknown
extension, a bad option, or the 3-D view asked for without an OpenGL display); 1 when
the export itself fails (the encoder crashed, the disk filled up); 130 when interrupted,
143 when terminated (SIGTERM). A failed, interrupted or killed export never leaves a
half-written file at ``--out``; a temporary file left by ``kill -9`` is named as
LossLab's (``.NAME.losslab-PID-*.part.EXT``) and removed by the next write to the same
file.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import types

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM

DEFAULT_FPS = 30
DEFAULT_SIZE = (960, 540)
MAX_FRAMES = 100_000


EXIT_NO_DISPLAY = 2


def no_display_hint(environ=None, platform: str | None = None) -> str | None:
    """A one-line hint when the desktop app cannot open a window here, else None.

    On Linux Qt needs an X11 or Wayland display; without one it aborts (exit 134) with a
    long message about platform plugins. A Qt platform chosen on purpose
    (``QT_QPA_PLATFORM``, e.g. offscreen) is left to Qt.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY") \
            or environ.get("QT_QPA_PLATFORM"):
        return None
    return ("losslab: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the app "
            "cannot open its window; use a virtual display (xvfb-run -a losslab) or the "
            "headless commands (losslab export, losslab labs; see losslab --help)")


def gui_or_hint(run_gui) -> int:
    """``run_gui()`` if a window can open here, else print the hint and return 2."""
    hint = no_display_hint()
    if hint:
        print(hint, file=sys.stderr)
        return EXIT_NO_DISPLAY
    return run_gui()


class BadInput(Exception):
    """Bad input: reported as one line and exit status 2."""


def _fail(msg: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"losslab: {msg}", file=sys.stderr)
    return code


def _load(ref: str):
    """The lab ``ref`` (built-in id or file) or BadInput with a one-line reason."""
    from simulator.core.labs import LabError, load_lab

    try:
        return load_lab(ref)
    except LookupError as e:
        raise BadInput(str(e).strip("'\"")) from None
    except LabError as e:
        raise BadInput(f"invalid lab: {e.one_line()}") from None


# ---- labs ----------------------------------------------------------------------------------
LABS_HELP = "list the built-in teaching labs, one line each"


def labs_add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ids", action="store_true", help="print only the ids")


def labs_run(args) -> int:
    from simulator.core.labs import LabError, list_labs

    try:
        infos = list_labs()
    except (LabError, LookupError) as e:
        return _fail(f"a built-in lab is broken: {e}", EXIT_FAILED)
    width = max((len(i.id) for i in infos), default=0)
    for info in infos:
        if args.ids:
            print(info.id)
        else:
            print(f"{info.id:<{width}}  {info.title}: {info.summary}")
    return EXIT_OK


# ---- validate ------------------------------------------------------------------------------
VALIDATE_HELP = ("check lab files and list every problem of each (exit 0: all valid, 1: "
                 "problems, 2: a file cannot be read)")


def validate_add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="lab files (.json) to check")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print only the problems, not the files that are valid")


def _validate_one(path: str, quiet: bool) -> int:
    """Check one lab file; print its problems (one line each, ``FILE: place: message``)."""
    from simulator.core.files import read_small_file
    from simulator.core.labs import MAX_FILE_BYTES, LabError, loads_lab

    try:
        raw = read_small_file(path, MAX_FILE_BYTES, "lab file")
    except OSError as e:
        print(f"losslab: {path}: cannot read the file ({e.strerror or e})", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        lab = loads_lab(raw, path)
    except LabError as e:
        for problem in e.problems:
            print(f"{path}: {problem}")
        n = len(e.problems)
        print(f"{path}: {n} problem{'s' if n != 1 else ''}")
        return EXIT_FAILED
    if not quiet:
        tasks = sum(step.task is not None for step in lab.steps)
        print(f"{path}: ok (version {lab.version}, {len(lab.steps)} "
              f"step{'s' if len(lab.steps) != 1 else ''}, {tasks} task{'s' if tasks != 1 else ''})")
    return EXIT_OK


def validate_run(args) -> int:
    codes = [_validate_one(path, args.quiet) for path in args.files]
    if EXIT_BAD_INPUT in codes:
        return EXIT_BAD_INPUT
    return EXIT_FAILED if EXIT_FAILED in codes else EXIT_OK


# ---- open ----------------------------------------------------------------------------------
OPEN_HELP = "open the app on a lab (a built-in lab id or a lab file)"


def open_add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("lab", metavar="LAB_ID_OR_FILE",
                   help="a built-in lab id (see `losslab labs`) or a .json lab file")
    p.add_argument("--present", action="store_true",
                   help="start in presentation mode, for a projector (F5 or Esc leaves it)")


def open_run(args) -> int:
    try:
        lab = _load(args.lab)
    except BadInput as e:
        return _fail(str(e))
    def run_gui() -> int:
        from simulator.gui import lab_dialogs
        from simulator.gui.app import main as gui_main

        lab_dialogs.open_on_start(lab)
        return gui_main(["losslab"], present=getattr(args, "present", False))

    return gui_or_hint(run_gui)


# ---- export --------------------------------------------------------------------------------
EXPORT_HELP = ("export a lab as an animation (.mp4 .gif), an image (.png .svg) or data "
               "(.csv .json); the format follows --out's extension")


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX\u00d7]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 960x540, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _fps(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 1 <= v <= 120:
        raise argparse.ArgumentTypeError(f"must be from 1 to 120, got {text}")
    return v


def export_add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("lab", metavar="LAB_ID_OR_FILE",
                   help="a built-in lab id (see `losslab labs`) or a .json lab file")
    p.add_argument("--out", "-o", required=True, metavar="PATH",
                   help="output file: .mp4, .gif, .png, .svg (2-D only), .csv or .json")
    p.add_argument("--frames", type=_positive_int, default=None, metavar="N",
                   help="frames in an animation, from the start to the end of the run "
                        "(default: one per step, at most 150)")
    p.add_argument("--fps", type=_fps, default=None, metavar="N",
                   help=f"frames per second of an animation (default {DEFAULT_FPS}, slower "
                        "for a short run so that it lasts at least 4 s; a GIF plays only "
                        "100/n fps, so it takes the nearest: 30 -> 33.33, 25 exactly)")
    p.add_argument("--size", type=_size, default=DEFAULT_SIZE, metavar="WxH",
                   help="pixel size of an animation or image (default 960x540)")
    p.add_argument("--view", choices=("2d", "3d", "both"), default="2d",
                   help="2-D map, 3-D surface, or both side by side, above the loss plots "
                        "(default 2d; 3d and both need an OpenGL display)")
    p.add_argument("--step", type=int, default=None, metavar="K",
                   help="the step an image shows (default: the lab's, else the last)")
    p.add_argument("--no-follow", dest="follow", action="store_false",
                   help="the 2-D map colours the domain only (default: like the app's "
                        "View > Follow the Paths, the field grows to where lanes that "
                        "leave the domain go, up to 4 domain widths)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    add_map_arguments(p)


# ---- export --map basin|hyper (maps computed by core.maps, written by export.maps) ---
def add_map_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--map`` options of ``losslab export`` (argparse)."""
    g = p.add_argument_group("maps (--map): a basin or hyperparameter map instead of runs")
    g.add_argument("--map", choices=("basin", "hyper"), default=None,
                   help="write a basin-of-attraction map or a hyperparameter map of one "
                   "lane (.png picture or .csv data)")
    g.add_argument("--lane", type=int, default=None, metavar="N",
                   help="the lane to map, from 1 (default: the first enabled lane)")
    g.add_argument("--resolution", type=int, default=None, metavar="N",
                   help="cells per side (default 256 for basin maps, 40 for hyper maps)")
    g.add_argument("--map-steps", type=int, default=None, metavar="N",
                   help="updates per run (default: the lab's steps)")
    g.add_argument("--x", default=None, metavar="NAME:LO:HI[:log]",
                   help="hyper map x axis, e.g. lr:1e-4:1:log (default: lr around the lane's)")
    g.add_argument("--y", default=None, metavar="NAME:LO:HI[:log]",
                   help="hyper map y axis, e.g. momentum:0:0.99")
    g.add_argument("--color-by", choices=("loss", "test_loss", "steps", "status"),
                   default=None,
                   help="hyper map colour: final loss, final test loss (networks), steps "
                   "to converge or status (default: test_loss on a network, else loss)")


def run_map_export(lab, args, progress=None) -> str:
    """Run ``losslab export LAB --map ...``; returns a one-line summary (ValueError on
    bad input)."""
    from simulator.core.maps import BasinMap
    from simulator.export.maps import export_map

    m = export_map(lab, args.map, args.out, lane=args.lane, resolution=args.resolution,
                   steps=args.map_steps, x=args.x, y=args.y, color_by=args.color_by,
                   progress=progress)
    if isinstance(m, BasinMap):
        nx, ny = m.resolution
        return f"wrote {args.out} (basin map {nx}x{ny}, {m.steps} steps, " \
            f"{m.elapsed:.2f} s: {m.describe()})"
    return f"wrote {args.out} (hyper map {m.param_x} x {m.param_y}, " \
        f"{len(m.values_x)}x{len(m.values_y)}, {m.elapsed:.2f} s)"


class _Progress:
    """Progress on stderr: a rewritten line on a terminal, every 10 % otherwise."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label = label
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = -1
        self.t0 = time.perf_counter()

    def __call__(self, i: int, n: int) -> None:
        if self.quiet or n <= 0:
            return
        pct = int(100 * i / n)
        if self.tty:
            print(f"\r{self.label}: {i}/{n} ({pct}%)", end="", file=sys.stderr, flush=True)
        elif pct // 10 != self.last // 10 or i == n:
            print(f"{self.label}: {i}/{n} ({pct}%)", file=sys.stderr, flush=True)
        self.last = pct
        if i == n and self.tty:
            print(file=sys.stderr)


def _prepare_qt(view: str) -> None:
    """Choose the Qt platform before Qt is imported: offscreen for the 2-D view (no
    display needed); the 3-D view needs a real or virtual X display."""
    if "PySide6.QtGui" in sys.modules:
        return
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if view == "2d":
        if not os.environ.get("QT_QPA_PLATFORM"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal") or not has_display:
        raise BadInput(
            f"--view {view}: the 3-D view needs an OpenGL display and there is none "
            f"({'QT_QPA_PLATFORM=' + platform if platform else 'DISPLAY is not set'}); "
            f"run it under a virtual display, e.g. `xvfb-run -a losslab export ...`, "
            f"or use --view 2d")


def _qt_app():
    from simulator.gui import palette
    from simulator.gui.app import qt_application

    app = qt_application(["losslab"])

    palette.apply_scheme("light")  # exports look the same whatever the desktop theme
    return app


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``) during an export: unwinds like Ctrl+C, so the temporary file
    is removed and the target keeps its previous contents."""


# SIGTERM: raised at once in plain Python work (data, maps, SVG); while Qt renders
# ("defer"), an exception raised inside a paint override crashes the process, so the
# animation's cancel callback stops it between frames instead
_TERM = {"requested": False, "defer": False}


def _raise_terminated(signum, frame):
    _TERM["requested"] = True
    if not _TERM["defer"]:
        raise _Terminated()


def export_run(args) -> int:
    import signal
    import threading

    previous = None
    _TERM.update(requested=False, defer=False)
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _export_run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _export_run(args) -> int:
    from simulator.export.data import Cancelled, check_writable
    from simulator.export.render import export_kind
    from simulator.export.video import EncoderError, check_size

    try:
        try:
            kind = export_kind(args.out)
        except ValueError as e:
            raise BadInput(str(e)) from None
        lab = _load(args.lab)
        try:
            check_writable(args.out)
        except OSError as e:
            raise BadInput(f"cannot write {args.out}: {e}") from None
        if getattr(args, "map", None):  # a basin or hyperparameter map (core/export.maps)
            try:
                msg = run_map_export(lab, args, _Progress(f"map {args.out}", args.quiet))
            except ValueError as e:
                raise BadInput(str(e)) from None
            if not args.quiet:
                print(msg, file=sys.stderr)
            return EXIT_OK
        if kind in ("mp4", "gif", "png", "svg"):
            try:
                check_size(args.size, kind)
            except ValueError as e:
                raise BadInput(f"--size: {e}") from None
            if args.frames is not None and args.frames > MAX_FRAMES:
                raise BadInput(f"--frames: at most {MAX_FRAMES:,}")
            if kind == "svg" and args.view != "2d":
                raise BadInput("--view: SVG is for the 2-D view; use .png for the 3-D view")
            if lab.surface.kind == "network" and kind == "svg":
                raise BadInput(f"{lab.id} trains a network: SVG is for surfaces; its loss "
                               "plane is exported as a picture (.png, .gif or .mp4)")
            if lab.surface.kind == "network" and args.view != "2d":
                raise BadInput(f"--view {args.view}: {lab.id} trains a network, shown by "
                               "its loss plane in the 2-D view only")
            if lab.surface.dim == 1 and args.view != "2d":
                raise BadInput(f"--view {args.view}: {lab.id} has a one-variable loss, "
                               "shown by the 2-D curve view only")
        if args.step is not None and not 0 <= args.step <= lab.run_steps:
            raise BadInput(f"--step: must be from 0 to {lab.run_steps}")
        return _export(lab, kind, args)
    except BadInput as e:
        return _fail(str(e))
    except Cancelled:
        if _TERM["requested"]:
            return _fail("terminated; nothing was written", EXIT_TERMINATED)
        return _fail("export cancelled; nothing was written", EXIT_INTERRUPTED)
    except _Terminated:
        return _fail("terminated; nothing was written", EXIT_TERMINATED)
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was written", EXIT_INTERRUPTED)
    except (EncoderError, OSError) as e:
        return _fail(f"export failed: {e}", EXIT_FAILED)
    except Exception as e:  # noqa: BLE001 - one line, never a traceback
        return _fail(f"export failed: {type(e).__name__}: {e}", EXIT_FAILED)


def _export(lab, kind: str, args) -> int:
    from simulator.export import data

    progress = _Progress(f"export {os.path.basename(args.out)}", args.quiet)
    if kind in ("csv", "json"):
        runs = data.runs_from_lab(lab)
        if kind == "csv":
            n = data.write_csv(runs, args.out, dim=lab.surface.dim, progress=progress)
            what = f"{n} rows"
        else:
            data.write_json(lab.session_dict(), runs, args.out, lab=lab.to_dict())
            what = f"{len(runs)} runs"
        if not args.quiet:
            print(f"wrote {args.out} ({what})", file=sys.stderr)
        return EXIT_OK

    _prepare_qt(args.view)
    if kind == "svg":  # written from the lab's runs by our own SVG writer: no Qt window
        from simulator.export.svg import scene_from_lab, write_svg

        step = args.step
        if step is None:
            step = lab.view.frame if lab.view.frame is not None else lab.run_steps
        write_svg(scene_from_lab(lab, step, follow=getattr(args, "follow", True)), args.out,
                  args.size)
        if not args.quiet:
            w, h = args.size
            print(f"wrote {args.out} (step {step}, {w}x{h})", file=sys.stderr)
        return EXIT_OK

    _qt_app()
    _TERM["defer"] = True  # Qt paints from here on: SIGTERM stops between frames
    from simulator.export.render import RenderError, animation_timing, render_animation
    from simulator.gui.frame_renderer import FrameRenderer

    try:
        scene = lab.scene()  # title, colour scale and camera: the lab's
    except ValueError as e:
        raise BadInput(f"the app refused the lab: {e}") from None
    try:
        renderer = FrameRenderer(scene, args.view, args.size,
                                 follow=getattr(args, "follow", True))
    except RenderError as e:
        raise BadInput(str(e)) from None
    try:
        w, h = args.size
        if kind == "png":
            step = args.step
            if step is None:
                step = lab.view.frame if lab.view.frame is not None else lab.run_steps
            renderer.save_png(args.out, step)
            if not args.quiet:
                print(f"wrote {args.out} (step {step}, {w}x{h})", file=sys.stderr)
            return EXIT_OK
        frames, fps, note = animation_timing(lab.run_steps, kind, args.frames, args.fps)
        if note and not args.quiet:
            print(f"losslab: {note}", file=sys.stderr)
        t0 = time.perf_counter()
        render_animation(renderer, args.out, frames, fps, progress=progress,
                         cancel=lambda: _TERM["requested"])
        if not args.quiet:
            dt = time.perf_counter() - t0
            tick = f", {100 / fps:.0f}/100 s a frame" if kind == "gif" else ""
            print(f"wrote {args.out} ({frames} frames, {w}x{h}, {fps:.4g} fps{tick}, "
                  f"{frames / fps:.1f} s; rendered at {frames / dt:.1f} frames/s)",
                  file=sys.stderr)
        return EXIT_OK
    finally:
        renderer.close()


# ---- prepare ---------------------------------------------------------------------------------
PREPARE_HELP = ("compile the numerical kernels now (they are cached on disk), so that a "
                "classroom machine or a standalone build starts at full speed")


def prepare_add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true",
                   help="every optimizer on every library surface, formulas and drawn "
                        "surfaces (minutes of compiling); default: what the app's first "
                        "session uses (under a minute)")
    p.add_argument("--one-process", action="store_true",
                   help="compile on one core (default: a helper process compiles the "
                        "plan from its end meanwhile, on machines with two cores or more)")
    # the warm-up helper process the app (and this command) starts: reads the plan's
    # description on stdin (simulator.core.prepare_helper)
    p.add_argument("--helper", action="store_true", help=argparse.SUPPRESS)


def prepare_run(args) -> int:
    if args.helper:
        from simulator.core.prepare_helper import helper_main

        return helper_main()
    from simulator.core.kernels import loops
    from simulator.core.prepare import plan_description, plan_from_description, run_plan
    from simulator.core.prepare_helper import (
        HelperProcess,
        SplitRun,
        kernel_cache_folder,
        split_possible,
    )

    description = plan_description(full=args.all)
    plan = plan_from_description(description)
    t0 = time.perf_counter()

    def progress(i: int, n: int, label: str) -> None:
        if i < n:
            print(f"[{i + 1}/{n}] {label}", file=sys.stderr, flush=True)

    split = None if args.one_process or split_possible() else SplitRun(
        plan, HelperProcess(), description, progress=progress,
        cache_folder=kernel_cache_folder())
    try:
        failures = run_plan(plan, progress=progress) if split is None else split.run()
    except KeyboardInterrupt:
        if split is not None:
            split.close()
        return EXIT_INTERRUPTED
    compiled = sum(not e["cached"] for e in loops.compile_log)
    loaded = len(loops.compile_log) - compiled
    helper = 0 if split is None else split.helper_compiled
    by_helper = f", {helper} of them compiled by a helper process" if helper else ""
    print(f"{len(loops.compile_log)} kernels ready ({compiled} compiled, {loaded} loaded "
          f"from the cache{by_helper}) in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    for label, err in failures:
        print(f"losslab prepare: {label}: {err}", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


# ---- the registry's view: one module object per command ----------------------------------
def _command_module(name: str, help_: str, add_arguments, run) -> types.ModuleType:
    mod = types.ModuleType(f"{__name__}.{name}", help_)
    mod.HELP = help_
    mod.add_arguments = add_arguments
    mod.run = run
    sys.modules[mod.__name__] = mod
    return mod


labs = _command_module("labs", LABS_HELP, labs_add_arguments, labs_run)
validate = _command_module("validate", VALIDATE_HELP, validate_add_arguments, validate_run)
open = _command_module("open", OPEN_HELP, open_add_arguments, open_run)  # noqa: A001
export = _command_module("export", EXPORT_HELP, export_add_arguments, export_run)
prepare = _command_module("prepare", PREPARE_HELP, prepare_add_arguments, prepare_run)
