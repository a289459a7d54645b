"""Text helpers shared by every stage: final-answer extraction and label parsing."""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*")


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (braces matched, nested ones included), or None.

    Also accepts the brace-less form `\\boxed 5`. An unclosed brace counts as no answer.
    """
    for match in reversed(list(_BOXED.finditer(text))):
        pos = match.end()
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
            continue  # unclosed: try an earlier one
        word = re.match(r"[^\s$]+", text[pos:])
        if word:
            return word.group(0).strip()
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
