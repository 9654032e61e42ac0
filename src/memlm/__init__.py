"""memlm: memory for language models."""
