"""Evaluation of models on benchmarks: the estimators (pass@k, maj@k, bootstrap intervals), the
evaluated models, and the solver evaluation (answer benchmarks). The prover evaluation lives in
mathforge.proofs.evaluate and uses the same estimators and models."""
