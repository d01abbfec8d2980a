"""ARCHITECTURE.md and CONTRIBUTING.md name only files, modules and names that exist.

The document is a map for newcomers; a map that sends them to a file that was renamed is
worse than none. Every inline code span (in backticks, outside fenced blocks) is checked:

- a path (``simulator/core/engine.py``, ``bench/``, ``Makefile``) must exist in the
  repository; ``<id>`` and ``*`` are wildcards that must match at least one file;
- a dotted ``simulator.*`` name must be a module, or a name defined in one;
- a plain identifier (``PRESETS``, ``Session.load_dict``, ``list_surfaces()``) in a
  paragraph, list item or table row that names files must occur as a word in one of
  those files (or in a Python file under a named folder), so that "``PRESETS`` in
  ``simulator/gui/session.py``" fails once ``PRESETS`` moves.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "ARCHITECTURE.md"

_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"`([^`\n]+)`")
_IDENT = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\))?$")
_FILE_SUFFIXES = (".py", ".md", ".toml", ".json", ".yaml", ".yml", ".sh", ".spec", ".svg",
                  ".png", ".cfg", ".txt", ".xml")
_ROOT_FILES = {"Makefile"}
# package-dir in pyproject: the import name simulator.resources is the folder resources/
_PACKAGE_DIRS = {"simulator.resources": "resources", "simulator": "simulator"}


def blocks(text: str) -> list[str]:
    """Paragraphs, list items and table rows, with fenced code blocks removed."""
    text = _FENCE.sub("\n", text)
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        item: list[str] = []
        for line in para.splitlines():
            starts_item = re.match(r"\s*(?:[-*]|\d+\.)\s", line) or line.startswith("|")
            if starts_item and item:
                out.append("\n".join(item))
                item = []
            item.append(line)
        if item:
            out.append("\n".join(item))
    return out


def is_path(span: str) -> bool:
    if " " in span or span.startswith(("http", "-")) or "(" in span or '"' in span:
        return False
    return "/" in span or span.endswith(_FILE_SUFFIXES) or span in _ROOT_FILES


def resolve_path(span: str) -> list[Path]:
    pattern = re.sub(r"<[^>]+>", "*", span).rstrip("/")
    if any(c in pattern for c in "*?["):
        return sorted(ROOT.glob(pattern))
    p = ROOT / pattern
    return [p] if p.exists() else []


def _module_file(parts: list[str]) -> Path | None:
    """The source file of the dotted module name ``parts``, or None."""
    for prefix, folder in sorted(_PACKAGE_DIRS.items(), key=lambda kv: -len(kv[0])):
        pp = prefix.split(".")
        if parts[: len(pp)] == pp:
            base = ROOT / folder / Path(*parts[len(pp):]) if parts[len(pp):] else ROOT / folder
            for cand in (base.with_suffix(".py"), base / "__init__.py"):
                if cand.is_file():
                    return cand
            return None
    return None


def defines(source: str, name: str) -> bool:
    return re.search(
        rf"^\s*(?:def|class)\s+{re.escape(name)}\b|^\s*{re.escape(name)}\s*[:=]"
        rf"|^\s*from\s+\S+\s+import\s+.*\b{re.escape(name)}\b|^\s+{re.escape(name)},$",
        source, re.MULTILINE,
    ) is not None


def resolve_module_name(span: str) -> bool:
    parts = span.removesuffix("()").split(".")
    for k in range(len(parts), 0, -1):
        f = _module_file(parts[:k])
        if f is None:
            continue
        rest = parts[k:]
        if not rest:
            return True
        return defines(f.read_text(encoding="utf-8"), rest[0])
    return False


def _sources(paths: list[Path]) -> str:
    texts = []
    for p in paths:
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p]
        texts += [f.read_text(encoding="utf-8", errors="replace") for f in files]
    return "\n".join(texts)


def check(text: str) -> tuple[list[str], int, int]:
    """Problems found, and how many paths and identifiers were checked."""
    problems: list[str] = []
    n_paths = n_names = 0
    for block in blocks(text):
        spans = _SPAN.findall(block)
        named: list[Path] = []
        for span in spans:
            if is_path(span):
                n_paths += 1
                found = resolve_path(span)
                if not found:
                    problems.append(f"no such path: {span}")
                named += found
        for span in spans:
            if is_path(span) or not _IDENT.match(span):
                continue
            if span.startswith("simulator."):
                n_names += 1
                if not resolve_module_name(span):
                    problems.append(f"no such module or name: {span}")
                continue
            if not named:
                continue  # nothing says where to look
            word = span.removesuffix("()").split(".")[-1]
            n_names += 1
            if not re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", _sources(named)):
                where = ", ".join(str(p.relative_to(ROOT)) for p in named)
                problems.append(f"{span} not found in {where}")
    return problems, n_paths, n_names


# CONTRIBUTING.md names files and tests to touch: the same check keeps it true.
@pytest.mark.parametrize(("name", "min_paths", "min_names"),
                         [("ARCHITECTURE.md", 100, 60), ("CONTRIBUTING.md", 40, 25)])
def test_every_name_in_the_newcomer_docs_exists(name, min_paths, min_names):
    problems, n_paths, n_names = check((ROOT / name).read_text(encoding="utf-8"))
    assert not problems, f"{name} is out of date:\n" + "\n".join(problems)
    # the checker really looked (a broken pattern would pass by checking nothing)
    assert n_paths >= min_paths and n_names >= min_names, (n_paths, n_names)


def test_architecture_md_describes_every_module():
    """Each Python module of the package is named (a new file gets its line)."""
    text = DOC.read_text(encoding="utf-8")
    kernels = ROOT / "simulator" / "core" / "kernels"
    modules = [
        p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "simulator").rglob("*.py"))
        if p.name != "__init__.py" and kernels not in p.parents  # see the Kernels section
    ]
    missing = [m for m in modules if f"`{m}`" not in text]
    assert not missing, f"ARCHITECTURE.md does not say what these are: {missing}"


# ---- the checker itself ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("See `simulator/core/nonexistent.py`.", ["no such path: simulator/core/nonexistent.py"]),
        ("`NOT_THERE` in `simulator/cli.py`.", ["NOT_THERE not found in simulator/cli.py"]),
        ("`simulator.core.engine.nope`", ["no such module or name: simulator.core.engine.nope"]),
        ("`simulator.core.nomodule`", ["no such module or name: simulator.core.nomodule"]),
        ("`resources/labs/<id>.nothing`", ["no such path: resources/labs/<id>.nothing"]),
        ("```\n`simulator/gone.py`\n```\n", []),  # fenced blocks are not checked
        ("`SUBCOMMANDS` in `simulator/cli.py`; `simulator.core.engine.simulate`.", []),
        ("`simulator.resources`, `resources/labs/<id>.json`, `bench/`, `Makefile`", []),
        ("- `PRESETS` in `simulator/gui/session.py`\n- `SUBCOMMANDS` alone", []),
        ("- `simulator/cli.py`\n- `PRESETS` named apart from its file", []),
    ],
)
def test_checker(doc, expected):
    assert check(doc)[0] == expected
