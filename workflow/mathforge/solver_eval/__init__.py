"""The solver evaluation stage: models on answer benchmarks (pass@k, maj@k) and its summary."""
