"""The conversations. Each module is one feature with its own small state table."""
