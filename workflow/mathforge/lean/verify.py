"""Sound checks of Lean statements and proofs, with structured verdicts.

Backend here: one `lean --json` process per file (`lake env lean` in the project, or any
command that behaves like `lean`), under an external wall-clock limit and an address-space
limit. Verdicts:
  ok           compiled; for proofs: no sorry, statement re-stitched (or, with helper declarations,
               proved as Lean checked: see `mathforge.lean.auxiliary`), axioms within the allowed set
  has_sorry    compiled, but uses sorry (fine for a statement, a failure for a proof)
  error        compiler errors (messages with positions), or Lean crashed without output
  timeout      the wall-clock limit was hit; the process was killed
  rejected     a cheat was found (denylisted construct, foreign axiom, no axioms report, statement
               not found in the proof), with the reason
  infra_error  Lean could not be run at all (missing command)
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from mathforge.lean import auxiliary
from mathforge.lean.messages import LeanMessage, axioms_of, parse_messages
from mathforge.lean.source import (
    DEFAULT_DENYLIST,
    denied_constructs,
    refused_attributes,
    refused_options,
    stitch_proof,
    strip_comments,
    target_start,
    theorem_name,
)

STANDARD_AXIOMS = ("propext", "Classical.choice", "Quot.sound")
# Raised whenever a proof check can give another verdict for the same input, so cached
# verdicts of an older check are not reused (2: helper declarations, axioms report by position).
PROOF_CHECK_VERSION = 2
_SORRY_PROOF = re.compile(r"(?:\bby\s+)?(?<![\w.])sorry(?![\w?])")


@dataclass
class LeanVerdict:
    status: str  # ok | has_sorry | error | timeout | rejected | infra_error
    messages: list[LeanMessage] = field(default_factory=list)
    reason: str | None = None
    axioms: list[str] | None = None
    seconds: float = 0.0
    source: str = ""  # exactly what was compiled
    code: str | None = None  # the model's code as checked (what a training row shows), helpers included
    code_offset: int | None = None  # line k of `code` is line k + code_offset of `source`

    @property
    def errors(self) -> list[LeanMessage]:
        return [m for m in self.messages if m.is_error]

    def to_dict(self) -> dict:
        return {
            "status": self.status, "reason": self.reason, "axioms": self.axioms, "seconds": self.seconds,
            "messages": [m.to_dict() for m in self.messages], "code": self.code,
            "code_offset": self.code_offset,
        }  # fmt: skip


@dataclass
class CompileResult:
    messages: list[LeanMessage]
    returncode: int | None
    timed_out: bool
    seconds: float
    other_output: list[str]
    infra_error: str | None = None


class LeanFileBackend:
    """Compile each source as its own file with `command + ["--json", file]`.

    Every backend offers `check(header, body)`; this one compiles header, a blank line and body
    as one file (message positions count from the header's first line)."""

    def __init__(
        self, command: list[str], cwd: str | None = None, timeout_s: float = 60.0, memory_mb: int = 8192
    ):
        self.command = list(command)
        self.cwd = cwd
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb

    def _limits(self) -> None:
        limit = self.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def check(self, header: str, body: str) -> CompileResult:
        return self.compile(assemble(header, body))

    def compile(self, source: str) -> CompileResult:
        with tempfile.TemporaryDirectory(prefix="mathforge-lean-") as tmp:
            path = os.path.join(tmp, "Check.lean")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(source)
            started = time.monotonic()
            try:
                proc = subprocess.Popen(
                    [*self.command, "--json", path],
                    cwd=self.cwd,
                    text=True,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    preexec_fn=self._limits,  # the memory limit applies to Lean alone
                    start_new_session=True,
                )
            except OSError as exc:
                return CompileResult(
                    [], None, False, 0.0, [], infra_error=f"cannot run {self.command[0]}: {exc}"
                )
            try:
                stdout, stderr = proc.communicate(timeout=self.timeout_s)
                timed_out = False
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                stdout, stderr = proc.communicate()
                timed_out = True
            seconds = time.monotonic() - started
        messages, other = parse_messages(stdout)
        return CompileResult(messages, proc.returncode, timed_out, seconds, other + stderr.splitlines())


def assemble(header: str, body: str) -> str:
    """The file every backend checks: the header, a blank line, the body."""
    return f"{header.rstrip()}\n\n{body.strip()}\n"


def body_line_offset(header: str) -> int:
    """Line `k` of the body is line `k + body_line_offset(header)` of `assemble(header, body)`."""
    return header.rstrip().count("\n") + 2


def _verdict_from(result: CompileResult, source: str) -> LeanVerdict | None:
    """The verdict when compilation itself failed (infra, timeout, errors, crash), else None."""
    if result.infra_error:
        return LeanVerdict("infra_error", reason=result.infra_error, source=source)
    if result.timed_out:
        return LeanVerdict(
            "timeout", result.messages, "wall-clock limit", seconds=result.seconds, source=source
        )
    errors = [m for m in result.messages if m.is_error]
    if errors:
        return LeanVerdict("error", result.messages, errors[0].text, seconds=result.seconds, source=source)
    if result.returncode != 0:  # e.g. a stack overflow abort with no JSON at all: never a success
        detail = " | ".join(result.other_output[-3:]) or f"exit code {result.returncode}"
        return LeanVerdict(
            "error", result.messages, f"Lean failed: {detail}", seconds=result.seconds, source=source
        )
    return None


def check_statement(
    backend, header: str, statement: str, denylist=DEFAULT_DENYLIST, sorry_term: str | None = None
) -> LeanVerdict:
    """A formal statement: must compile; `sorry` (as its proof) is allowed. `sorry_term`, if
    given, is what `sorry` / `by sorry` is compiled as (for a Lean without the `sorry` elaborator)."""
    body = strip_comments(statement)
    if sorry_term:
        body = _SORRY_PROOF.sub(f"({sorry_term})", body)
    denied = [t for t in denied_constructs(body, denylist) if t not in ("sorry", "admit", "sorryAx")]
    if denied:
        return LeanVerdict("rejected", reason=f"denied construct(s): {', '.join(denied)}", source=body)
    source = assemble(header, body)
    result = backend.check(header, body)
    failed = _verdict_from(result, source)
    if failed is not None:
        return failed
    return LeanVerdict("ok", result.messages, seconds=result.seconds, source=source)


def check_proof(
    backend,
    header: str,
    statement: str,
    proof: str,
    allowed_axioms=STANDARD_AXIOMS,
    denylist=DEFAULT_DENYLIST,
) -> LeanVerdict:
    """A proof of the trusted `statement`, accepted only without errors, without sorry, and with
    axioms in `allowed_axioms`. Without helper declarations the model's theorem body is
    re-stitched onto the statement; with them, the model's whole code is compiled and Lean checks
    that its theorem proves the statement (`mathforge.lean.auxiliary`). Either way the compiled
    code is first checked for denylisted constructs, options and attributes."""
    name = theorem_name(statement)
    code = auxiliary.answer_code(proof, header, statement)
    start = target_start(code, name)
    if start is not None and auxiliary.has_auxiliary(code[:start], name):
        return _check_with_helpers(backend, header, statement, name, code, allowed_axioms, denylist)
    stitched = stitch_proof(statement, proof)
    if stitched is None:
        return LeanVerdict("rejected", reason=f"no proof of theorem {name!r} found in the output")
    refused = _refused(stitched.split(":=", 1)[1] if ":=" in stitched else stitched, denylist, stitched)
    if refused is not None:
        return refused
    body = f"{stitched.strip()}\n\n#print axioms {name}"
    offset = body_line_offset(header)
    source = assemble(header, body)
    result = backend.check(header, body)
    verdict = _judge(result, source, name, offset + stitched.strip().count("\n") + 3, allowed_axioms)
    return _with_code(verdict, stitched.strip(), offset)


def _check_with_helpers(backend, header, statement, name, code, allowed_axioms, denylist) -> LeanVerdict:
    """The model's code with its helpers, after the trusted statement and before the check that
    its theorem `name` proves that statement."""
    refused = _refused(code, denylist, code) or _reason_verdict(
        auxiliary.refused_names(code, name, header, statement), code
    )
    if refused is not None:
        return _with_code(refused, code, None)
    trusted = auxiliary.trusted_axiom(statement)
    body = f"{trusted}\n\n{code}\n\n{auxiliary.statement_check(name)}"
    offset = body_line_offset(header) + trusted.count("\n") + 2
    check_line = offset + code.count("\n") + 3
    source = assemble(header, body)
    result = backend.check(header, body)
    errors = [m for m in result.messages if m.is_error]
    if errors and all(m.line is not None and m.line >= check_line for m in errors) and not result.timed_out:
        reason = f"the theorem `{name}` (top level) does not prove the given statement: {errors[0].text}"
        verdict = LeanVerdict("rejected", result.messages, reason, seconds=result.seconds, source=source)
    else:
        verdict = _judge(result, source, auxiliary.CHECK_THEOREM, check_line + 2, allowed_axioms)
    return _with_code(verdict, code, offset)


def _with_code(verdict: LeanVerdict, code: str, offset: int | None) -> LeanVerdict:
    verdict.code, verdict.code_offset = code, offset
    return verdict


def _reason_verdict(reason: str | None, source: str) -> LeanVerdict | None:
    return None if reason is None else LeanVerdict("rejected", reason=reason, source=source)


def _refused(code: str, denylist, source: str) -> LeanVerdict | None:
    """The verdict when `code` (what the model's output puts before Lean) must not be compiled."""
    denied = denied_constructs(code, denylist)
    if denied:
        status = "has_sorry" if set(denied) <= {"sorry", "admit", "sorryAx"} else "rejected"
        return LeanVerdict(status, reason=f"denied construct(s): {', '.join(denied)}", source=source)
    options = refused_options(code)
    if options:
        reason = f"refused option(s): {', '.join(f'set_option {o}' for o in options)}"
        return LeanVerdict("rejected", reason=reason, source=source)
    attributes = refused_attributes(code)
    if attributes:
        return LeanVerdict("rejected", reason=f"refused attribute(s): {', '.join(attributes)}", source=source)
    return None


def _judge(result: CompileResult, source: str, name: str, axioms_line: int, allowed_axioms) -> LeanVerdict:
    """The verdict on a compiled proof whose `#print axioms name` is on line `axioms_line`: only
    that command's report counts (the model's code can print any text, e.g. with `#print "..."`)."""
    failed = _verdict_from(result, source)
    if failed is not None:
        return failed
    if any(m.is_sorry for m in result.messages):
        return LeanVerdict(
            "has_sorry", result.messages, "declaration uses sorry", seconds=result.seconds, source=source
        )
    axioms = axioms_of([m for m in result.messages if m.line == axioms_line], name)
    if axioms is None:  # e.g. `#exit` hid the rest of the file: nothing was checked
        reason = "no `#print axioms` report: the theorem was not checked"
        return LeanVerdict("rejected", result.messages, reason, seconds=result.seconds, source=source)
    foreign = [a for a in axioms if a not in allowed_axioms]
    if foreign:
        status = "has_sorry" if foreign == ["sorryAx"] else "rejected"
        return LeanVerdict(status, result.messages, f"uses axiom(s): {', '.join(foreign)}", axioms,
                           result.seconds, source)  # fmt: skip
    return LeanVerdict("ok", result.messages, axioms=axioms, seconds=result.seconds, source=source)
