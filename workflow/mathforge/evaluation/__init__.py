"""Evaluation of models on benchmarks: the estimators (pass@k, maj@k, bootstrap intervals) and the
evaluated models, shared by the solver evaluation (mathforge.solver_eval) and the prover
evaluation (mathforge.proofs.evaluate)."""
