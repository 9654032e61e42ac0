"""The write path: input validation, chunking and the write gate."""
