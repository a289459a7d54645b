"""Source-level handling of proofs with helper declarations, on Mathlib-style model output
(the genuine checks run on the prelude Lean in test_verify_prelude.py)."""

from __future__ import annotations

from mathforge.lean.auxiliary import (
    TRUSTED_AXIOM,
    answer_code,
    commands,
    has_auxiliary,
    refused_names,
    trusted_axiom,
)
from mathforge.lean.source import refused_attributes, refused_options, theorem_name

HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat"
STATEMENT = "theorem sq_nonneg' (x : ℝ) (h₀ : 0 ≤ x) :\n    0 ≤ x ^ 2 := by sorry"
# DeepSeek-Prover-V2 style: the whole file, header included, with a helper lemma
ANSWER = f"""{HEADER}

/-- a helper -/
lemma helper (y : ℝ) : 0 ≤ y ^ 2 := by
  positivity

theorem sq_nonneg' (x : ℝ) (h₀ : 0 ≤ x) :
    0 ≤ x ^ 2 := by
  exact helper x"""


def test_the_echoed_header_is_dropped_and_helpers_kept():
    code = answer_code(ANSWER, HEADER, STATEMENT)
    assert code.startswith("lemma helper (y : ℝ)") and "import" not in code and "open" not in code
    assert code.endswith("exact helper x") and "/--" not in code
    assert has_auxiliary(code[: code.index("theorem")], "sq_nonneg'")


def test_preambles_that_only_prepare_names_are_not_helpers():
    name = "sq_nonneg'"
    assert not has_auxiliary("open Real\n\nset_option maxHeartbeats 0 in", name)
    assert not has_auxiliary("namespace Foo\n@[simp]", name)
    assert not has_auxiliary("theorem sq_nonneg' (x : ℝ) (h₀ : 0 ≤ x) : 0 ≤ x ^ 2 := by sorry", name)
    assert has_auxiliary("noncomputable def f (x : ℝ) : ℝ := x", name)
    assert has_auxiliary("#eval 1", name)


def test_commands_split_at_column_zero():
    assert commands("def a :=\n  1\n\n  -- still a\ntheorem b : True := trivial\n") == [
        "def a :=\n  1\n\n  -- still a",
        "theorem b : True := trivial",
    ]


def test_the_trusted_statement_becomes_the_reserved_axiom():
    assert trusted_axiom(STATEMENT) == f"axiom {TRUSTED_AXIOM} (x : ℝ) (h₀ : 0 ≤ x) :\n    0 ≤ x ^ 2"
    universes = "def P := True\n\ntheorem t.{u} (α : Sort u) : P := sorry"
    assert theorem_name(universes) == "t"
    assert trusted_axiom(universes) == f"def P := True\n\naxiom {TRUSTED_AXIOM}.{{u}} (α : Sort u) : P"


def test_clashing_and_reserved_names():
    assert refused_names("lemma helper : True := trivial", "t", HEADER, STATEMENT) is None
    assert "`Foo.sq_nonneg'`" in refused_names(
        "theorem Foo.sq_nonneg' : True := trivial", "t", HEADER, STATEMENT
    )
    assert "`h₀`" in refused_names("def h₀ := 0", "sq_nonneg'", HEADER, STATEMENT)
    assert "reserved" in refused_names(f"#check {TRUSTED_AXIOM}", "sq_nonneg'", HEADER, STATEMENT)


def test_option_and_attribute_allowlists():
    code = "set_option maxHeartbeats 0 in\nset_option linter.unusedVariables false\nset_option debug.byAsSorry true"
    assert refused_options(code) == ["debug.byAsSorry"]
    assert refused_attributes("@[simp, local simp] lemma a\n@[reducible] def b\n@[-simp, csimp] c") == [
        "csimp"
    ]
    assert refused_attributes("@[implemented_by f, inline] def g") == ["implemented_by"]
    assert refused_attributes("@[command_elab Foo.bar] def h") == ["command_elab"]
