"""Meaning-preserving normalization of final answers (what exact comparison and voting see).

Only rewrites that cannot change the value: math delimiters, spacing commands, `\\dfrac` ->
`\\frac`, `\\left`/`\\right`, a trailing period, a whole-answer `\\text{}`, a single-variable
assignment (`x = 3` -> `3`), degree marks (`90^\\circ` -> `90`, as math-verify reads them).
Anything that could change the value (percent, units, decimals vs fractions) is left to the
symbolic check.
"""

from __future__ import annotations

import re

_DELIMITERS = [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")]
_SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad|~")
_FRAC = re.compile(r"\\[dt]frac\b")
_LEFT_RIGHT = re.compile(r"\\(?:left|right)\b\s*(?=[()\[\]|.]|\\[{}|])")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°")
_ASSIGNMENT = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?=[^=])")
_TEXT = re.compile(r"^\\(?:text|textbf|mathrm|mathbf)\{(.*)\}$", re.DOTALL)
_INTEGER = re.compile(r"^[+-]?\d+$")


def normalize_answer(answer: str | None) -> str | None:
    """The canonical form of `answer`, or None for a missing or empty one."""
    if answer is None:
        return None
    text = answer.strip().rstrip(" .")
    for left, right in _DELIMITERS:
        if text.startswith(left) and text.endswith(right) and len(text) > len(left) + len(right) - 1:
            text = text[len(left) : len(text) - len(right)].strip()
    text = _SPACING.sub(" ", text)
    text = _FRAC.sub(r"\\frac", text)
    text = _LEFT_RIGHT.sub("", text)
    text = _DEGREES.sub("", text)
    text = text.rstrip(" .")
    match = _TEXT.match(text)
    if match and "}" not in match.group(1):
        text = match.group(1)
    if "=" in text and text.count("=") == 1 and "," not in text:
        text = _ASSIGNMENT.sub("", text)
    text = re.sub(r"\s+", "", text)
    return text or None


_COMMAND = re.compile(r"\\[A-Za-z]+")
_WORD = re.compile(r"[A-Za-z]{3,}")


def is_text(normalized: str) -> bool:
    """A worded answer ("yes", "no solution"): math-verify would read it as a product of symbols."""
    return bool(_WORD.search(_COMMAND.sub("", normalized)))


def as_integer(normalized: str) -> int | None:
    """The integer a normalized answer spells, for the fast path (e.g. "042" -> 42)."""
    if _INTEGER.match(normalized):
        return int(normalized)
    return None
