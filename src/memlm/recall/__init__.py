"""The read path: attention over memory (lexical + dense recall, time, neighbours, hops)."""
