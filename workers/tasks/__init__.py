"""Thin tasks: each loads by id and calls one service in pipeline/. One module per area."""
