"""``python -m flows.cli``: the same as the ``sohoa`` command."""

from flows.cli import entry

entry()
