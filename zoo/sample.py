"""``python -m zoo.sample``: the command of :mod:`zoo.apps.sample`."""

from zoo.apps.command import run_command
from zoo.apps.sample import main

if __name__ == "__main__":
    run_command(main)
