"""Bounds on what one value may make the zoo allocate or write, checked before the work.

A model argument (``latent_dim=2000000000``), a data size (``data.length``,
``data.image_size``) or a folder named in a config decides how much memory a run takes and
where it writes. :func:`check_fits_memory` refuses, in one line naming the value, a size that
could never fit this machine's memory, before anything is allocated: the allocation would
otherwise fail with the allocator's raw error, or succeed lazily and bring the out-of-memory
killer. :func:`check_writable_folder` refuses a folder that cannot be written, before training
starts rather than at the first checkpoint. :func:`choose_cpu_settings` chooses, from the
machine's load when a command starts, how OpenMP's idle threads wait.

This module imports nothing of zoo but :mod:`zoo.errors` (the registry uses it), and not torch.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from zoo.errors import ZooError

# Where the platform cannot say how much memory it has (Windows): 64 GiB.
FALLBACK_MEMORY_BYTES = 64 * 2**30


def memory_bytes() -> int:
    """This machine's physical memory in bytes."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return FALLBACK_MEMORY_BYTES


def human_bytes(count: float) -> str:
    """``count`` bytes as "12.0 TB" (powers of 1000)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if count < 1000 or unit == "PB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def check_fits_memory(nbytes: int, what: str, advice: str) -> None:
    """Refuse ``what`` (a sentence's subject naming the values that make it, e.g. "model 'vae'
    with latent_dim=2000000000") when its ``nbytes`` exceed this machine's memory."""
    available = memory_bytes()
    if nbytes > available:
        raise ZooError(
            f"{what} would take {human_bytes(nbytes)} of memory, more than this machine's "
            f"{human_bytes(available)}; {advice}"
        )


def check_writable_folder(path: str | os.PathLike, key: str) -> None:
    """Refuse a folder the run cannot write: one under a file, or one whose nearest existing
    folder refuses a new file (read-only, not ours, a pseudo file system such as /proc). A
    file is created there and removed at once; nothing else is created."""
    folder = Path(path).expanduser().absolute()
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ZooError(f"{key} {str(path)!r} cannot be written: {str(existing)!r} is a file.")
    try:
        handle, probe = tempfile.mkstemp(prefix=".zoo-write-check-", dir=existing)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ZooError(
            f"{key} {str(path)!r} cannot be written ({reason} in {str(existing)!r}); give a "
            "folder this user can write."
        ) from None
    os.close(handle)
    os.unlink(probe)


def check_name_inside(value: object, key: str, folder: str) -> None:
    """Refuse a name that becomes a path under ``folder`` but would leave it: an absolute
    path, or one with a ``..`` component (``logger.csv.name=../../../tmp/x``)."""
    if not isinstance(value, str) or not value:
        return
    parts = Path(value).parts
    if Path(value).is_absolute() or value.startswith("~") or ".." in parts:
        raise ZooError(
            f"{key}={value!r} would write outside {folder}; give a plain name (sub-folders "
            "with '/' are allowed, '..' and absolute paths are not)."
        )


# The share of the cores other work may keep busy for idle OpenMP threads to spin.
QUIET_LOAD_SHARE = 0.5
_chosen: dict[str, Any] = {}


def machine_load(samples: int = 5, interval: float = 0.01) -> tuple[float, int | None, int]:
    """The 1-minute load average, the processes other than this one running now (the median of
    ``samples`` readings ``interval`` seconds apart; None where the system does not say) and
    the cores this process may use."""
    import statistics
    import time

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    readings: list[tuple[float, int]] = []
    try:
        for index in range(samples):
            if index:
                time.sleep(interval)
            fields = Path("/proc/loadavg").read_text().split()
            readings.append((float(fields[0]), max(0, int(fields[3].split("/")[0]) - 1)))
    except (OSError, IndexError, ValueError):
        readings = []
    if readings:
        return readings[-1][0], int(statistics.median(r[1] for r in readings)), cores
    try:
        return os.getloadavg()[0], None, cores
    except (AttributeError, OSError):  # Windows
        return float(cores), None, cores


def choose_cpu_settings(environ: MutableMapping[str, str] = os.environ) -> dict[str, Any]:
    """Choose how OpenMP's idle threads wait, before torch is imported (it reads
    ``OMP_WAIT_POLICY`` once, as it loads), and return the choice and what it was made from,
    which results.json records. A value the user set is kept.

    Measured on 2 cores (README, "Threads"): a LeNet-5 epoch of the digits takes 85 ms with
    threads spinning between parallel operations (OpenMP's default) against 155 ms with them
    sleeping (``PASSIVE``) on a quiet machine, but 1,150-2,700 ms against 330-560 ms while
    another CPU-bound process runs: spinning threads wait for cores the other work holds. So
    the threads keep OpenMP's default (spinning a while) only on a quiet machine (under half
    the cores running other processes, read over 40 ms; the 1-minute load average where the
    system does not say), and sleep (``PASSIVE``) otherwise, where guessing wrong costs far
    less. On a quiet machine the variable stays unset (OpenMP's default; an empty value would
    make libgomp print a warning) and the choice is recorded as ``"default"``.
    """
    if "OMP_WAIT_POLICY" in environ:
        choice = {"omp_wait_policy": environ["OMP_WAIT_POLICY"], "chosen_by": "the environment"}
    else:
        load, others, cores = machine_load()
        # the processes running now where the system says (the load average lags a minute
        # behind: work that just ended still counts there), else the load average
        busy = load if others is None else others
        quiet = busy < QUIET_LOAD_SHARE * cores
        running = "" if others is None else f", {others} other processes running"
        if not quiet:
            environ["OMP_WAIT_POLICY"] = "PASSIVE"
        choice = {
            "omp_wait_policy": "default" if quiet else "PASSIVE",
            "chosen_by": f"load {load:.2f} on {cores} cores{running}",
        }
    _chosen.clear()
    _chosen.update(choice)
    return dict(choice)


def cpu_settings() -> dict[str, Any]:
    """The choice :func:`choose_cpu_settings` made in this process (empty if it made none)."""
    return dict(_chosen)


def seconds_since_process_start() -> float | None:
    """Seconds since this process started, interpreter start-up included (Linux: read from
    ``/proc``, to the kernel's clock tick, usually 10 ms); None where the system does not say.
    A run records it at its first training step as its start-up time (results.json)."""
    try:
        # field 22 of /proc/self/stat: the start time in clock ticks after boot; the command
        # name (field 2) may hold spaces, so count from the closing parenthesis
        started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - started / os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError, AttributeError):  # not Linux
        return None


def exit_without_teardown(code: object = 0) -> None:
    """End the process as ``sys.exit(code)`` would, less the interpreter's teardown.

    After a run, Python spends 1.5 s (2 cores) freeing the modules torch, Lightning and
    torchmetrics loaded, against 0.6 s for torch alone: work no one sees, since the process
    ends. Everything a normal exit does that has an effect still happens, in its order: the
    threads that are not daemons are joined, the ``atexit`` handlers run (logging's flush,
    loggers' own), and the standard streams are flushed; then the process exits with the
    status ``sys.exit(code)`` gives (a message for a string code goes to stderr, status 1)."""
    import atexit
    import contextlib
    import sys
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(status & 0xFF)
