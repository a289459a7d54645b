"""Inference: an async OpenAI-compatible client, managed vLLM servers, resumable generation."""
