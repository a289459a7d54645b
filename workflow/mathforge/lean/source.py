"""Lean source handling before anything is compiled: comments, the statement's name and
signature, re-stitching a proof onto the trusted statement, and the construct denylist."""

from __future__ import annotations

import re

from mathforge.errors import InputError

LEAN_BLOCK = re.compile(r"```(?:lean4|lean)[ \t]*\n(.*?)```", re.DOTALL)
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


def _decl_name(match: re.Match) -> str:
    """The declared name of a `_DECL`/`_ANSWER_DECL` match, without a `.{u, v}` universe list."""
    return match.group(1).rstrip(".")


def _statement_decl(statement: str) -> tuple[str, re.Match]:
    code = strip_comments(statement)
    matches = list(_DECL.finditer(code))
    if not matches:
        raise InputError("<statement>", "text", "a `theorem` or `lemma` declaration")
    return code, matches[-1]


def theorem_name(statement: str) -> str:
    return _decl_name(_statement_decl(statement)[1])


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
    code, match = _statement_decl(statement)
    end = _signature_end(code, match.start())
    return (code if end < 0 else code[:end]).rstrip()


def statement_parts(statement: str) -> tuple[str, str]:
    """(what the statement declares before its theorem, the theorem's signature after its name:
    universe list, binders and type) - e.g. ("", " (a b : Prop) : And a b")."""
    code, match = _statement_decl(statement)
    end = _signature_end(code, match.start())
    after_name = match.start(1) + len(_decl_name(match))
    return code[: match.start()].strip(), (code if end < 0 else code[:end])[after_name:].rstrip()


def target_start(code: str, name: str) -> int | None:
    """Where the model's (last) declaration of the theorem `name` starts in comment-free `code`."""
    found = [m for m in _ANSWER_DECL.finditer(code) if _decl_name(m) == name]
    return found[-1].start() if found else None


def stitch_proof(statement: str, proof: str) -> str | None:
    """The trusted statement with the proof body the model wrote for the same theorem, or None.

    Whatever the model wrote before its theorem (helper definitions, redefinitions, options) is
    dropped, and its own copy of the statement is replaced by the trusted one, so it can neither
    change the statement nor prepare the environment.
    """
    code = strip_comments(proof)
    start = target_start(code, theorem_name(statement))
    if start is None:
        return None
    end = _signature_end(code, start)
    if end < 0:
        return None
    return f"{statement_signature(statement)} :={code[end + 2 :].rstrip()}"


DEFAULT_DENYLIST = (
    "sorry", "admit", "sorryAx", "axiom", "#exit", "macro", "macro_rules", "syntax", "notation",
    "infix", "infixl", "infixr", "prefix", "postfix", "elab", "elab_rules", "run_cmd", "run_tac",
    "run_elab", "#eval", "implemented_by", "extern", "unsafe", "debug.skipKernelTC", "apply?",
    "exact?", "decide?", "instance", "attribute", "open private",
    # ways to run the model's own meta code while checking (and so to edit the environment)
    "simproc", "dsimproc", "by_elab", "initialize", "builtin_initialize",
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


# `set_option`s a model may write: limits and linters. Others can switch checks off
# (`debug.skipKernelTC`, `warn.sorry`, `debug.byAsSorry`, ...), so they are refused.
ALLOWED_OPTIONS = (
    "maxHeartbeats", "maxRecDepth", "synthInstance.", "exponentiation.threshold", "linter.",
    "autoImplicit", "relaxedAutoImplicit",
)  # fmt: skip
# Attributes a model may put on its declarations: none of them runs code or changes how Lean
# checks (unlike `implemented_by`, `extern`, `csimp`, `init`, elaborator and tactic attributes).
ALLOWED_ATTRIBUTES = (
    "simp", "reducible", "irreducible", "semireducible", "inline", "noinline", "specialize", "ext",
    "norm_cast", "push_cast", "simps", "nolint", "elab_as_elim", "congr", "gcongr", "symm", "refl", "trans",
)  # fmt: skip
_SET_OPTION = re.compile(r"(?<![\w.])set_option\s+([^\s]+)")


def refused_options(code: str) -> list[str]:
    """The options `code` sets that are not in `ALLOWED_OPTIONS` (comment-free `code`)."""

    def allowed(name: str) -> bool:
        return any(name == a or (a.endswith(".") and name.startswith(a)) for a in ALLOWED_OPTIONS)

    return [n for n in _SET_OPTION.findall(code) if not allowed(n)]


def _attribute_lists(code: str) -> list[str]:
    """The insides of every `@[...]` in `code` (brackets nested inside are kept)."""
    found = []
    for match in re.finditer(r"@\[", code):
        depth, i = 1, match.end()
        while i < len(code) and depth:
            depth += {"[": 1, "]": -1}.get(code[i], 0)
            i += 1
        found.append(code[match.end() : i - 1])
    return found


def refused_attributes(code: str) -> list[str]:
    """The attributes in `@[...]` of comment-free `code` that are not in `ALLOWED_ATTRIBUTES`."""
    refused = []
    for inside in _attribute_lists(code):
        for entry in inside.split(","):
            words = entry.strip().lstrip("-").split()
            words = words[1:] if words[:1] in (["local"], ["scoped"]) else words
            name = words[0] if words else entry.strip()
            if name not in ALLOWED_ATTRIBUTES:
                refused.append(name)
    return refused


def extract_lean_block(text: str) -> str | None:
    """The last closed ```lean4 (or ```lean) block."""
    blocks = LEAN_BLOCK.findall(text or "")
    return blocks[-1] if blocks else None
