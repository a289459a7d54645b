"""Grading final answers: normalization, symbolic equivalence, the LLM judge, the vote and the
judged rows, shared by judging, the forum rewrites, autoformalization and the solver evaluation."""
