"""``python -m zoo.autoencode``: the command of :mod:`zoo.apps.autoencode`."""

from zoo.apps.autoencode import main
from zoo.apps.command import run_command

if __name__ == "__main__":
    run_command(main)
