"""Subcommands of ``cnn-design`` (one module each)."""
