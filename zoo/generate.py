"""``python -m zoo.generate``: the command of :mod:`zoo.apps.generate`."""

from zoo.apps.command import run_command
from zoo.apps.generate import main

if __name__ == "__main__":
    run_command(main)
