"""Proofs that come with auxiliary declarations (helper lemmas, definitions, `partial def`s).

Such a proof cannot be re-stitched onto the trusted statement: the helpers are needed. So the
model's whole output is compiled after the header, and Lean itself checks that its theorem
proves the trusted statement: the statement is elaborated first, before any of the model's
code, as an axiom under a reserved name, and a theorem appended after the model's code must
have exactly that axiom's type with the model's theorem as its proof. The kernel accepts that
only if the model's theorem's type is definitionally equal to the trusted one, so a helper that
redefines a notion (or a namespace, `open` or option that changes what names mean) cannot make
a weaker statement pass; universe parameters of the trusted type are fixed before the proof is
elaborated, so a less polymorphic theorem fails too. `#print axioms` of the appended theorem
follows every helper it uses (and reports the reserved axiom itself if the model used it).
The checks here are the source-level ones that come before Lean.
"""

from __future__ import annotations

import re

from mathforge.lean.source import statement_parts, strip_comments

RESERVED = "mathforge_"  # prefix of the names below; a model may not use it
TRUSTED_AXIOM = "mathforge_trusted_statement"
CHECK_THEOREM = "mathforge_statement_check"
# Commands that only prepare names (what re-stitching has always dropped): a preamble of only
# these is not an auxiliary declaration, so such a proof is checked re-stitched as before.
_PREPARING = {"open", "set_option", "namespace", "section", "end", "universe", "variable", "import"}
_MODIFIERS = {"private", "protected", "noncomputable", "partial", "unsafe", "nonrec", "local", "scoped"}
_DECLARED = re.compile(
    r"(?<![\w.])(?:theorem|lemma|def|abbrev|structure|inductive|class|opaque|axiom|instance)\s+([^\s:({\[]+)"
)
_IDENT = re.compile(r"[^\W\d][\w.'!?]*")


def commands(code: str) -> list[str]:
    """Top-level commands of `code`: a line that starts at column 0 starts a new one."""
    chunks: list[list[str]] = []
    for line in code.splitlines():
        if not chunks or (line[:1].strip() and any(x.strip() for x in chunks[-1])):
            chunks.append([])
        chunks[-1].append(line)
    return ["\n".join(c).strip() for c in chunks if any(x.strip() for x in c)]


def _normal(command: str) -> str:
    return " ".join(command.split())


def answer_code(proof: str, header: str, statement: str) -> str:
    """The model's code as it is compiled with its helpers: without comments, `import` lines and
    top-level commands that repeat the header's or the statement's own (models echo the header)."""
    trusted = {_normal(c) for c in commands(strip_comments(f"{header}\n{statement_parts(statement)[0]}"))}
    kept = [
        c
        for c in commands(strip_comments(proof))
        if not c.startswith("import ") and _normal(c) not in trusted
    ]
    return "\n\n".join(kept)


def _first_word(command: str) -> str:
    rest = re.sub(r"^(?:@\[[^\]]*\]\s*)+", "", command)
    words = rest.split()
    while words and words[0] in _MODIFIERS:
        words = words[1:]
    return words[0] if words else ""


def has_auxiliary(preamble: str, name: str) -> bool:
    """Whether the model's code before its theorem `name` declares or runs anything (other than
    earlier copies of the theorem itself, which re-stitching drops)."""
    for command in commands(preamble):
        first = _first_word(command)  # "" for modifiers or attributes of the theorem itself
        if first and first not in _PREPARING and _declared(command)[:1] != [name]:
            return True
    return False


def trusted_axiom(statement: str) -> str:
    """The trusted statement (with what it declares before its theorem) as the reserved axiom."""
    prefix, signature = statement_parts(statement)
    return f"{prefix}\n\naxiom {TRUSTED_AXIOM}{signature}".strip()


def statement_check(name: str) -> str:
    """Appended after the model's code: Lean accepts it only if `name` proves the trusted type."""
    return f"theorem {CHECK_THEOREM} : type_of% @{TRUSTED_AXIOM} := @{name}\n\n#print axioms {CHECK_THEOREM}"


def _declared(code: str) -> list[str]:
    return [m.group(1).rstrip(".") for m in _DECLARED.finditer(code)]


def _last(name: str) -> str:
    return name.rstrip(".").split(".")[-1]


def refused_names(code: str, name: str, header: str, statement: str) -> str | None:
    """Why the model's declarations may not be compiled, or None: a reserved name, or a name the
    header declares or the statement uses (re-declared at the top level, in a namespace, or
    reached through `open`) - the last component is compared, so `Sneaky.And` clashes with `And`."""
    if RESERVED in code:
        return f"the names starting with `{RESERVED}` are reserved for the checker"
    used = {_last(n) for n in _declared(strip_comments(header)) + _IDENT.findall(strip_comments(statement))}
    clashes = sorted({d for d in _declared(code) if d != name and _last(d) in used - {name}})
    if clashes:
        names = ", ".join(f"`{c}`" for c in clashes)
        return f"the proof would redefine {names}, used by the header or the statement"
    return None
