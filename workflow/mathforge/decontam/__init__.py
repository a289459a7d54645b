"""Benchmark decontamination (dense + lexical retrieval, LLM judge) and semantic dedup."""
