"""Text normalization for matching: formatting noise (LaTeX markup, spacing, number formatting,
case) must not hide a copied problem. Produces a token list; n-grams are built on tokens.
"""

from __future__ import annotations

import re
import unicodedata

# LaTeX commands that only change presentation: dropped (the argument, if any, is kept).
_PRESENTATION = re.compile(
    r"\\(?:displaystyle|textstyle|scriptstyle|left|right|big|Big|bigg|Bigg|bigl|bigr|Bigl|Bigr|"
    r"mathrm|mathbf|mathit|mathsf|mathtt|textbf|textit|text|mbox|operatorname|boldsymbol|bf|it|rm)\b"
)
_SPACING = re.compile(r"\\[,;:!> ]|\\(?:quad|qquad|enspace|thinspace|medspace|thickspace)\b|~")
_DISPLAY_VARIANTS = re.compile(r"\\[dt](frac|binom)\b")
_DOLLARS = re.compile(r"\$+|\\\(|\\\)|\\\[|\\\]")
_THOUSANDS = re.compile(r"(?<=\d)(?:,|\{,\})(?=\d{3}\b)")
_LEAN_DOC = re.compile(r"^\s*/--\s*|\s*-/\s*$")
# Tokens: numbers (with decimals), words, LaTeX command names, then any other single symbol.
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+|\\[a-z]+|[^\s\w{}]|_", re.IGNORECASE)


def strip_lean_doc_comment(text: str) -> str:
    """miniF2F/ProofNet informal statements come as `/-- ... -/` doc comments."""
    return _LEAN_DOC.sub("", text)


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DOLLARS.sub(" ", text)
    text = _DISPLAY_VARIANTS.sub(r"\\\1", text)
    text = _PRESENTATION.sub(" ", text)
    text = _SPACING.sub(" ", text)
    text = _THOUSANDS.sub("", text)
    return " ".join(text.split())


_PUNCTUATION = frozenset(".,;:!?")


def tokens(text: str) -> list[str]:
    """Normalized tokens; braces and sentence punctuation are dropped (they vary between copies)."""
    return [t for t in _TOKEN.findall(normalize_text(text)) if t not in _PUNCTUATION]


def ngrams(toks: list[str], n: int) -> set[tuple[str, ...]]:
    """Word n-grams; a text shorter than n yields one gram of all its tokens."""
    if not toks:
        return set()
    if len(toks) <= n:
        return {tuple(toks)}
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}
