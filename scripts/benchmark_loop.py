"""Benchmark: one epoch through zoo's task and Lightning trainer against a plain PyTorch loop.

    python scripts/benchmark_loop.py          # prints the table and writes it into README
    python scripts/benchmark_loop.py ResNet-20   # re-measures one case (results/measurements)
    python scripts/benchmark_loop.py --hooks  # where the default run's epoch time goes

For the default run (LeNet-5 on the digits) and for ResNet-20 on the digits (a larger step):

- zoo: ``zoo.training.run.train`` on the config ``python train.py`` composes (its default callbacks
  and CSV logger, the progress bar included), an epoch being the time between the starts of
  two training epochs (training, validation, checkpoints, logging);
- zoo without checkpoints: the same with its two checkpoint callbacks off (what writing
  last.ckpt and the best checkpoint each epoch costs);
- plain: a hand-written loop over the same model, tensors, batch size, augmentation,
  normalization, optimizer and learning-rate schedule, with the same validation pass;
- bare Lightning: a minimal LightningModule around the same model (no metrics, no logging,
  no callbacks, no checkpoints) under the same Trainer, Lightning's own per-step floor.

The four run in one process, each in a thread of its own, taking turns epoch by epoch (one
epoch of each, then the next of each, the order rotating between rounds): this machine's
speed drifts by 10-20% between runs a minute apart, and epochs made side by side, in the
same process and heap, see the same machine. Each ratio is the median over every pair of
epochs run side by side after the first (each round in a fresh process; the range of the
rounds' medians is printed beside it). An epoch of the zoo includes waiting for its
background checkpoint writes, so that no way's epoch pays for another's.

The plain loop runs inside the zoo's process, for the epoch-by-epoch alternation, so both
get the same settings: the default environment (this script sets no OpenMP variable, and
runs itself again without any that the zoo's scripts set: ``readme_tables.ZOO_VARIABLES``).
So the zoo's side here runs without the ``OMP_WAIT_POLICY=PASSIVE`` that train.py sets, and
the ratios measure the training loop, not the settings. The whole ``python train.py``
against a plain script in a process of its own is ``scripts/benchmark_train_py.py``.
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from readme_tables import RESULTS_DIR, in_default_environment, machine, write_table  # noqa: E402

in_default_environment()  # before torch is imported

import lightning as L  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from run_config import compose_run  # noqa: E402

from zoo.tasks.optim import parameter_groups  # noqa: E402
from zoo.training.checkpointing import AtomicCheckpointIO  # noqa: E402
from zoo.training.run import build_model, build_task, train  # noqa: E402

EPOCHS = 6  # of the hook breakdown's runs
# overrides, rounds and epochs of each case
CASES = {
    "LeNet-5 (default run)": ([], 5, 12),
    "ResNet-20": (["model=resnet20"], 3, 8),
}
# Each case's measured seconds, kept so that one case can be re-measured alone.
STORE = RESULTS_DIR / "measurements" / "loop.json"


def stamp() -> tuple[float, float]:
    """The wall clock and the process's CPU time (all its threads), in seconds."""
    return time.perf_counter(), time.process_time()


class Turns:
    """Threads that run one epoch at a time, in turn: each waits for its turn, runs until its
    next epoch starts, and hands over to the next thread that has not finished. Records the
    wall and CPU seconds of each thread's turns (the CPU time of the whole process, which only
    the thread whose turn it is uses: the others wait)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.turn = 0
        self.finished: set[str] = set()
        self.condition = threading.Condition()
        self.turns: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        self._started: dict[str, tuple[float, float]] = {}

    def begin(self, name: str) -> None:
        self._wait(name)
        self._started[name] = stamp()

    def epoch_started(self, name: str) -> None:
        ended = stamp()
        self.turns[name].append(tuple(b - a for a, b in zip(self._started[name], ended)))
        self._hand_over()
        self._wait(name)
        self._started[name] = stamp()

    def finish(self, name: str) -> None:
        with self.condition:
            self.finished.add(name)
        self._hand_over()

    def _wait(self, name: str) -> None:
        with self.condition:
            self.condition.wait_for(lambda: self.names[self.turn] == name)

    def _hand_over(self) -> None:
        with self.condition:
            for step in range(1, len(self.names) + 1):
                following = (self.turn + step) % len(self.names)
                if self.names[following] not in self.finished:
                    self.turn = following
                    break
            self.condition.notify_all()


# This thread's epoch starts and, in an interleaved round, its name and the round's Turns.
_THREAD = threading.local()


def epoch_started() -> None:
    """Record that this thread's training epoch starts (and, taking turns, hand over)."""
    _THREAD.starts.append(stamp())
    turns = getattr(_THREAD, "turns", None)
    if turns is not None:
        turns.epoch_started(_THREAD.name)


class EpochTimer(L.Callback):
    """Records when each training epoch starts, once the zoo's background checkpoint writes
    are done (so that an epoch's writes count in that epoch)."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        checkpoint_io = getattr(trainer.strategy, "checkpoint_io", None)
        if isinstance(checkpoint_io, AtomicCheckpointIO):
            checkpoint_io._raise_failures(wait=True)
        epoch_started()


def epoch_seconds(starts: list[tuple[float, float]]) -> tuple[float, float]:
    """The median epoch after the first (start-up and first-call costs excluded), in wall
    time and in CPU time."""
    pairs = list(itertools.pairwise(starts[1:]))
    return (
        statistics.median(b[0] - a[0] for a, b in pairs),
        statistics.median(b[1] - a[1] for a, b in pairs),
    )


def configure(overrides: list[str], run_dir: Path, epochs: int = EPOCHS):
    """The run of ``overrides`` for ``epochs`` epochs, its epoch starts timed."""
    return compose_run(
        [*overrides, f"trainer.max_epochs={epochs}"], run_dir, {"epoch_timer": EpochTimer}
    )


def zoo_epoch(cfg) -> tuple[float, float]:
    _THREAD.starts = []
    train(cfg)
    return epoch_seconds(_THREAD.starts)


def plain_epoch(cfg) -> tuple[float, float]:
    """The same work in a hand-written loop."""
    L.seed_everything(cfg.seed)
    data = instantiate(cfg.data)
    data.setup("fit")
    model = build_model(cfg)
    task = build_task(cfg, model)  # only for its augmentation and optimizer/scheduler setup
    augmentation, normalization = task.augmentation, data.normalization
    optimizer = instantiate(cfg.optimizer)(parameter_groups(model, 0.0))
    steps_per_epoch = -(-len(data.splits["train"][0]) // data.batch_size)
    scheduler = instantiate(cfg.scheduler)(
        optimizer,
        total_steps=steps_per_epoch * cfg.trainer.max_epochs,
        steps_per_epoch=steps_per_epoch,
    )["scheduler"]
    (x_train, y_train), (x_val, y_val) = data.splits["train"], data.splits["val"]
    _THREAD.starts = []
    for _ in range(cfg.trainer.max_epochs):
        epoch_started()
        model.train()
        for index in torch.randperm(len(x_train)).split(data.batch_size):
            x = normalization(augmentation(x_train[index]))
            loss = F.cross_entropy(model(x), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        model.eval()
        with torch.no_grad():
            for x, y in zip(x_val.split(data.eval_batch_size), y_val.split(data.eval_batch_size)):
                (model(normalization(x)).argmax(1) == y).float().mean()
    return epoch_seconds(_THREAD.starts)


class BareModule(L.LightningModule):
    """Lightning's floor: the same model, loss, optimizer and schedule, nothing else."""

    def __init__(self, model, optimizer_factory, scheduler_factory, augmentation, normalization):
        super().__init__()
        self.model = model
        self.optimizer_factory, self.scheduler_factory = optimizer_factory, scheduler_factory
        self.augmentation, self.normalization = augmentation, normalization

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self.model(self.normalization(self.augmentation(x))), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        (self.model(self.normalization(x)).argmax(1) == y).float().mean()

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(parameter_groups(self.model, 0.0))
        steps = int(self.trainer.estimated_stepping_batches)
        schedule = self.scheduler_factory(
            optimizer, total_steps=steps, steps_per_epoch=steps // self.trainer.max_epochs
        )
        return {"optimizer": optimizer, "lr_scheduler": schedule}


def bare_epoch(cfg, extra_callbacks: list[L.Callback] = ()) -> tuple[float, float]:
    L.seed_everything(cfg.seed)
    data = instantiate(cfg.data)
    data.setup("fit")
    model = build_model(cfg)
    task = build_task(cfg, model)
    module = BareModule(
        model,
        instantiate(cfg.optimizer),
        instantiate(cfg.scheduler),
        task.augmentation,
        data.normalization,
    )
    _THREAD.starts = []
    trainer = L.Trainer(
        max_epochs=cfg.trainer.max_epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[EpochTimer(), *extra_callbacks],
        num_sanity_val_steps=0,
    )
    trainer.fit(
        module, train_dataloaders=data.train_dataloader(), val_dataloaders=data.val_dataloader()
    )
    return epoch_seconds(_THREAD.starts)


# Each way: the function that times it and the overrides it adds to the case's.
WAYS = {
    "plain": (plain_epoch, []),
    "bare": (bare_epoch, []),
    "zoo": (zoo_epoch, []),
    # the zoo with its checkpoints off: where the rest of its time goes
    "zoo_no_checkpoints": (
        zoo_epoch,
        [
            "callbacks.model_checkpoint=null",
            # else Lightning adds its own checkpoint callback, which writes every epoch
            "+trainer.enable_checkpointing=false",
        ],
    ),
}


class HookTimes:
    """Main-thread CPU time inside Lightning's hooks, exclusive of the hooks they call: the
    module's hooks (``training_step`` is the forward pass and loss, ``backward`` autograd,
    ``optimizer_step`` the update around them), each callback's own code, and Lightning's
    dispatch of every hook to every callback (the trainer calls each hook on each callback,
    most of them no-ops, at every step). Counted from the second epoch on, for each thread
    (each way of a round) on its own."""

    def __init__(self) -> None:
        self._thread = threading.local()

    @property
    def seconds(self) -> Counter[str]:
        if not hasattr(self._thread, "seconds"):
            self._thread.seconds = Counter()
        return self._thread.seconds

    @property
    def counting(self) -> bool:
        return getattr(self._thread, "counting", False)

    @counting.setter
    def counting(self, value: bool) -> None:
        self._thread.counting = value
        self._thread.children = []  # CPU time of the timed calls inside each open one

    def timed(self, function, key: str):
        return lambda *args, **kwargs: self.call(function, key, args, kwargs)

    def call(self, function, key: str, args: tuple, kwargs: dict):
        """``function(*args, **kwargs)``, its CPU time less its timed callees' added to key."""
        if not self.counting:
            return function(*args, **kwargs)
        children = self._thread.children
        children.append(0.0)
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.thread_time() - started
            self.seconds[key] += elapsed - children.pop()
            if children:
                children[-1] += elapsed

    def install(self) -> None:
        """Time Lightning's hook calls (its private ``trainer.call`` functions: a
        measurement, not something the zoo relies on)."""
        from lightning.pytorch.trainer import call

        for name, owner in [
            ("_call_callback_hooks", "dispatch"),
            ("_call_lightning_module_hook", "module"),
            ("_call_strategy_hook", "module"),
        ]:
            function = getattr(call, name)
            setattr(call, name, self.timed_by_name(function, owner))

    def timed_by_name(self, function, owner: str):
        def wrapper(trainer, hook_name, *args, **kwargs):
            key = "dispatch" if owner == "dispatch" else f"module:{hook_name}"
            return self.call(function, key, (trainer, hook_name, *args), kwargs)

        return wrapper

    def wrap_callbacks(self, trainer: L.Trainer) -> None:
        """Time each callback's own hook methods."""
        hooks = [name for name in vars(L.Callback) if name.startswith("on_")]
        for callback in trainer.callbacks:
            for hook in hooks:
                method = getattr(callback, hook)
                setattr(callback, hook, self.timed(method, f"own:{type(callback).__name__}"))


HOOK_TIMES = HookTimes()


class HookCounting(L.Callback):
    """Counts :data:`HOOK_TIMES`, and the training loop's thread's CPU time, from the second
    training epoch to the end of training (its callbacks' hooks wrapped)."""

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        HOOK_TIMES.wrap_callbacks(trainer)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == 1:
            HOOK_TIMES.counting = True
            HOOK_TIMES.seconds["start"] = -time.thread_time()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        HOOK_TIMES.counting = False
        HOOK_TIMES.seconds["epochs"] = HOOK_TIMES.seconds.pop("start") + time.thread_time()


def hooks_round(order: list[str]) -> dict[str, dict[str, float]]:
    """Milliseconds of main-thread CPU per epoch in each hook group of the default run and
    of bare Lightning (with each epoch's total main-thread CPU time), the two taking turns
    epoch by epoch in ``order``."""
    HOOK_TIMES.install()
    console_per_thread()
    with tempfile.TemporaryDirectory() as folder:
        configs = {
            way: compose_run(
                [f"trainer.max_epochs={EPOCHS}"],
                Path(folder) / way,
                {"epoch_timer": EpochTimer, "hook_counting": HookCounting},
            )
            for way in order
        }

        def work(way: str) -> dict[str, float]:
            if way == "bare":
                bare_epoch(configs[way], extra_callbacks=[HookCounting()])
            else:
                zoo_epoch(configs[way])
            times = {key: s * 1e3 / (EPOCHS - 1) for key, s in HOOK_TIMES.seconds.items()}
            times["epoch"] = times.pop("epochs")
            return times

        return take_turns(order, work)[1]


HOOK_ROUNDS = 5


def round_in_a_process(arguments: list[str]) -> dict:
    """What this script prints (JSON) when run with ``arguments``, in a fresh process."""
    command = [sys.executable, __file__, *arguments]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def hooks_main() -> None:
    """Where the default run's epoch goes, hook by hook, against bare Lightning's: the
    median over rounds (each a process of its own, the two ways taking turns epoch by
    epoch, the order alternating)."""
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "zoo": []}
    for round_index in range(HOOK_ROUNDS):
        order = list(runs)[:: 1 if round_index % 2 == 0 else -1]
        measured = round_in_a_process(["--hooks-round", ",".join(order)])
        for way in runs:
            runs[way].append(measured[way])
    results = {
        way: {
            key: statistics.median(run.get(key, 0.0) for run in measured)
            for key in set().union(*measured)
        }
        for way, measured in runs.items()
    }
    bare, ours = results["bare"], results["zoo"]
    keys = [key for key in ours if key != "epoch"]
    keys.sort(key=lambda key: -(ours[key] - bare.get(key, 0.0)))
    label = {"dispatch": "Lightning's dispatch of callback hooks"}
    rows = [
        (
            label.get(key)
            or (f"`{key[7:]}` (the module)" if key.startswith("module:") else f"`{key[4:]}`"),
            bare.get(key, 0.0),
            ours[key],
        )
        for key in keys
        if max(ours[key], bare.get(key, 0.0)) >= 0.3
    ]
    measured = [sum(v for k, v in run.items() if k != "epoch") for run in (bare, ours)]
    rows += [
        (
            "the rest: Lightning's loop, data, logging, the progress bar's updates",
            bare["epoch"] - measured[0],
            ours["epoch"] - measured[1],
        ),
        ("**epoch**", bare["epoch"], ours["epoch"]),
    ]
    lines = [
        "| main-thread CPU per epoch (ms) | bare Lightning | zoo | zoo - bare |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {b:.1f} | {z:.1f} | {z - b:+.1f} |" for name, b, z in rows),
    ]
    body = (
        "\n".join(lines)
        + f"\n\nThe default run ({EPOCHS} epochs, LeNet-5) and bare Lightning, {HOOK_ROUNDS} "
        "rounds, in each the two side by side in one process taking turns epoch by epoch "
        "(medians over the rounds, so the rows need not add up exactly): CPU time "
        "of the training loop's thread per epoch, from the second epoch "
        "on, in each hook exclusive of the hooks it calls (`training_step`: the forward pass, "
        "the loss and the zoo's metric updates; `backward`: autograd; `optimizer_step`: the "
        "update; a callback's row: its own code; the benchmark's two timing callbacks are in "
        f"both runs); rows under 0.3 ms are left out; {machine()}.\n"
    )
    write_table("loop-hooks", body)


def console_per_thread() -> None:
    """Give each thread's Rich progress bar a console of its own: Lightning's bar resets
    Rich's one global console when it starts, which ends the other zoo run's live display."""
    from lightning.pytorch.callbacks.progress import rich_progress
    from rich.console import Console

    def thread_console(**kwargs: Any) -> Console:
        if not hasattr(_THREAD, "console"):
            _THREAD.console = Console(**kwargs)
        return _THREAD.console

    rich_progress.reconfigure = thread_console
    rich_progress.get_console = thread_console


def take_turns(order: list[str], work) -> tuple[Turns, dict[str, Any]]:
    """``work(way)`` for each way in a thread of its own, the threads taking turns epoch by
    epoch in ``order``; the turns taken and what each call returned."""
    turns = Turns(order)
    results: dict[str, Any] = {}
    failures: dict[str, BaseException] = {}

    def run(way: str) -> None:
        _THREAD.turns, _THREAD.name = turns, way
        turns.begin(way)
        try:
            results[way] = work(way)
        except BaseException as error:  # reported by the main thread
            failures[way] = error
        finally:
            turns.finish(way)

    threads = [threading.Thread(target=run, args=(way,), name=way) for way in order]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        way, error = next(iter(failures.items()))
        raise RuntimeError(f"{way} failed") from error
    return turns, results


def interleaved_round(overrides: list[str], epochs: int, order: list[str]) -> dict:
    """Each way's epochs (wall, CPU seconds) after the first, the ways taking turns epoch by
    epoch in ``order``, each in a thread of this process."""
    console_per_thread()
    with tempfile.TemporaryDirectory() as folder:
        configs = {
            way: configure([*overrides, *WAYS[way][1]], Path(folder) / way, epochs) for way in order
        }
        turns, _ = take_turns(order, lambda way: WAYS[way][0](configs[way]))
    # turn 0: setting up until the first epoch starts; turn 1: the first epoch (warm-up)
    return {way: turns.turns[way][2:] for way in order}


def run_rounds(overrides: list[str], rounds: int, epochs: int) -> dict[str, list]:
    """Each way's epochs in each round (a process of its own), the order rotating."""
    seconds: dict[str, list] = {way: [] for way in WAYS}
    for round_index in range(rounds):
        shift = round_index % len(WAYS)
        order = list(WAYS)[shift:] + list(WAYS)[:shift]
        measured = round_in_a_process(["--round", str(epochs), ",".join(order), *overrides])
        for way in WAYS:
            seconds[way].append(measured[way])
    return seconds


def ratio(numerator: list, denominator: list, clock: int = 0) -> str:
    """The median ratio of wall (``clock`` 0) or CPU (1) time over every pair of epochs run
    side by side, with the range of the rounds' medians."""

    def pairs(a: list, b: list) -> list[float]:
        return [x[clock] / y[clock] for x, y in zip(a, b)]  # a way may have stopped early

    per_round = [pairs(a, b) for a, b in zip(numerator, denominator, strict=True)]
    every = [r for ratios in per_round for r in ratios]
    rounds = [statistics.median(ratios) for ratios in per_round]
    return f"{statistics.median(every):.2f} ({min(rounds):.2f}-{max(rounds):.2f})"


def case_row(name: str, measured: dict) -> str:
    seconds, rounds = measured["seconds"], len(measured["seconds"]["zoo"])
    plain, bare, ours = (
        statistics.median(wall for epochs in seconds[w] for wall, _ in epochs) * 1e3
        for w in ("plain", "bare", "zoo")
    )
    return (
        f"| {name} ({rounds} × {measured['epochs']} epochs) | {plain:.0f} | {bare:.0f} "
        f"| {ours:.0f} "
        f"| {ratio(seconds['zoo'], seconds['plain'])} "
        f"| {ratio(seconds['zoo'], seconds['bare'])} "
        f"| {ratio(seconds['zoo_no_checkpoints'], seconds['bare'])} "
        f"| {ratio(seconds['zoo'], seconds['plain'], clock=1)} "
        f"| {ratio(seconds['zoo'], seconds['bare'], clock=1)} |"
    )


def main(names: list[str]) -> None:
    from zoo.weights import write_json

    unknown = sorted(set(names) - set(CASES))
    if unknown:
        cases = " or ".join(repr(case) for case in CASES)
        raise SystemExit(f"unknown case {unknown[0]!r}; the cases (quote them): {cases}")
    stored = json.loads(STORE.read_text()) if STORE.is_file() else {}
    for name in names or CASES:
        overrides, rounds, epochs = CASES[name]
        stored[name] = {
            "seconds": run_rounds(overrides, rounds, epochs),
            "epochs": epochs,
            "machine": machine(),
        }
        write_json(STORE, stored)
        print(case_row(name, stored[name]), flush=True)
    lines = [
        "| model | plain loop epoch (ms) | bare Lightning epoch (ms) | zoo epoch (ms) "
        "| zoo / plain | zoo / bare Lightning | zoo without checkpoints / bare Lightning "
        "| CPU time: zoo / plain | CPU time: zoo / bare Lightning |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(case_row(name, stored[name]) for name in CASES if name in stored),
    ]
    body = (
        "\n".join(lines)
        + "\n\nEach round (a process of its own) trains the four side by side, each in a "
        "thread, taking turns epoch by epoch (1,257 training and 180 validation digits, batch "
        "64); the epochs after the first count. The epoch columns are medians of every "
        "counted epoch (wall time); each ratio is the median over every pair of epochs run "
        "side by side, with the range of the rounds' medians in brackets; the CPU-time ratios "
        "count the work of the whole process in each epoch (the zoo's checkpoint writer "
        "included), which time other programs take from it does not change; "
        f"{'; '.join(sorted({m['machine'] for m in stored.values()}))}.\n"
    )
    write_table("loop", body)


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
    elif sys.argv[1:2] == ["--hooks"]:
        if sys.argv[2:]:
            raise SystemExit(f"--hooks takes no arguments, got {' '.join(sys.argv[2:])!r}")
        hooks_main()
    elif sys.argv[1:2] == ["--hooks-round"]:
        print(json.dumps(hooks_round(sys.argv[2].split(","))))
    elif sys.argv[1:2] == ["--round"]:
        epochs, order, overrides = int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4:]
        print(json.dumps(interleaved_round(overrides, epochs, order)))
    else:
        main(sys.argv[1:])
