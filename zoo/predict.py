"""``python -m zoo.predict``: the command of :mod:`zoo.apps.predict`."""

from zoo.resources import choose_cpu_settings

choose_cpu_settings()  # before torch is imported: how OpenMP's idle threads wait, from the load

from zoo.apps.command import run_command  # noqa: E402
from zoo.apps.predict import main  # noqa: E402

if __name__ == "__main__":
    run_command(main)
