"""Does a problem's text state its own expected answer? Such a row teaches copying from the prompt.

Stated means: "the answer is X" (or "Answer: X") anywhere, `\\boxed{X}` in the statement, or X as
the value that closes a sentence or line at or after the question: "... = X" (the extractor
copied a reply's "$1^2 + ... + 10^2 = 385$"), or "... is X." after the question ("What is the
sum? It is 385."). A number that merely occurs elsewhere is a given, not a stated answer: "A bag
has 5 balls ... How many?" (5 comes before the question), "Find $x^2$ if $x = 1$" (a condition:
if/where/given/such that ... before the "="), "If $2^x = 32$, what is $x$?" (a question).
Values are compared after the answers package's normalisation (`$`, `\\dfrac`, spacing, `x = 3`),
integers by value; nothing symbolic, so a stated "0.5" for the answer 1/2 is missed, never invented.
"""

from __future__ import annotations

import functools
import re

from mathforge.grading.normalize import as_integer, normalize_answer
from mathforge.text import all_boxed

_EXPLICIT = re.compile(r"\b(?:final\s+)?answer\s*(?:is|:|=|equals|should\s+be)\s*(.+?)\s*(?:$|[.;!](?:\s|$))",
                       re.IGNORECASE | re.MULTILINE)  # fmt: skip
_UNIT_SPLIT = re.compile(r"\n|(?<=[.!?;])\s+")
_TRAILING = re.compile(r"(?:\s|\$|\\\]|\\\)|[.,;!])+$")
_CLOSING_EQUATION = re.compile(r"(?<![<>!\\])=\s*([^=]+)$")
_CLOSING_SENTENCE = re.compile(r"\b(?:is|are|equals|was|be)\s+(?:equal\s+to\s+)?([^\s]+)$", re.IGNORECASE)
_QUESTION = re.compile(
    r"\?|\b(?:find|compute|calculate|evaluate|determine|solve|simplify|show|prove|express|give|list|"
    r"what|how|which|who)\b",
    re.IGNORECASE,
)
# What makes an "=" a given rather than a result: the clause states a condition before it.
_CONDITION = re.compile(
    r"\b(?:if|when|whenever|where|wherein|given|such\s+that|so\s+that|with|let|suppose|assume|assuming|"
    r"satisf(?:y|ies|ying)|for|at|provided|whose)\b",
    re.IGNORECASE,
)
_SINGLE = re.compile(r"\{([^{}])\}")  # x^{2} -> x^2, \frac{1}{2} -> \frac12: same meaning
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)|\{,\}")


def _canonical(value: str) -> str | None:
    value = value.strip().replace("$", "")
    if value.endswith(")") and value.count(")") > value.count("("):
        value = value[:-1]
    form = normalize_answer(value)
    return _SINGLE.sub(r"\1", _THOUSANDS.sub("", form)) if form else None


def _same(value: str, answer: str) -> bool:
    form = _canonical(value)
    if form is None:
        return False
    if form == answer:
        return True
    number = as_integer(form)
    return number is not None and number == as_integer(answer)


def _units(problem: str) -> list[str]:
    """Sentences and lines, in order, each without its closing punctuation and math delimiters."""
    units = (_TRAILING.sub("", u) for u in _UNIT_SPLIT.split(problem))
    return [u for u in units if u.strip()]


def _closing_value(unit: str) -> tuple[str, str] | None:
    """(what, value) when the unit ends with "= value" or "is value" outside a condition."""
    if unit.endswith("?"):
        return None
    for pattern, what in ((_CLOSING_EQUATION, "= {}"), (_CLOSING_SENTENCE, "'is {}'")):
        match = pattern.search(unit)
        if match and not _CONDITION.search(unit[: match.start()]):
            value = match.group(1).replace("$", "").strip()
            return what.format(value), value
    return None


@functools.lru_cache(maxsize=1 << 16)
def states_answer(problem: str, answer: str) -> str | None:
    """Where `problem` states `answer` (a short description), or None if it does not. A pure function
    of its strings, cached: a problem's rows share it, and the audit's second pass repeats them."""
    target = _canonical(answer or "")
    if not problem or target is None:
        return None
    for match in _EXPLICIT.finditer(problem):
        if _same(match.group(1), target):
            return f"'answer {match.group(1).strip()}' in the statement"
    for boxed in all_boxed(problem):
        if _same(boxed, target):
            return f"\\boxed{{{boxed}}} in the statement"
    units = _units(problem)
    first_question = next((i for i, u in enumerate(units) if _QUESTION.search(u)), len(units) - 1)
    for index in range(max(first_question, 0), len(units)):
        closing = _closing_value(units[index])
        # "is X" inside the question itself is the question ("Which number is 5?"); "= X" is not
        if closing and _same(closing[1], target) and (index > first_question or closing[0].startswith("=")):
            where = "closes the statement" if index == len(units) - 1 else "closes a line after the question"
            return f"{closing[0]} {where}"
    return None
