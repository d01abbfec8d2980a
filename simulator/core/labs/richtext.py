"""Lab rich text: the safe subset of HTML (formatting tags only, no attributes), its
checker and a plain-text rendering for the command line."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# The safe subset of rich text: formatting only, no attributes, links, images or scripts.
RICH_TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "code",
                       "sub", "sup"})
_VOID_TAGS = frozenset({"br"})


class _RichTextChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in RICH_TAGS:
            self.problems.append(
                f"<{tag}> is not allowed (use {', '.join(f'<{t}>' for t in sorted(RICH_TAGS))})"
            )
            return
        if attrs:
            self.problems.append(f"<{tag}> must not have attributes ({attrs[0][0]}=...)")
        if tag not in _VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag not in RICH_TAGS:
            self.problems.append(f"<{tag}> is not allowed")
        elif attrs:
            self.problems.append(f"<{tag}> must not have attributes ({attrs[0][0]}=...)")

    def handle_endtag(self, tag):
        if tag not in RICH_TAGS or tag in _VOID_TAGS:
            return
        if tag in self.stack:
            while self.stack and self.stack[-1] != tag:
                open_tag = self.stack.pop()
                if open_tag not in ("p", "li"):  # HTML lets these close implicitly
                    self.problems.append(f"<{open_tag}> is not closed before </{tag}>")
            self.stack.pop()
        else:
            self.problems.append(f"</{tag}> closes nothing")

    def handle_comment(self, data):
        self.problems.append("comments are not allowed")

    def handle_decl(self, decl):
        self.problems.append(f"<!{decl.split()[0] if decl.split() else ''}> is not allowed")

    def handle_pi(self, data):
        self.problems.append("processing instructions are not allowed")

    def unknown_decl(self, data):
        self.problems.append("<![...]> sections are not allowed")


def check_rich_text(text: str) -> list[str]:
    """Problems with ``text`` as lab rich text (empty when it is safe).

    The allowed subset is :data:`RICH_TAGS` without attributes: paragraphs, line breaks,
    bold, italic, underline, lists, code, sub- and superscripts. Plain text with entities
    (``&lt;``, ``&amp;``) is fine.
    """
    p = _RichTextChecker()
    try:
        p.feed(text)
        p.close()
    except Exception as e:  # noqa: BLE001 - malformed markup is a problem, not a crash
        p.problems.append(f"cannot be read as rich text ({e})")
    for tag in p.stack:
        if tag not in ("p", "li"):
            p.problems.append(f"<{tag}> is not closed")
    out = []
    for msg in p.problems:
        if msg not in out:
            out.append(msg)
    return out


def rich_text_to_plain(text: str) -> str:
    """A plain-text rendering of lab rich text (for the command line)."""
    text = re.sub(r"<\s*(br|/p|/li|/ul|/ol)\s*/?>", "\n", text, flags=re.I)
    text = re.sub(r"<\s*li\s*>", "- ", text, flags=re.I)
    text = re.sub(r"<[^>]*>", "", text)
    lines = [" ".join(line.split()) for line in html.unescape(text).splitlines()]
    return "\n".join(line for line in lines if line)

