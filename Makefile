# LossLab: the two README commands.
#
#   make run     set up .venv (editable install) and system libraries, start the app
#   make test    same set-up plus the test extra and Xvfb/Mesa, then ruff, lint-imports
#                (the layer contracts in pyproject.toml) and pytest
#
# Set-up is incremental: the venv is created once, `pip install -e .` reruns only when
# pyproject.toml is newer than the stamp file in .venv, and system packages are checked
# with dpkg -s (apt-get runs only as root and only for what is missing). A second
# `make run` starts the app at once.
#
# Variables: PYTHON (interpreter used to create the venv), ARGS (passed to losslab),
# PYTEST_ARGS (passed to pytest), e.g. `make test PYTEST_ARGS="-k surfaces -x"`.

SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.losslab-install.stamp
TEST_STAMP := $(VENV)/.losslab-install-test.stamp
ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test lint bench clean system-deps-run system-deps-test package package-test

run: system-deps-run $(STAMP)
	@if [ -z "$${DISPLAY:-}" ] && [ -z "$${WAYLAND_DISPLAY:-}" ] && [ -z "$${QT_QPA_PLATFORM:-}" ]; then \
		echo ""; \
		echo "make run: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set),"; \
		echo "so LossLab cannot open its window here. Options:"; \
		echo "  - run it from a desktop session (or ssh -X for X forwarding);"; \
		echo "  - use a virtual display:  xvfb-run -a make run"; \
		echo "  - headless exports need no display:  $(BIN)/losslab --help"; \
		echo ""; \
		exit 1; \
	fi
	$(BIN)/losslab $(ARGS)

test: system-deps-test $(TEST_STAMP)
	@if [ -z "$${DISPLAY:-}" ]; then \
		if command -v Xvfb >/dev/null 2>&1; then \
			echo "No DISPLAY: pytest-xvfb starts Xvfb for the session."; \
		else \
			echo "No DISPLAY and no Xvfb: OpenGL tests fail under CI, skip otherwise."; \
		fi; \
	fi
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# `python -m bench` when bench/ has a __main__.py, else every bench/*.py in turn.
bench: system-deps-run $(STAMP)
	@if [ -f bench/__main__.py ]; then \
		echo "$(BIN)/python -m bench"; \
		$(BIN)/python -m bench; \
	else \
		shopt -s nullglob; ran=0; \
		for f in bench/*.py; do \
			[ "$$(basename "$$f")" = "__init__.py" ] && continue; \
			echo "== $$f"; \
			$(BIN)/python "$$f" || exit $$?; \
			ran=1; \
		done; \
		[ $$ran -eq 1 ] || echo "No benchmarks in bench/ yet."; \
	fi

system-deps-run:
	@bash scripts/ensure_system_deps.sh run

system-deps-test:
	@bash scripts/ensure_system_deps.sh test

# The venv. Debian's own python3 lacks ensurepip until python3-venv is installed, and a
# failed `python3 -m venv` leaves a venv without pip behind: remove it and retry.
$(BIN)/python:
	@if ! $(PYTHON) -m venv $(VENV); then \
		rm -rf $(VENV); \
		bash scripts/ensure_system_deps.sh venv; \
		$(PYTHON) -m venv $(VENV); \
	fi

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	@touch $@

# The test extra includes the plain install, so it refreshes both stamps.
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	@touch $@ $(STAMP)

# Standalone build (packaging/README.md): a PyInstaller one-folder bundle, dist/losslab/,
# built against the versions it was tested with (packaging/constraints.txt),
# with the kernels precompiled for a portable CPU (build/kernel-cache/, compiled by the
# spec on the first build and reused while the kernel sources are unchanged).
# `make package-test` also runs the frozen smoke test (needs Xvfb, xdotool, ImageMagick),
# which fails when the cold first start takes more than 20 s or compiles any kernel;
# it takes minutes, so `make test` does not run it.
PACKAGE_STAMP := $(VENV)/.losslab-install-package.stamp

$(PACKAGE_STAMP): pyproject.toml packaging/constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -c packaging/constraints.txt -e '.[package]'
	@touch $@ $(STAMP)

package: system-deps-run $(PACKAGE_STAMP)
	@start=$$(date +%s); \
	$(BIN)/pyinstaller --noconfirm --distpath dist --workpath build/pyinstaller \
		packaging/losslab.spec || exit $$?; \
	echo "Built dist/losslab/losslab in $$(( $$(date +%s) - start )) s," \
		"$$(du -sh dist/losslab | cut -f1), precompiled kernels:" \
		"$$(du -sh dist/losslab/_internal/losslab_kernel_cache 2>/dev/null | cut -f1)"

package-test: package
	bash packaging/smoke_test.sh dist/losslab

# Build and test leftovers, numba caches included; keeps .venv (rm -rf .venv for that).
clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./.git -prune -o \
		\( -name __pycache__ -type d \) -print0 | xargs -0 -r rm -rf
