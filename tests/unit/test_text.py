"""mathforge.text: last \\boxed{...} answer and yes/no label parsing."""

from __future__ import annotations

import pytest

from mathforge.text import last_boxed, parse_label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{5}", "5"),
        ("The answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("\\boxed{\\sqrt{a^{2}+b^{2}}}", "\\sqrt{a^{2}+b^{2}}"),  # nested braces
        ("\\boxed{ {a}{b} }", "{a}{b}"),
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces do not count
        ("\\boxed{\\}}", "\\}"),
        ("\\boxed{a \\\\ b}", "a \\\\ b"),  # an escaped backslash does not escape the brace after it
        ("\\boxed 5", "5"),  # brace-less
        ("$\\boxed 5$", "5"),  # stops at the closing dollar
        ("\\boxed   -3 and more", "-3"),
        ("\\boxed\n{7}", "7"),
        ("\\fbox{3}", "3"),
        ("\\boxed{}", ""),
    ],
)
def test_last_boxed_content(text: str, expected: str) -> None:
    assert last_boxed(text) == expected


def test_multiple_boxed_the_last_wins() -> None:
    assert last_boxed("First \\boxed{1}, then \\boxed{2}, finally \\boxed{\\pi}.") == "\\pi"


def test_unclosed_last_box_falls_back_to_an_earlier_one() -> None:
    assert last_boxed("\\boxed{1} and then \\boxed{2") == "1"


@pytest.mark.parametrize(
    "text", ["", "no box here", "\\boxed{", "\\boxed{\\frac{1}{2}", "\\boxed", "\\boxed $"]
)
def test_last_boxed_none(text: str) -> None:
    assert last_boxed(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("proof", True),
        ("Proof", True),
        ("not proof", False),
        ("Not Proof.", False),
        ("**not proof**", False),  # markdown bold is ignored
        ("**proof**", True),
        ("not **proof**", False),  # bold only on the second word is still the negative label
        ("**Not** proof", False),
        ("not `proof`", False),
        ("`not proof`", False),
        ("Label: not\nproof", False),  # whitespace between the words is normalized
        ("The question asks proof or not proof. Answer: proof", True),  # the last label wins
        ("I first thought proof, but it is not proof.", False),
        ("disproof", None),  # not a whole word
        ("proofs", None),
        ("nothing relevant", None),
        ("", None),
    ],
)
def test_parse_label_proof(text: str, expected: bool | None) -> None:
    assert parse_label(text, "proof", "not proof") is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("No.", False),
        ("Is it yes or no? **Yes**", True),
        ("eyes", None),  # 'yes' inside a word is not a label
        ("nobody knows", None),
    ],
)
def test_parse_label_yes_no(text: str, expected: bool | None) -> None:
    assert parse_label(text, "yes", "no") is expected


def test_parse_label_labels_are_literal_not_regex() -> None:
    assert parse_label("a.b", "a.b", "c+") is True
    assert parse_label("axb", "a.b", "c+") is None
    assert parse_label("c+", "a.b", "c+") is False
