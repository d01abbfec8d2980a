#!/usr/bin/env bash
# Install the Debian/Ubuntu packages LossLab needs, only those missing, only as root.
#
#   scripts/ensure_system_deps.sh run    libraries Qt needs to show a window (X11/Wayland)
#   scripts/ensure_system_deps.sh test   the above plus Xvfb + Mesa for the test suite and
#                                        desktop-file-validate for the .desktop file
#   scripts/ensure_system_deps.sh venv   python3-venv (only when `python3 -m venv` failed)
#
# Packages are checked with `dpkg -s`. When nothing is missing this prints nothing and
# takes a fraction of a second. When something is missing:
#   - as root: `apt-get update` then `apt-get install -y --no-install-recommends <missing>`;
#   - otherwise: print the exact command to run and carry on (exit 0).
# Not Debian (no dpkg/apt-get): print a note and carry on.
# A failed apt-get is fatal under CI (CI set) and a warning otherwise.
set -euo pipefail

mode="${1:-run}"

# PySide6-Essentials wheels bundle Qt itself but link these system libraries
# (checked with ldd on QtGui/QtWidgets/QtOpenGL and the xcb/wayland platform plugins).
qt_runtime=(
    libgl1 libegl1 libgl1-mesa-dri libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3
    fonts-dejavu-core
    libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
    libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xkb1 libxcb-glx0 libxcb-shm0
    libxcb-sync1 libxcb-xfixes0
)
wayland=(libwayland-client0 libwayland-cursor0 libwayland-egl1)
virtual_display=(xvfb xauth)
test_tools=(desktop-file-utils)  # desktop-file-validate (tests/test_packaging_files.py)

case "$mode" in
    run) wanted=("${qt_runtime[@]}" "${wayland[@]}") ;;
    test) wanted=("${virtual_display[@]}" "${qt_runtime[@]}" "${test_tools[@]}") ;;
    venv) wanted=(python3-venv) ;;
    *)
        echo "usage: $0 run|test|venv" >&2
        exit 2
        ;;
esac

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: not a Debian/Ubuntu system; make sure Qt's runtime libraries" \
        "(OpenGL/EGL, xcb, xkbcommon, fontconfig) and Xvfb are installed." >&2
    exit 0
fi

# One `dpkg -s` for all packages (one call per package costs ~30 ms each); it prints a
# stanza per known package, and nothing for unknown ones.
installed="$(dpkg -s "${wanted[@]}" 2>/dev/null | awk '
    /^Package: / { pkg = $2 }
    /^Status: install ok installed/ { print pkg }
' || true)"
missing=()
for pkg in "${wanted[@]}"; do
    if ! grep -qxF "$pkg" <<<"$installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

install_cmd="apt-get install -y --no-install-recommends ${missing[*]}"

if [ "$(id -u)" -ne 0 ]; then
    echo "" >&2
    echo "System packages missing (needed for: $mode): ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "" >&2
    echo "    sudo apt-get update && sudo $install_cmd" >&2
    echo "" >&2
    echo "(continuing without them)" >&2
    exit 0
fi

is_ci() {
    case "${CI:-}" in
        "" | 0 | false | False | FALSE | no) return 1 ;;
        *) return 0 ;;
    esac
}

echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    exit 0
fi

echo "error: '$install_cmd' failed." >&2
if is_ci; then
    exit 1
fi
echo "(continuing; Qt may fail to start until these are installed)" >&2
exit 0
