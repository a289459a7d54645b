"""Lean source handling before anything is compiled: comments, the statement's name and
signature, re-stitching a proof onto the trusted statement, and the construct denylist."""

from __future__ import annotations

import re

from mathforge.errors import InputError

_DECL = re.compile(r"\b(?:theorem|lemma)\s+([^\s:({\[]+)")
# In a model's answer the proof may come under another keyword (small models often write `def`);
# only its body is used, under the trusted `theorem` signature.
_ANSWER_DECL = re.compile(r"\b(?:theorem|lemma|def|abbrev)\s+([^\s:({\[]+)")
_LINE_COMMENT = re.compile(r"--[^\n]*")


def strip_comments(code: str) -> str:
    """Remove `--` line comments and (nested) `/- ... -/` block comments, keeping strings intact."""
    out, i, depth = [], 0, 0
    while i < len(code):
        if code.startswith("/-", i):
            depth += 1
            i += 2
        elif depth and code.startswith("-/", i):
            depth -= 1
            i += 2
        elif depth:
            i += 1
        elif code[i] == '"':  # a string literal: copy it whole
            j = i + 1
            while j < len(code) and code[j] != '"':
                j += 2 if code[j] == "\\" else 1
            out.append(code[i : j + 1])
            i = j + 1
        elif code.startswith("--", i):
            j = code.find("\n", i)
            i = len(code) if j < 0 else j
        else:
            out.append(code[i])
            i += 1
    return "".join(out)


def theorem_name(statement: str) -> str:
    names = _DECL.findall(strip_comments(statement))
    if not names:
        raise InputError("<statement>", "text", "a `theorem` or `lemma` declaration")
    return names[-1]


def _signature_end(code: str, start: int) -> int:
    """Index of the top-level `:=` that ends the declaration starting at `start` (-1 if none)."""
    depth = 0
    for i in range(start, len(code) - 1):
        ch = code[i]
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        elif depth == 0 and code.startswith(":=", i):
            return i
    return -1


def statement_signature(statement: str) -> str:
    """The trusted statement up to (not including) its top-level `:=`."""
    code = strip_comments(statement)
    match = list(_DECL.finditer(code))[-1] if _DECL.search(code) else None
    if match is None:
        raise InputError("<statement>", "text", "a `theorem` or `lemma` declaration")
    end = _signature_end(code, match.start())
    return (code if end < 0 else code[:end]).rstrip()


def stitch_proof(statement: str, proof: str) -> str | None:
    """The trusted statement with the proof body the model wrote for the same theorem, or None.

    Whatever the model wrote before its theorem (helper definitions, redefinitions, options) is
    dropped, and its own copy of the statement is replaced by the trusted one, so it can neither
    change the statement nor prepare the environment.
    """
    name = theorem_name(statement)
    code = strip_comments(proof)
    found = [m for m in _ANSWER_DECL.finditer(code) if m.group(1) == name]
    if not found:
        return None
    start = found[-1].start()
    end = _signature_end(code, start)
    if end < 0:
        return None
    return f"{statement_signature(statement)} :={code[end + 2 :].rstrip()}"


DEFAULT_DENYLIST = (
    "sorry", "admit", "sorryAx", "axiom", "#exit", "macro", "macro_rules", "syntax", "notation",
    "infix", "infixl", "infixr", "prefix", "postfix", "elab", "elab_rules", "run_cmd", "run_tac",
    "run_elab", "#eval", "implemented_by", "extern", "unsafe", "debug.skipKernelTC", "apply?",
    "exact?", "decide?", "instance", "attribute", "open private",
)  # fmt: skip


def denied_constructs(code: str, denylist: tuple[str, ...] | list[str] = DEFAULT_DENYLIST) -> list[str]:
    """Denylisted tokens that occur in `code` outside comments (whole words / exact symbols)."""
    text = strip_comments(code)
    found = []
    for token in denylist:
        edge_l = r"(?<![\w.])" if token[0].isalnum() or token[0] == "_" else ""
        edge_r = r"(?![\w?])" if token[-1].isalnum() or token[-1] == "_" else ""
        if re.search(edge_l + re.escape(token) + edge_r, text):
            found.append(token)
    return found
