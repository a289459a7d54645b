"""A sandbox for model-written Python: stateful sessions in isolated, pre-started processes."""
