"""Text helpers shared by every stage: final-answer extraction and label parsing."""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*")


def _boxed_at(text: str, pos: int) -> str | None:
    """The content of the box whose `\\boxed` ends at `pos` (braces matched), or None if unclosed."""
    if pos < len(text) and text[pos] == "{":
        depth, i = 0, pos
        while i < len(text):
            ch = text[i]
            if ch == "\\":  # an escaped character (\{, \}, \\) never opens or closes
                i += 2
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[pos + 1 : i].strip()
            i += 1
        return None
    word = re.match(r"[^\s$]+", text[pos:])
    return word.group(0).strip() if word else None


def all_boxed(text: str) -> list[str]:
    """The contents of every closed `\\boxed{}` in `text`, in order."""
    return [c for m in _BOXED.finditer(text) if (c := _boxed_at(text, m.end())) is not None]


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (braces matched, nested ones included), or None.

    Also accepts the brace-less form `\\boxed 5`. An unclosed brace counts as no answer.
    """
    for match in reversed(list(_BOXED.finditer(text))):
        content = _boxed_at(text, match.end())
        if content is not None:
            return content
    return None


def parse_label(text: str, positive: str, negative: str) -> bool | None:
    """True/False for the label word that occurs *last* in the answer; None if neither occurs.

    The last occurrence wins because small models often restate the question before answering;
    the negative label is tried first, so "not proof" is never read as "proof".
    """
    pattern = re.compile(
        r"(?<![A-Za-z])(" + re.escape(negative) + "|" + re.escape(positive) + r")(?![A-Za-z])",
        re.IGNORECASE,
    )
    words = re.sub(r"\s+", " ", text.replace("*", "").replace("`", ""))
    found = pattern.findall(words)
    if not found:
        return None
    return found[-1].lower() == positive.lower()


def parse_choice(text: str, labels: list[str]) -> str | None:
    """The label (as configured) named *last* in the answer, case-insensitively; None if none is.

    Longer labels are tried first, so "Logic and Puzzles" is never read as a shorter label it
    contains; the last occurrence wins, as in parse_label.
    """
    by_lower = {label.lower(): label for label in labels}
    alternatives = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    pattern = re.compile(r"(?<![A-Za-z])(" + alternatives + r")(?![A-Za-z])", re.IGNORECASE)
    words = re.sub(r"\s+", " ", text.replace("*", "").replace("`", ""))
    found = pattern.findall(words)
    return by_lower[found[-1].lower()] if found else None
