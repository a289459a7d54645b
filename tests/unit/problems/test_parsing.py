"""Parsing LLM answers: the problem list (extract_problems) and the forum answer (extract_answers)."""

from __future__ import annotations

import pytest

from mathforge.problems.forum_answers import parse_answer
from mathforge.problems.stage import parse_problems


class TestParseProblems:
    def test_numbered_list(self) -> None:
        text = "Problem 1: Find all $x$ with $x^2 = 1$.\nProblem 2: Prove that $\\sqrt 2$ is irrational."
        assert parse_problems(text) == (
            ["Find all $x$ with $x^2 = 1$.", "Prove that $\\sqrt 2$ is irrational."],
            "ok",
        )

    def test_multiline_problem_bodies_are_kept_whole(self) -> None:
        text = "Problem 1: Let $a,b>0$.\n\nShow that\n$$a+b \\ge 2\\sqrt{ab}.$$\n\nProblem 2: Compute $2+2$."
        problems, status = parse_problems(text)
        assert status == "ok"
        assert problems == ["Let $a,b>0$.\n\nShow that\n$$a+b \\ge 2\\sqrt{ab}.$$", "Compute $2+2$."]

    @pytest.mark.parametrize(
        "text",
        [
            "**Problem 1:** x\n**Problem 2:** y",
            "Problem 1. x\nProblem 2) y",
            "### Problem 1: x\n> Problem 2: y",
            "problem 1 : x\nPROBLEM 2: y",
        ],
    )
    def test_header_variants(self, text: str) -> None:
        problems, status = parse_problems(text)
        assert status == "ok"
        assert [p.strip("*- ") for p in problems] == ["x", "y"]

    def test_preamble_before_the_first_header_is_ignored(self) -> None:
        assert parse_problems("Here are the problems I found:\n\nProblem 1: x") == (["x"], "ok")

    def test_header_must_start_a_line(self) -> None:
        assert parse_problems("See Problem 1: inside a sentence") == ([], "unparseable")

    @pytest.mark.parametrize(
        "text", ["No problems identified.", "no problem found", "There are NO  PROBLEMS FOUND here"]
    )
    def test_explicit_none(self, text: str) -> None:
        assert parse_problems(text) == ([], "none")

    def test_header_followed_by_none_marker(self) -> None:
        assert parse_problems("Problem 1: No problems identified.") == ([], "none")

    def test_empty_bodies_are_skipped(self) -> None:
        assert parse_problems("Problem 1:\nProblem 2: real one\nProblem 3: --") == (["real one"], "ok")

    @pytest.mark.parametrize("text", ["", "I think the answer is 4.", "1. Find x."])
    def test_unparseable(self, text: str) -> None:
        assert parse_problems(text) == ([], "unparseable")


class TestParseAnswer:
    @pytest.mark.parametrize(
        ("text", "answer"),
        [
            ("The answer is $\\boxed{42}$.", "42"),
            ("so $\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"),
            ("first \\boxed{1}, corrected: \\boxed{2}", "2"),
            ("\\boxed 7", "7"),
            ("\\boxed{ x = 3 }", "x = 3"),
        ],
    )
    def test_found(self, text: str, answer: str) -> None:
        assert parse_answer(text) == (answer, "found")

    @pytest.mark.parametrize(
        "text", ["Answer not found.", "ANSWER NOT\nFOUND", "answer  not found in the thread"]
    )
    def test_not_found(self, text: str) -> None:
        assert parse_answer(text) == (None, "not_found")

    @pytest.mark.parametrize("text", ["", "The answer is 42.", "\\boxed{}", "\\boxed{unclosed"])
    def test_unparseable(self, text: str) -> None:
        assert parse_answer(text) == (None, "unparseable")

    def test_boxed_wins_over_not_found(self) -> None:
        assert parse_answer("Answer not found at first, but then \\boxed{5}") == ("5", "found")

    def test_empty_box_with_not_found(self) -> None:
        assert parse_answer("\\boxed{} answer not found") == (None, "not_found")
