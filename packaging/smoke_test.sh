#!/usr/bin/env bash
# Smoke test of the frozen bundle (what `make package-test` runs after `make package`).
#
#   packaging/smoke_test.sh [BUNDLE_DIR]        (default: dist/losslab)
#
# Every run uses `env -i`: no virtual environment, no PATH, no PYTHONPATH, nothing from
# the developer's shell, so the bundle must carry everything itself. Checks:
#   1. `losslab --version` and `losslab --help` start and exit 0;
#   2. `losslab labs` lists the built-in labs (resources found inside the bundle);
#   3. headless export: `losslab export race --out race.gif` writes an animated GIF, twice
#      with a fresh HOME and from two different folders: the first run must load every
#      kernel from the precompiled cache shipped in the bundle (its compile log, written
#      through LOSSLAB_COMPILE_LOG, shows no kernel compiled; the shipped files are copied
#      into ~/.cache/LossLab/LossLab/numba), the second must load them from there (no cache
#      file rewritten); both times are reported; and once more from a copy of the bundle
#      in another folder whose kernel sources have new file times (no kernel compiled);
#   4. an MP4 export through the bundled ffmpeg (decoded again to check it), a CSV export
#      of a lab whose surface is a formula using every function (sympy), and the GIF
#      export with a completely empty environment (`env -i`, no HOME);
#   5. the cold first start: `env -i DISPLAY=:N HOME=<new empty folder> losslab` on a
#      private Xvfb shows a window titled "... LossLab" (found with xdotool) within
#      COLD_LIMIT seconds (20) of launch, else FAIL; screenshotted to $OUT/window.png, with
#      no message box (a kernel that failed to warm up opens one); once the background
#      warm-up has settled, its compile log must show every kernel loaded, none compiled;
#      and an export of the 2-D and 3-D views together (OpenGL) on that display;
#   6. the output of every run has no ImportError, ModuleNotFoundError, "No such file",
#      Traceback, missing Qt plugin or numba cache failure.
# Artifacts (logs, race.gif, window.png, times.txt) go to $OUT (default build/smoke).
# Exit status 0 when everything passed; the failures are listed otherwise.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BUNDLE="$(cd "${1:-$ROOT/dist/losslab}" 2>/dev/null && pwd)" || {
    echo "smoke_test: no bundle at ${1:-$ROOT/dist/losslab} (run make package)" >&2; exit 2; }
APP="$BUNDLE/losslab"
OUT="${OUT:-$ROOT/build/smoke}"
WINDOW_TIMEOUT="${WINDOW_TIMEOUT:-300}"  # seconds to wait for the window at all
COLD_LIMIT="${COLD_LIMIT:-20}"          # seconds: a slower cold first start fails
RUN_TIMEOUT="${RUN_TIMEOUT:-900}"
[ -x "$APP" ] || { echo "smoke_test: $APP is not an executable" >&2; exit 2; }
rm -rf "$OUT"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/losslab-smoke.XXXXXX")"
FAKE_HOME="$WORK/home"
mkdir -p "$FAKE_HOME" "$WORK/cwd-a" "$WORK/cwd-b"
FAILURES=()
XVFB_PID=""
APP_PID=""

cleanup() {
    [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() { FAILURES+=("$1"); echo "FAIL: $1"; }
pass() { echo "ok:   $1"; }

# Patterns that mean something is missing from the bundle, whatever the exit status.
BAD='ImportError|ModuleNotFoundError|No such file|Traceback \(most recent call last\)|'\
'Could not load the Qt platform plugin|Could not find the Qt platform plugin|'\
'cannot cache function|NumbaWarning|Failed to execute script|FileNotFoundError|'\
'resource .* not found|was not found'

scan() {  # scan LOG NAME: fail on any bad pattern in the log
    local hits
    hits="$(grep -E "$BAD" "$1" | head -5)"
    if [ -n "$hits" ]; then
        fail "$2: the output shows a missing piece:"
        printf '        %s\n' "$hits"
    fi
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

run() {  # run NAME CWD ENV... -- ARGS...: runs the app, logs to $OUT/NAME.log, sets RC, SECS
    local name="$1" cwd="$2"; shift 2
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    local t0
    t0="$(now)"
    (cd "$cwd" && timeout "$RUN_TIMEOUT" env -i "${envs[@]}" "${RUN_APP:-$APP}" "$@") \
        >"$OUT/$name.log" 2>&1
    RC=$?
    SECS="$(elapsed "$t0" "$(now)")"
    scan "$OUT/$name.log" "$name"
}

cache_listing() {  # file names and mtimes under the numba cache folder
    find "$1" -type f \( -name '*.nbi' -o -name '*.nbc' \) -printf '%P %T@\n' 2>/dev/null | sort
}

compile_log_field() {  # compile_log_field FILE FIELD: an integer field of the JSON log
    grep -oE "^ \"$2\": [0-9]+" "$1" 2>/dev/null | head -1 | grep -oE '[0-9]+$'
}

check_compile_log() {  # check_compile_log FILE NAME: kernels were loaded, none compiled
    local n c l
    n="$(compile_log_field "$1" kernels)"
    c="$(compile_log_field "$1" compiled)"
    l="$(compile_log_field "$1" loaded)"
    if [ -z "$n" ]; then
        fail "$2: no compile log written to $1"
    elif [ "$n" -eq 0 ]; then
        fail "$2: the compile log lists no kernel at all"
    elif [ "$c" -ne 0 ]; then
        fail "$2: $c kernel signature(s) compiled on this machine (see $1):"
        grep -B4 -E '^   "compiled": [1-9]' "$1" | grep '"kernel"' | head -5 \
            | sed 's/^ */        /'
    else
        pass "$2: $n kernel(s), $l signature(s) loaded from the cache, none compiled"
    fi
}

echo "== LossLab frozen smoke test: $APP"
echo "   bundle size: $(du -sh "$BUNDLE" | cut -f1)"
SHIPPED="$(find "$BUNDLE" -type d -name losslab_kernel_cache | head -1)"
if [ -n "$SHIPPED" ] && [ -f "$SHIPPED/manifest.json" ]; then
    pass "precompiled kernels shipped: $(find "$SHIPPED" -name '*.nbc' | wc -l) file(s),\
 $(du -sh "$SHIPPED" | cut -f1) in ${SHIPPED#"$BUNDLE"/}"
else
    fail "no precompiled kernel cache (losslab_kernel_cache/manifest.json) in the bundle"
fi

# -- 1, 2: start-up -------------------------------------------------------------------------
run version "$WORK" HOME="$FAKE_HOME" -- --version
if [ "$RC" = 0 ] && grep -q '^losslab ' "$OUT/version.log"; then
    pass "--version: $(head -1 "$OUT/version.log")"
else fail "--version exited $RC: $(head -3 "$OUT/version.log")"; fi

run help "$WORK" HOME="$FAKE_HOME" -- --help
if [ "$RC" = 0 ]; then pass "--help"; else fail "--help exited $RC"; fi
HAS_EXPORT=0
grep -qE '^\s+export\b' "$OUT/help.log" && HAS_EXPORT=1
HAS_LABS=0
grep -qE '^\s+labs\b' "$OUT/help.log" && HAS_LABS=1

if [ "$HAS_LABS" = 1 ]; then
    run labs "$WORK" HOME="$FAKE_HOME" -- labs
    if [ "$RC" = 0 ] && grep -q 'race' "$OUT/labs.log"; then
        pass "labs: $(grep -c . "$OUT/labs.log") lines, lab 'race' listed"
    else fail "labs exited $RC or did not list 'race': $(head -3 "$OUT/labs.log")"; fi
else
    fail "the 'labs' command is missing from losslab --help"
fi

# -- 3, 4: headless export, first and second start ----------------------------------------
CACHE="$FAKE_HOME/.cache/LossLab/LossLab/numba"
check_gif() {  # check_gif FILE NAME
    if [ ! -s "$1" ]; then fail "$2: $1 was not written"; return; fi
    local frames
    frames="$(identify "$1" 2>/dev/null | wc -l)"
    if [ "${frames:-0}" -ge 2 ]; then pass "$2: $(basename "$1") has $frames frames"
    else fail "$2: $1 is not an animated GIF (frames: ${frames:-0})"; fi
}

if [ "$HAS_EXPORT" = 1 ]; then
    run export-first "$WORK/cwd-a" HOME="$FAKE_HOME" \
        LOSSLAB_COMPILE_LOG="$OUT/compile-export-first.json" -- export race --out "$WORK/race1.gif"
    T1="$SECS"
    [ "$RC" = 0 ] || fail "export (first start) exited $RC: $(tail -3 "$OUT/export-first.log")"
    check_gif "$WORK/race1.gif" "export (first start)"
    check_compile_log "$OUT/compile-export-first.json" "export (first start, empty cache)"
    before="$(cache_listing "$CACHE")"
    n_cached="$(printf '%s\n' "$before" | grep -c '\.nbi ')"
    if [ "$n_cached" -gt 0 ]; then pass "numba cache: $n_cached kernel index file(s) in $CACHE"
    else fail "numba cache: nothing written to $CACHE"; fi

    run export-second "$WORK/cwd-b" HOME="$FAKE_HOME" -- export race --out "$WORK/race2.gif"
    T2="$SECS"
    [ "$RC" = 0 ] || fail "export (second start) exited $RC: $(tail -3 "$OUT/export-second.log")"
    check_gif "$WORK/race2.gif" "export (second start)"
    after="$(cache_listing "$CACHE")"
    if [ "$before" = "$after" ]; then
        pass "second start, from another folder, loaded every kernel from the cache"
    else
        fail "second start rewrote the numba cache (it compiled again):"
        diff <(echo "$before") <(echo "$after") | head -6 | sed 's/^/        /'
    fi
    echo "   first start:  ${T1} s (empty user cache: loads the shipped kernels)"
    echo "   second start: ${T2} s (another folder: loads them from the user cache)"
    printf 'export_first_start_s %s\nexport_second_start_s %s\n' "$T1" "$T2" \
        > "$OUT/times.txt"
    cp "$WORK/race1.gif" "$OUT/race.gif" 2>/dev/null

    # The bundle unpacked elsewhere, its kernel sources rewritten (new mtimes), by a new
    # user: the shipped kernels must still match (their cache is keyed on the sources'
    # content, not on the install path or file times). A hard-linked copy costs no space.
    MOVED="$WORK/elsewhere/LossLab app"
    mkdir -p "$WORK/elsewhere" "$WORK/home-moved"
    if cp -al "$BUNDLE" "$MOVED" 2>/dev/null || cp -a "$BUNDLE" "$MOVED"; then
        KDIR="$(find "$MOVED" -type d -path '*simulator/core/kernels' | head -1)"
        for f in "$KDIR"/*.py; do cp "$f" "$f.new" && mv -f "$f.new" "$f"; done
        RUN_APP="$MOVED/losslab" run export-moved "$WORK" HOME="$WORK/home-moved" \
            LOSSLAB_COMPILE_LOG="$OUT/compile-export-moved.json" -- \
            export race --out "$WORK/race-moved.gif"
        [ "$RC" = 0 ] || fail "export (moved bundle) exited $RC: $(tail -3 "$OUT/export-moved.log")"
        check_compile_log "$OUT/compile-export-moved.json" \
            "export (bundle in another folder, kernel files rewritten, fresh HOME)"
        rm -rf "$MOVED"
    else
        fail "could not copy the bundle to $MOVED"
    fi

    # MP4 goes through the bundled ffmpeg executable (imageio-ffmpeg's binaries/).
    run export-mp4 "$WORK/cwd-b" HOME="$FAKE_HOME" -- export race --out "$WORK/race.mp4"
    FFMPEG="$(find "$BUNDLE" -path '*imageio_ffmpeg/binaries/ffmpeg*' -type f | head -1)"
    if [ "$RC" != 0 ] || [ ! -s "$WORK/race.mp4" ]; then
        fail "export mp4 exited $RC: $(tail -3 "$OUT/export-mp4.log")"
    elif [ -z "$FFMPEG" ]; then
        fail "export mp4: no ffmpeg executable in the bundle"
    elif "$FFMPEG" -v error -i "$WORK/race.mp4" -f null - >"$OUT/ffmpeg-decode.log" 2>&1; then
        pass "export mp4: race.mp4 decodes ($(du -h "$WORK/race.mp4" | cut -f1), ${SECS} s)"
        echo "   third start (mp4): ${SECS} s"
        printf 'third_start_mp4_s %s\n' "$SECS" >> "$OUT/times.txt"
    else
        fail "export mp4: race.mp4 does not decode: $(head -3 "$OUT/ffmpeg-decode.log")"
    fi

    # A typed formula goes through sympy (exact derivatives), which imports lazily.
    cat > "$WORK/formula-lab.json" <<'LAB'
{"format": "losslab-lab", "version": 1, "id": "smoke-formula", "title": "Smoke formula",
 "summary": "every function of the formula language",
 "surface": {"kind": "formula", "formula":
   "sin(x)*cos(y) + tan(x/4) + asin(x/4) + acos(y/4) + atan(x) + sinh(x/3) + cosh(y/3) + tanh(x*y) + exp(-x**2) + log(2 + y**2) + log10(2 + x**2) + sqrt(1 + y**2) + abs(x - y) + min(x, y) + max(x, y) + pi*e"},
 "domain": [[-2, 2], [-2, 2]], "start": [1.0, 1.0], "steps": 50,
 "lanes": [{"name": "Adam", "optimizer": {"name": "Adam", "lr": 0.05}}]}
LAB
    run export-formula "$WORK" HOME="$FAKE_HOME" -- \
        export "$WORK/formula-lab.json" --out "$WORK/formula.csv"
    if [ "$RC" = 0 ] && [ "$(grep -c . "$WORK/formula.csv" 2>/dev/null)" -ge 50 ]; then
        pass "export of a formula lab (sympy): $(grep -c . "$WORK/formula.csv") CSV lines"
    else fail "formula lab export exited $RC: $(tail -3 "$OUT/export-formula.log")"; fi

    # The brief's literal command: nothing at all in the environment.
    run export-env-i "$WORK" -- export race --out "$WORK/race3.gif"
    [ "$RC" = 0 ] || fail "env -i export exited $RC: $(tail -3 "$OUT/export-env-i.log")"
    check_gif "$WORK/race3.gif" "export (env -i, no HOME)"
else
    fail "the 'export' command is missing from losslab --help"
fi

# -- 5: the window on Xvfb ---------------------------------------------------------------
if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null; then
    fail "window: Xvfb and xdotool are needed (apt-get install xvfb xdotool imagemagick)"
else
    N=91
    while [ -e "/tmp/.X11-unix/X$N" ] || [ -e "/tmp/.X$N-lock" ]; do N=$((N + 1)); done
    Xvfb ":$N" -screen 0 1600x1000x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
    XVFB_PID=$!
    for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$N" ] && break; sleep 0.1; done
    COLD_HOME="$WORK/home-cold"  # a fresh HOME: no settings, an empty user cache
    mkdir -p "$COLD_HOME"
    t0="$(now)"
    (cd "$WORK/cwd-a" && exec env -i DISPLAY=":$N" HOME="$COLD_HOME" \
        LOSSLAB_COMPILE_LOG="$OUT/compile-window.json" "$APP") >"$OUT/window.log" 2>&1 &
    APP_PID=$!
    WID=""
    deadline=$(( $(date +%s) + WINDOW_TIMEOUT ))
    while [ "$(date +%s)" -lt "$deadline" ] && kill -0 "$APP_PID" 2>/dev/null; do
        for w in $(DISPLAY=":$N" xdotool search --onlyvisible --name 'LossLab' 2>/dev/null); do
            name="$(DISPLAY=":$N" xdotool getwindowname "$w" 2>/dev/null)"
            # the splash is titled exactly "LossLab"; the main window "<scene> - LossLab"
            if [ "$name" != "LossLab" ]; then WID="$w"; break 2; fi
        done
        sleep 1
    done
    if [ -n "$WID" ]; then
        TW="$(elapsed "$t0" "$(now)")"
        printf 'window_cold_first_start_s %s\n' "$TW" >> "$OUT/times.txt"
        if awk -v t="$TW" -v l="$COLD_LIMIT" 'BEGIN { exit !(t <= l) }'; then
            pass "window: \"$name\" after $TW s (cold first start, fresh HOME; limit $COLD_LIMIT s)"
        else
            fail "window: \"$name\" took $TW s to appear on a cold first start (limit $COLD_LIMIT s)"
        fi
        sleep 3  # let the first frame of every view paint
        geom="$(DISPLAY=":$N" xdotool getwindowgeometry "$WID" | tr -s ' \n' ' ')"
        echo "   $geom"
        # A warm-up failure opens a message box titled "LossLab" over the window.
        for w in $(DISPLAY=":$N" xdotool search --onlyvisible --name '^LossLab$' 2>/dev/null)
        do
            fail "window: a message box \"LossLab\" is open (see window.png)"
            break
        done
        if DISPLAY=":$N" import -window root "$OUT/window.png" 2>>"$OUT/xvfb.log"; then
            pass "screenshot: $OUT/window.png"
        else fail "screenshot failed (see $OUT/xvfb.log)"; fi
        if command -v xprop >/dev/null; then
            DISPLAY=":$N" xprop -id "$WID" WM_CLASS >>"$OUT/window.log" 2>&1
        fi
        # The background warm-up loads the rest of the session's kernels: wait until the
        # compile log has not grown for 5 s (at most 90 s), then nothing may have compiled.
        last=-1; same=0
        for _ in $(seq 180); do
            kill -0 "$APP_PID" 2>/dev/null || break
            cur="$(compile_log_field "$OUT/compile-window.json" kernels)"
            if [ "${cur:--1}" = "$last" ]; then same=$((same + 1)); else same=0; last="${cur:--1}"; fi
            [ "$same" -ge 10 ] && break
            sleep 0.5
        done
        check_compile_log "$OUT/compile-window.json" "window (cold first start and warm-up)"
    elif kill -0 "$APP_PID" 2>/dev/null; then
        fail "window: no LossLab main window within $WINDOW_TIMEOUT s"
        DISPLAY=":$N" import -window root "$OUT/window.png" 2>/dev/null
    else
        wait "$APP_PID"
        fail "window: losslab exited ($?) before showing its window: $(tail -3 "$OUT/window.log")"
    fi
    if kill -0 "$APP_PID" 2>/dev/null; then
        kill "$APP_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$APP_PID" 2>/dev/null
    fi
    APP_PID=""
    scan "$OUT/window.log" "window"

    # The 3-D view offscreen through PyOpenGL (needs the display's GLX).
    run export-3d "$WORK" DISPLAY=":$N" HOME="$FAKE_HOME" -- \
        export race --view both --out "$OUT/race-both.png"
    if [ "$RC" = 0 ] && [ -s "$OUT/race-both.png" ]; then
        pass "export --view both (OpenGL): $(identify -format '%wx%h' "$OUT/race-both.png")"
    else fail "export --view both exited $RC: $(tail -3 "$OUT/export-3d.log")"; fi
fi

echo
if [ "${#FAILURES[@]}" -eq 0 ]; then
    echo "== smoke test passed (logs and screenshots in $OUT)"
    exit 0
fi
echo "== smoke test FAILED: ${#FAILURES[@]} problem(s); logs in $OUT"
printf '  - %s\n' "${FAILURES[@]}"
exit 1
