"""sohoa processing library: pure functions over images, bytes and dataclasses.

Never imports Prefect. Environment and settings are read by ``flows/`` and the CLI.
"""
