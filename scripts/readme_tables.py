"""Write the README's generated tables between their markers.

    python scripts/readme_tables.py models      # the model table, from zoo.model_info
    python scripts/readme_tables.py results     # the results table, from results/*.json

The results table is filled by ``scripts/reproduce.py``, which runs the experiments first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
# Measured results, one JSON per experiment, kept in git as the README table's record.
RESULTS_DIR = REPO_ROOT / "results"


def replace_between_markers(text: str, name: str, body: str) -> str:
    """Replace what stands between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> markers")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


def machine() -> str:
    """The machine a measurement ran on, for the line under a benchmark table."""
    import os
    import platform

    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}"
    )


# What train.py and the zoo's scripts set in their own environment before torch is imported:
# a benchmark's baseline runs without them, as a user's own script would.
ZOO_VARIABLES = ("OMP_WAIT_POLICY",)


def default_environment() -> dict[str, str]:
    """This process's environment less every variable the zoo's scripts set
    (:data:`ZOO_VARIABLES`): the environment a user's own script would run in."""
    return {key: value for key, value in os.environ.items() if key not in ZOO_VARIABLES}


def in_default_environment() -> None:
    """Run this script again in :func:`default_environment` if its environment has any of
    :data:`ZOO_VARIABLES` (call it before torch is imported)."""
    if any(key in os.environ for key in ZOO_VARIABLES):
        os.execve(sys.executable, [sys.executable, *sys.argv], default_environment())


def timed_run(command: list[str], cwd: Path) -> tuple[float, str]:
    """Run ``command`` in ``cwd`` in :func:`default_environment`: its wall seconds and its
    standard output (stops this script, with the command's errors, if it fails)."""
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, env=default_environment(), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def write_table(name: str, body: str) -> None:
    """Print a measured table and write it between the README's ``name`` markers."""
    print(body)
    README.write_text(replace_between_markers(README.read_text(), name, body))


def model_table() -> str:
    from zoo import get_model_info, list_models, model_info

    lines = [
        "| model | family | params | GFLOPs | default input | min input | min input, "
        "`small_input=True` | paper |",
        "|---|---|---:|---:|---|---:|---:|---|",
    ]
    for name in list_models():
        info = model_info(name)
        size = "x".join(str(s) for s in info["default_input_size"])
        registered = get_model_info(name)
        small = (
            registered.min_input_size_for({"small_input": True})
            if "small_input" in registered.parameters
            else "-"
        )
        lines.append(
            f"| `{name}` | {info['family']} | {info['num_params']:,} | {info['flops'] / 1e9:.3f} "
            f"| {size} | {info['min_input_size'] or '-'} | {small} | {info['paper']} |"
        )
    return "\n".join(lines) + "\n"


# What the results table shows of each task kind's test metrics, in this order (those a run
# did not log are left out: an autoencoder's elbo is a VAE's alone).
TASK_METRICS = {
    "classification": ("acc", "loss"),
    "regression": ("mse", "mae"),
    "language_model": ("ppl", "loss"),
    # mse per pixel on [0, 1] images; elbo per image in nats (with task.loss=bce)
    "autoencoder": ("mse", "elbo"),
    # zoo.tasks.quality: the Fréchet distance on the digits classifier's features and the
    # Inception-Score formula with its probabilities, not comparable to published numbers
    "gan": ("fid", "classifier_score"),
}
# How a metric is named in the table, where its logged name is not the best label.
METRIC_LABELS = {"classifier_score": "classifier score"}
# Metrics whose natural precision is not _format's: a distance of tens to hundreds, a score
# between 1 and 10.
METRIC_FORMATS = {"fid": "{:.1f}", "classifier_score": "{:.2f}", "elbo": "{:.1f}"}


def _format(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def format_metric(name: str, value: float) -> str:
    """``name value`` as the results table shows a test metric."""
    shown = METRIC_FORMATS[name].format(value) if name in METRIC_FORMATS else _format(value)
    return f"{METRIC_LABELS.get(name, name)} {shown}"


def task_kind(result: dict) -> str:
    target = result["config"]["task"]["_target_"]
    kind = target.rsplit(".", 2)[-2]  # zoo.tasks.<kind>.<Class>
    return kind


def baseline_of(result: dict) -> str:
    """The baseline the experiment's model must beat, measured on the same test split: the
    data's own (the adding problem's constant, the copy task's memoryless guess), the naive
    forecast and the classical one, or the unigram model of the text."""
    metrics, data = result["metrics"], result["data"]
    if "test/naive_mse" in metrics:
        shown = (
            f"naive, the last value: mse {_format(metrics['test/naive_mse'])}, "
            f"mae {_format(metrics['test/naive_mae'])}"
        )
        if "test/classical_mse" in metrics:  # the statsmodels baseline the data names
            what = (data.get("forecast") or {}).get("baseline") or "classical"
            shown += f"; {what}: mse {_format(metrics['test/classical_mse'])}"
        return shown
    if data.get("unigram_perplexity"):
        return f"unigram: ppl {_format(data['unigram_perplexity']['test'])}"
    baseline = data.get("baseline")
    if baseline:
        shown = f"{baseline['what']}: {baseline['metric']} {_format(baseline['value'])}"
        return shown + (f", acc {_format(baseline['acc'])}" if "acc" in baseline else "")
    return "-"


def shown_metrics(result: dict) -> list[str]:
    """The logged metrics the results table shows of a run, in its order: the task kind's
    test metrics (:data:`TASK_METRICS`) the run logged, and a language model's val/loss. An
    experiment's ``promise`` holds these (scripts/reproduce.py)."""
    kind = task_kind(result)
    shown = [
        f"test/{name}"
        for name in TASK_METRICS.get(kind, ("loss",))
        if f"test/{name}" in result["metrics"]
    ]
    if kind == "language_model" and "val/loss" in result["metrics"]:
        shown.append("val/loss")
    return shown


def _shown(metric: str, value: float) -> str:
    split, name = metric.split("/", 1)
    return format_metric(name, value) if split == "test" else f"{split} {name} {_format(value)}"


def _seconds(result: dict, key: str) -> str:
    return f"{result[key]:.0f}" if key in result else "-"


def results_table() -> str:
    lines = [
        "| experiment | model | data | task | test | baseline | epochs | train.py wall time (s) "
        "| in-process time (s) | command |",
        "|---|---|---|---|---|---|---:|---:|---:|---|",
    ]
    for path in sorted(RESULTS_DIR.glob("*.json")):
        result = json.loads(path.read_text())
        if not {"config", "metrics", "command"} <= result.keys():
            continue  # not a run's results (measurements belong in results/measurements/)
        shown = [_shown(metric, result["metrics"][metric]) for metric in shown_metrics(result)]
        epochs = result.get("epochs_trained", "")
        lines.append(
            f"| `{path.stem}` | `{result['model']['name']}` | {result['data']['name']} "
            f"| {task_kind(result)} | {', '.join(shown)} | {baseline_of(result)} | {epochs} "
            f"| {_seconds(result, 'command_wall_time_s')} | {_seconds(result, 'wall_time_s')} "
            f"| `{result['command']}` |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("table", choices=["models", "results"])
    table = parser.parse_args().table
    body = model_table() if table == "models" else results_table()
    README.write_text(replace_between_markers(README.read_text(), table, body))
    print(body)


if __name__ == "__main__":
    main()
