"""Faithful extraction: every number and every formula's operations in an extracted problem must
be supported by the thread's question post. What appears only in the discussion (a reply's
"= 385" copied into the problem) is unfaithful.

Models rephrase, so words are never compared. What is compared, after the text normalisation the
decontamination uses (`mathforge.normalized_text`: delimiters, `\\displaystyle`, `\\left`/`\\right`,
`\\dfrac`/`\\tfrac`, spacing commands, thousands separators, NFKC so "x²" reads as "x2"):
- numbers (integers, decimals; a fraction is its numerator and denominator), anywhere in the
  problem. A number is supported if the post writes it in digits, spells it in words ("three",
  "twenty-five", "a third", "squared" -> 2), or it is one of `implicit` (0 and 1 by default:
  "positive" becomes "> 0", indices start at 1). LaTeX digit arguments are read both ways in the
  post (`\\frac12` = `\\frac{1}{2}`, `x^23` as LaTeX's `x^{2}3` and as the `x^{23}` a user meant).
- the content commands of formulas (functions, operators, constants: `\\sin`, `\\sum`, `\\sqrt`,
  `\\pi`, ...), supported by the same command or a plain spelling in the post ("sqrt", "sum",
  "pi", "√"). Presentation and notation (`\\frac` for "1/2", `\\cdot`, `\\mathbb`, braces,
  variable names) are never compared: re-wrapping `x^2` as `x^{2}` or `1/2` as `\\frac{1}{2}` is
  not a change of content.
A formula found verbatim (normalised) in the post passes by construction: its numbers and
commands are in the post. Problem numbering and list markers the extractor adds ("Problem 2:",
"1)", "(a)") are not content and are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mathforge.normalized_text import normalize_text, tokens

_NUMBER = re.compile(r"\d+(?:\.\d+)?|(?<![\d.])\.\d+")
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# LaTeX reads one digit per unbraced argument: \frac12 is 1/2, x^23 is x^{2}3.
_FRAC_DIGITS = re.compile(r"(\\[dt]?frac|\\[dt]?binom)\s*(\d)\s*(\d)")
_SCRIPT_DIGITS = re.compile(r"([\^_])\s*(\d)(?=\d)")
# Numbering the extractor adds: "Problem 2", "Part 1", line-leading "1." / "1)" / "(1)", inline "(1) ".
_NUMBERING = re.compile(
    r"\b(?:problem|part|question|exercise|task)\s*\(?\d{1,2}(?![.,]?\d)\)?", re.IGNORECASE
)  # not "exercise 2.3"
_LINE_MARKER = re.compile(r"^[ \t>*#_-]*\(?\d{1,2}[.):](?=[ \t]|$)", re.MULTILINE)
_INLINE_MARKER = re.compile(r"(?<![^\s(])\(?\d{1,2}\)(?=\s)")

_UNITS = {
    w: i
    for i, w in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
    )
}  # fmt: skip
_TENS = {
    w: 10 * i
    for i, w in enumerate(("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), 2)
}
_ORDINALS = {
    w: i
    for i, w in enumerate(
        ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
         "eleventh", "twelfth"),
        1,
    )
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
# Words that name a number without spelling it (a model may write "x^2" for "x squared").
_IMPLIED = {
    "half": (2, "0.5"), "halves": (2, "0.5"), "quarter": (4, "0.25"), "quarters": (4, "0.25"),
    "twice": (2,), "double": (2,), "doubled": (2,), "square": (2,), "squares": (2,), "squared": (2,),
    "quadratic": (2,), "pair": (2,), "pairs": (2,), "both": (2,), "even": (2,), "thrice": (3,),
    "triple": (3,), "tripled": (3,), "cube": (3,), "cubes": (3,), "cubed": (3,), "cubic": (3,),
    "quadruple": (4,), "dozen": (12,), "percent": (100,), "%": (100,), "hundredth": (100,),
    "thousandth": (1000,),
}  # fmt: skip
# Content commands and the spellings in a post that support them; other commands are notation.
_COMMANDS = {
    "sqrt": ("sqrt", "√", "root", "roots"), "sum": ("sum", "∑", "sigma", "summation", "series"),
    "prod": ("prod", "∏", "product"), "int": ("int", "∫", "integral", "integrate", "integration"),
    "lim": ("lim", "limit"), "log": ("log", "ln", "lg", "logarithm"), "ln": ("ln", "log", "logarithm"),
    "exp": ("exp", "e"), "pi": ("pi", "π"), "infty": ("infty", "∞", "infinity", "infinite"),
    "binom": ("binom", "choose", "binomial", "combination", "combinations"),
    "gcd": ("gcd", "hcf", "divisor"), "lcm": ("lcm", "multiple"), "det": ("det", "determinant"),
    "lfloor": ("lfloor", "floor", "⌊", "greatest"), "lceil": ("lceil", "ceil", "ceiling", "⌈"),
    "max": ("max", "maximum", "largest", "greatest"), "min": ("min", "minimum", "smallest", "least"),
    "partial": ("partial", "∂", "derivative"),
    **{f: (f, f.removeprefix("arc"), "inverse") for f in ("arcsin", "arccos", "arctan")},
    **{f: (f,) for f in ("sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh")},
}  # fmt: skip
_COMMANDS["rfloor"], _COMMANDS["rceil"] = _COMMANDS["lfloor"], _COMMANDS["lceil"]


def canonical_number(number: str) -> str:
    """'007' -> '7', '2.50' -> '2.5', '.5' -> '0.5', '3.0' -> '3'."""
    whole, _, frac = number.partition(".")
    whole, frac = whole.lstrip("0") or "0", frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def _numbers(text: str) -> list[str]:
    """The canonical numbers of `text` in order of first appearance."""
    return list(dict.fromkeys(canonical_number(n) for n in _NUMBER.findall(normalize_text(text))))


def latex_digit_reading(text: str) -> str:
    """`text` with LaTeX's one-digit arguments braced: `\\frac12` -> `\\frac{1}{2}`, `x^23` -> `x^{2}3`."""
    return _SCRIPT_DIGITS.sub(r"\1{\2}", _FRAC_DIGITS.sub(r"\1{\2}{\3}", text))


def spelled_numbers(words: list[str]) -> set[str]:
    """Numbers the words spell: each number word alone, and runs ("twenty-five", "two hundred and
    one", "twenty-first"); an ordinal ends a run ("two thirds" is 2 and 3)."""
    found: set[int | str] = set()
    total = current = 0
    in_run = after_tens = False

    def close_run() -> None:
        nonlocal total, current, in_run
        if in_run:
            found.add(total + current)
        total = current = 0
        in_run = False

    for word in [*words, "."]:
        if in_run and word in ("-", "and"):
            continue
        word = word if word in _ORDINALS or word in _IMPLIED else word.removesuffix("s")
        if word in _ORDINALS and not after_tens:
            close_run()
        after_tens = word in _TENS
        value = _UNITS.get(word, _TENS.get(word, _ORDINALS.get(word)))
        if value is not None:
            found.add(value)
            current, in_run = current + value, True
            if word in _ORDINALS:
                close_run()
        elif word in _SCALES:
            found.add(_SCALES[word])
            if word == "hundred":
                current = max(current, 1) * 100
            else:
                total, current = total + max(current, 1) * _SCALES[word], 0
            in_run = True
        else:
            close_run()
            found.update(_IMPLIED.get(word, ()))
    return {canonical_number(str(n)) for n in found}


@dataclass(frozen=True)
class PostSupport:
    """What a question post supports: its numbers (digits, both LaTeX readings, words) and spellings."""

    numbers: frozenset[str]
    spellings: frozenset[str]
    text: str

    @classmethod
    def of(cls, post: str, implicit: tuple[str, ...] = ("0", "1")) -> PostSupport:
        toks = tokens(post)
        numbers = {*_numbers(post), *_numbers(latex_digit_reading(post)), *spelled_numbers(toks)}
        numbers |= {canonical_number(n) for n in implicit}
        return cls(frozenset(numbers), frozenset(t.lstrip("\\") for t in toks), normalize_text(post))

    def supports_command(self, name: str) -> bool:
        aliases = _COMMANDS.get(name)
        if aliases is None:
            return True  # notation, not content
        return any(a in self.spellings or (not a.isascii() and a in self.text) for a in aliases)


def _strip_numbering(problem: str) -> str:
    text = _NUMBERING.sub(" ", problem)
    text = _LINE_MARKER.sub(" ", text)
    return _INLINE_MARKER.sub(" ", text)


@dataclass(frozen=True)
class Unsupported:
    token: str  # a number or content command of the problem that the post does not support
    context: str  # the formula it is in (as written), or "text"


def _unsupported_in(text: str, support: PostSupport) -> list[str]:
    numbers = [n for n in _numbers(latex_digit_reading(text)) if n not in support.numbers]
    commands = dict.fromkeys(t[1:] for t in tokens(text) if t.startswith("\\"))
    return numbers + [f"\\{c}" for c in commands if not support.supports_command(c)]


def unsupported_content(problem: str, post: str, implicit: tuple[str, ...] = ("0", "1")) -> list[Unsupported]:
    """The numbers and content commands of `problem` that `post` does not support, per formula."""
    support = PostSupport.of(post, implicit)
    text = _strip_numbering(problem)
    found = []
    for match in _MATH.finditer(text):
        formula = next(g for g in match.groups() if g is not None)
        found += [Unsupported(t, match.group(0)) for t in _unsupported_in(formula, support)]
    prose = _MATH.sub(" ", text)
    found += [Unsupported(t, "text") for t in _unsupported_in(prose, support)]
    return found


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(unsupported: list[Unsupported], max_chars: int = 400) -> str:
    """`385 in $1^2 + ... = 385$; \\sin in text` for the dropped table's detail."""
    parts = [f"{u.token} in {_shorten(u.context)}" for u in unsupported]
    return "; ".join(parts)[:max_chars]
