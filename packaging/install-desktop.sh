#!/usr/bin/env bash
# Install LossLab's desktop integration on Linux: the .desktop launcher, the AppStream
# metainfo and the app icon (SVG + PNG sizes), so LossLab appears in the application menu
# and in software centres with its icon.
#
#   packaging/install-desktop.sh [--system] [--bundle DIR] [--uninstall]
#
#   (default)     for the current user, into ~/.local/share (no root needed)
#   --system      for every user, into /usr/local/share (run as root)
#   --bundle DIR  the one-folder bundle to launch (default: dist/losslab next to this
#                 folder). It should already be where it will stay, e.g. copied to
#                 /opt/losslab by the lab technician: the launcher points at DIR/losslab.
#                 Without a bundle, the launcher runs `losslab` from PATH (a pip install).
#   --uninstall   remove what an earlier run installed (same --system choice)
#
# Files written (PREFIX = ~/.local/share or /usr/local/share):
#   PREFIX/applications/losslab.desktop
#   PREFIX/metainfo/io.github.losslab.LossLab.metainfo.xml
#   PREFIX/icons/hicolor/{16x16,...,512x512}/apps/losslab.png
#   PREFIX/icons/hicolor/scalable/apps/losslab.svg
# and, with --system and a bundle, /usr/local/bin/losslab -> DIR/losslab.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
SYSTEM=0
UNINSTALL=0
BUNDLE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --system) SYSTEM=1 ;;
        --uninstall) UNINSTALL=1 ;;
        --bundle) BUNDLE="${2:?--bundle needs a folder}"; shift ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-desktop.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ "$SYSTEM" = 1 ]; then
    PREFIX=/usr/local/share
    BINDIR=/usr/local/bin
else
    PREFIX="${XDG_DATA_HOME:-$HOME/.local/share}"
    BINDIR=""
fi
SIZES="16 24 32 48 64 128 256 512"
DESKTOP="$PREFIX/applications/losslab.desktop"
METAINFO="$PREFIX/metainfo/io.github.losslab.LossLab.metainfo.xml"

refresh() {
    # Caches are optional: desktops rescan without them, only more slowly.
    command -v update-desktop-database >/dev/null 2>&1 \
        && update-desktop-database -q "$PREFIX/applications" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 \
        && gtk-update-icon-cache -q -t -f "$PREFIX/icons/hicolor" || true
}

if [ "$UNINSTALL" = 1 ]; then
    rm -f "$DESKTOP" "$METAINFO" "$PREFIX/icons/hicolor/scalable/apps/losslab.svg"
    for n in $SIZES; do rm -f "$PREFIX/icons/hicolor/${n}x${n}/apps/losslab.png"; done
    if [ -n "$BINDIR" ] && [ -L "$BINDIR/losslab" ]; then rm -f "$BINDIR/losslab"; fi
    refresh
    echo "LossLab's desktop integration removed from $PREFIX"
    exit 0
fi

if [ -z "$BUNDLE" ] && [ -x "$ROOT/dist/losslab/losslab" ]; then
    BUNDLE="$ROOT/dist/losslab"
fi
EXEC=losslab
if [ -n "$BUNDLE" ]; then
    BUNDLE="$(cd "$BUNDLE" && pwd)"
    [ -x "$BUNDLE/losslab" ] || { echo "install-desktop.sh: no $BUNDLE/losslab" >&2; exit 1; }
    EXEC="$BUNDLE/losslab"
    if [ -n "$BINDIR" ]; then
        mkdir -p "$BINDIR"
        ln -sfn "$BUNDLE/losslab" "$BINDIR/losslab"
        EXEC=losslab
    fi
fi

for n in $SIZES; do
    src="$HERE/icons/hicolor/${n}x${n}/apps/losslab.png"
    [ -f "$src" ] || { echo "install-desktop.sh: $src missing (python packaging/make_icons.py)" >&2; exit 1; }
    install -D -m 644 "$src" "$PREFIX/icons/hicolor/${n}x${n}/apps/losslab.png"
done
install -D -m 644 "$HERE/icons/hicolor/scalable/apps/losslab.svg" \
    "$PREFIX/icons/hicolor/scalable/apps/losslab.svg"
install -D -m 644 "$HERE/io.github.losslab.LossLab.metainfo.xml" "$METAINFO"
mkdir -p "$(dirname "$DESKTOP")"
# The launcher names the program by absolute path when it is not on PATH; a path with
# spaces is quoted as the Desktop Entry spec asks.
case "$EXEC" in
    *" "*) exec_q="\"$EXEC\"" ;;
    *) exec_q="$EXEC" ;;
esac
sed -e "s|^Exec=losslab|Exec=$exec_q|" -e "s|^TryExec=losslab|TryExec=$EXEC|" \
    "$HERE/losslab.desktop" > "$DESKTOP"
chmod 644 "$DESKTOP"
refresh
echo "LossLab installed for the application menu:"
echo "  $DESKTOP (runs $EXEC)"
echo "  $METAINFO"
echo "  icons in $PREFIX/icons/hicolor"
