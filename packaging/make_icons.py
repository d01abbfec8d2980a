"""Render the app icon (resources/icons/losslab.svg) to the PNG sizes desktops ask for.

    python packaging/make_icons.py            # writes packaging/icons/
    python packaging/make_icons.py --check    # exit 1 if a file is missing or stale

Output, in the freedesktop icon theme layout that ``install-desktop.sh`` copies as is:

    packaging/icons/hicolor/<n>x<n>/apps/losslab.png   n = 16 24 32 48 64 128 256 512
    packaging/icons/hicolor/scalable/apps/losslab.svg
    packaging/icons/losslab.ico                         Windows (16..256 in one file)
    packaging/icons/losslab.icns                        macOS

The SVG is read through ``importlib.resources`` (the same file the app shows) and rendered
with Qt's QSvgRenderer on the offscreen platform, so no display is needed; Pillow then
writes the .ico and .icns from the rendered PNGs.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from importlib import resources
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICON_NAME = "losslab"
OUT = Path(__file__).resolve().parent / "icons"


def svg_bytes() -> bytes:
    return resources.files("simulator.resources.icons").joinpath("losslab.svg").read_bytes()


def render_png(svg: bytes, size: int) -> bytes:
    """The SVG rendered to a ``size`` x ``size`` RGBA PNG (antialiased, transparent)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["make_icons"])  # noqa: F841
    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise SystemExit("make_icons: resources/icons/losslab.svg is not a valid SVG")
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(p, QRectF(0, 0, size, size))
    p.end()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return bytes(buf.data())


def targets(out: Path = OUT) -> dict[Path, bytes]:
    """Every output file and the bytes it should hold."""
    from PIL import Image

    svg = svg_bytes()
    files: dict[Path, bytes] = {out / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg": svg}
    images = {}
    for n in SIZES:
        png = render_png(svg, n)
        files[out / "hicolor" / f"{n}x{n}" / "apps" / f"{ICON_NAME}.png"] = png
        images[n] = Image.open(io.BytesIO(png)).convert("RGBA")
    ico = io.BytesIO()
    images[256].save(ico, format="ICO", sizes=[(n, n) for n in SIZES if n <= 256],
                     append_images=[images[n] for n in SIZES if n < 256])
    files[out / f"{ICON_NAME}.ico"] = ico.getvalue()
    icns = io.BytesIO()
    images[512].save(icns, format="ICNS",
                     append_images=[images[n] for n in (16, 32, 64, 128, 256)])
    files[out / f"{ICON_NAME}.icns"] = icns.getvalue()
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (packaging/icons)")
    ap.add_argument("--check", action="store_true",
                    help="only check that the PNGs exist with the right sizes")
    args = ap.parse_args(argv)
    if args.check:
        from PIL import Image

        bad = []
        for n in SIZES:
            path = args.out / "hicolor" / f"{n}x{n}" / "apps" / f"{ICON_NAME}.png"
            try:
                with Image.open(path) as im:
                    if im.size != (n, n):
                        bad.append(f"{path}: {im.size}, expected {(n, n)}")
            except OSError as exc:
                bad.append(f"{path}: {exc}")
        for line in bad:
            print(line, file=sys.stderr)
        return 1 if bad else 0
    for path, data in targets(args.out).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{path} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
