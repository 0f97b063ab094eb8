"""Training utilities: data sets (``data``) and the network trainer."""
