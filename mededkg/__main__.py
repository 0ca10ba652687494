"""``python -m mededkg`` is the ``mededkg`` command."""

from mededkg.cli import main

main()
