"""The forum_cot stage: a forum solution post rewritten by a model into a step-by-step solution."""
