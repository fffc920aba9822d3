"""``python -m zoo.predict``: the command of :mod:`zoo.apps.predict`."""

from zoo.apps.command import run_command
from zoo.apps.predict import main

if __name__ == "__main__":
    run_command(main)
