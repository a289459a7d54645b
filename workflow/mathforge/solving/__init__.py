"""Generating one solution (prompts, TIR over completions or tool calls, transcripts), shared by the
solutions stage and the solver evaluation."""
