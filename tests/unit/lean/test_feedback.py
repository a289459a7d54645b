"""Compiler errors rendered for the model: code lines around each error, the span in <error>."""

from mathforge.lean.feedback import error_feedback, mark_span
from mathforge.lean.messages import LeanMessage
from mathforge.lean.verify import LeanVerdict, body_line_offset

CODE = "theorem t (a : Nat) : a = a := by\n  intro x\n  simp at x\n  rfl"


def err(line, col, end_line=None, end_col=None, text="boom"):
    return LeanMessage("error", text, line, col, end_line, end_col)


def test_single_line_span_with_context():
    lines = CODE.splitlines()
    assert mark_span(lines, err(3, 2, 3, 6), 1) == "  intro x\n  <error>simp</error> at x\n  rfl"
    assert mark_span(lines, err(3, 2, 3, 6), 0) == "  <error>simp</error> at x"


def test_multi_line_span_and_open_ended_span():
    lines = CODE.splitlines()
    assert mark_span(lines, err(2, 2, 3, 6), 0) == "  <error>intro x\n  simp</error> at x"
    assert mark_span(lines, err(4, 2), 0) == "  <error>rfl</error>"  # no end: to the end of the line


def test_positions_past_the_end_point_at_the_last_line():
    lines = CODE.splitlines()
    assert mark_span(lines, err(9, 0), 0) == "  rfl<error></error>"
    assert mark_span(lines, LeanMessage("error", "x"), 0) is None


def test_feedback_counts_from_the_header_and_caps_errors():
    header = "import Mathlib\nopen Nat"
    offset = body_line_offset(header)
    verdict = LeanVerdict(
        "error",
        [err(3 + offset, 2, 3 + offset, 6, "simp made no progress"), LeanMessage("warning", "unused"),
         err(4 + offset, 2, None, None, "second"), err(1, 0, 1, 6, "in the header")],
    )  # fmt: skip
    text = error_feedback(verdict, header, CODE, max_errors=2, context_lines=0)
    assert text == (
        "Error 1:\n```lean4\n  <error>simp</error> at x\n```\nsimp made no progress\n\n"
        "Error 2:\n```lean4\n  <error>rfl</error>\n```\nsecond"
    )
    assert "in the header" in error_feedback(verdict, header, CODE, 3)  # shown without code lines
    assert (
        error_feedback(LeanVerdict("error", [], "Lean failed: exit 134"), header, CODE, 3)
        == "Lean failed: exit 134"
    )
