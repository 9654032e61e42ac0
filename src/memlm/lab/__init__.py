"""The memory lab: tasks, the one training loop, checkpoints and the report."""
