"""Stack Exchange post HTML -> plain text that keeps the LaTeX exactly as written.

Stack Exchange stores MathJax source inside the HTML (`$a &lt; b$`), so unescaping entities gives
back the LaTeX; only the HTML structure is turned into text (paragraphs, lists, code, quotes).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "ul", "ol", "dl"}
_SPACES = re.compile(r"[ \t\r\f\v]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


class _TextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pre_depth = 0
        self.quote_depth = 0
        self.list_stack: list[list[int]] = []  # [counter] per list; -1 marks an unordered list
        self.item_start = False  # just after a list marker: the item's first block stays on its line

    def _emit(self, text: str) -> None:
        self.item_start = False
        self.parts.append(text)

    def _newline(self, count: int = 1) -> None:
        if self.item_start:
            return
        self._emit("\n" * count + "> " * self.quote_depth)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self._newline(2)
            if tag == "ul":
                self.list_stack.append([-1])
            elif tag == "ol":
                self.list_stack.append([0])
        elif tag == "br":
            self._newline()
        elif tag == "hr":
            self._newline(2)
            self._emit("---")
            self._newline(2)
        elif tag == "blockquote":
            self.quote_depth += 1
            self._newline(2)
        elif tag == "pre":
            self.pre_depth += 1
            self._newline(2)
            self._emit("```")
            self._newline()
        elif tag == "code" and not self.pre_depth:
            self._emit("`")
        elif tag == "li":
            self._newline()
            if self.list_stack and self.list_stack[-1][0] >= 0:
                self.list_stack[-1][0] += 1
                self._emit(f"{self.list_stack[-1][0]}. ")
            else:
                self._emit("- ")
            self.item_start = True
        elif tag == "img":
            alt = dict(attrs).get("alt") or "image"
            self._emit(f"[{alt}]")
        elif tag in {"td", "th"}:
            self._emit(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK:
            self._newline(2)
            if tag in {"ul", "ol"} and self.list_stack:
                self.list_stack.pop()
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
            self._newline(2)
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
            self._newline()
            self._emit("```")
            self._newline(2)
        elif tag == "code" and not self.pre_depth:
            self._emit("`")
        elif tag == "li":
            self.item_start = False

    def handle_data(self, data: str) -> None:
        if self.item_start and not data.strip():
            return
        if self.pre_depth:
            prefix = "\n" + "> " * self.quote_depth
            self._emit(data.replace("\n", prefix))
        else:
            self._emit(_SPACES.sub(" ", data.replace("\n", " ")))


def html_to_text(html: str) -> str:
    builder = _TextBuilder()
    builder.feed(html)
    builder.close()
    text = "".join(builder.parts)
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(line if line.strip("> ") else "" for line in lines)
    return _MANY_NEWLINES.sub("\n\n", text).strip()
