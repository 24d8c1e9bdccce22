"""Prefect flows, tasks and the CLI: thin wrappers over ``pipeline/``."""
