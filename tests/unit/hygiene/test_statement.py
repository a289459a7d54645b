"""states_answer: a problem whose text states its own expected answer, and the givens that do not."""

from __future__ import annotations

import pytest

from mathforge.hygiene.statement import states_answer


@pytest.mark.parametrize(
    "problem, answer",
    [
        # the demo's thread t06 as the real 0.5B model extracted it
        ("Compute $\\displaystyle\\sum_{k=1}^{10} k^2$\nSum: $1^2 + 2^2 + … + 10^2 = 385$", "385"),
        ("Compute $2+3$. The answer is $5$.", "5"),
        ("Find the number of divisors of 72. (Answer: 12)", "12"),
        ("Evaluate $\\int_0^1 2x\\,dx$. Final answer: \\boxed{1}", "1"),
        ("What is the sum of the roots? It is $\\dfrac{7}{2}$.", "\\frac{7}{2}"),
        ("Compute $\\binom{5}{2}$.\n$$\\binom{5}{2} = 10.$$", "10"),
        ("Solve $2x + 7 = 19$.\n$x = 6$", "x = 6"),
        ("Find $1000 \\cdot 7$. We get $7{,}000$.\nIndeed $1000 \\cdot 7 = 7,000$", "7000"),
        ("Find the remainder when $3^{100}$ is divided by $7$. I think it is $4$.", "4"),
        ("Compute $\\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}$", "\\frac56"),
    ],
)
def test_stated_answers_are_found(problem, answer):
    assert states_answer(problem, answer) is not None


@pytest.mark.parametrize(
    "problem, answer",
    [
        ("A bag has 5 balls, 3 of them red. How many balls are in the bag?", "5"),  # a given
        ("Find $x$ if $2x = 10$.", "5"),
        ("Find $x$ if $2x = 10$.", "x = 5"),
        ("Find $x^2$ if $x = 1$.", "1"),  # the closing "= 1" is a condition
        ("If $2^x = 32$, what is $x$?", "5"),
        ("If $x + 3 = 8$, what is $x + 3$?", "8"),  # the value of a given, in a question
        ("Find $a_{10}$, where $a_1 = 1$ and $a_{n+1} = a_n + 2$.", "19"),
        ("Let $f(0) = 0$ and $f(x+1) = f(x) + 2x + 1$. Find $f(0)$.", "0"),  # given before the question
        ("Find all positive integers $n$ such that $n^2 = 16$.", "4"),
        ("How many real solutions does $x^2 = 4$ have?", "2"),
        ("Find the value of $k$ for which $2k = 6$.", "3"),
        ("Which number is 5?", "5"),
        ("Find the remainder when $3^{100}$ is divided by $7$.", "4"),
        ("Compute $2+3$.", ""),
        ("", "5"),
    ],
)
def test_givens_and_conditions_are_not_stated_answers(problem, answer):
    assert states_answer(problem, answer) is None


def test_description_says_where():
    assert states_answer("Compute $10^2$.\n$10^2 = 100$", "100") == "= 100 closes the statement"
    assert "answer" in states_answer("Compute it. The answer is 7.", "7")
