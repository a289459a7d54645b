"""mathforge: raw math forum data -> training data for math reasoning and Lean 4 proving."""

__version__ = "0.1.0"
