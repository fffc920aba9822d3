"""The end of a run: curves.png drawn from metrics.csv, and the model summary whole when
the output is redirected."""

from __future__ import annotations

import sys
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger

from zoo.training.curves import CURVES_NAME, read_curves, write_curves

# metrics.csv as Lightning's CSV logger writes it (the default run's columns): 4 training
# steps an epoch, a validation at half an epoch (val_check_interval=0.5), the learning rate,
# per-step losses and the test row, none of which are curves.
METRICS_CSV = """\
epoch,lr-Adam,step,test/acc,train/acc,train/loss,train/loss_step,val/acc,val/acc_best,val/loss
,0.002,0,,,,,,,
0,,1,,,,,0.5,0.5,1.5
0,,1,,,,2.2,,,
0,,3,,,,,0.6,0.6,1.25
0,,3,,0.3,2.0,,,,
1,,5,,,,,0.75,0.75,1.0
1,,7,,,,,0.7,0.75,1.1
1,,7,,0.5,1.5,,,,
2,,8,0.71,,,,,,
"""


def test_curves_are_per_epoch_series_of_the_validation_and_epoch_metrics(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(METRICS_CSV)
    curves = read_curves(path)
    assert set(curves) == {"train/acc", "train/loss", "val/acc", "val/acc_best", "val/loss"}
    # x: training steps done over the 4 steps of an epoch (half-epoch validations at 0.5, 1.5)
    assert curves["val/loss"] == ([0.5, 1.0, 1.5, 2.0], [1.5, 1.25, 1.0, 1.1])
    assert curves["train/loss"] == ([1.0, 2.0], [2.0, 1.5])


def _logger_with(tmp_path: Path, text: str) -> CSVLogger:
    logger = CSVLogger(tmp_path, name="csv", version="")
    Path(logger.log_dir).mkdir(parents=True)
    (Path(logger.log_dir) / "metrics.csv").write_text(text)
    return logger


def test_curves_png_is_written_from_the_csv_loggers_metrics(tmp_path):
    from matplotlib.image import imread

    logger = _logger_with(tmp_path, METRICS_CSV)
    kwargs = {"monitor": "val/loss", "mode": "min", "optimized": "val/acc_best"}
    path = write_curves(tmp_path, [logger], **kwargs)
    assert path == tmp_path / CURVES_NAME
    image = imread(path)  # a PNG matplotlib reads back: two panels side by side
    assert image.shape[1] > image.shape[0] > 100
    assert not list(tmp_path.glob(".*.partial"))  # written atomically
    # no CSV logger (logger=none, tensorboard): nothing to draw from, nothing written
    assert write_curves(tmp_path / "other", [], **kwargs) is None
    assert not (tmp_path / "other").exists()


def test_without_matplotlib_the_run_says_so_in_one_line(tmp_path, monkeypatch, caplog):
    logger = _logger_with(tmp_path, METRICS_CSV)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with caplog.at_level("INFO"):
        assert write_curves(tmp_path, [logger], monitor=None, mode=None, optimized=None) is None
    notes = [r.getMessage() for r in caplog.records if "matplotlib" in r.getMessage()]
    assert len(notes) == 1 and "pip install matplotlib" in notes[0]
    assert not (tmp_path / CURVES_NAME).exists()


def test_a_redirected_model_summary_is_whole(make_config, capsys):
    """Into a file or pipe rich's console is 80 columns: Lightning's table cut the type
    names (``LeNe…``) and wrapped the sizes. Here the names are whole, one row a line."""
    import torch
    from lightning.pytorch.callbacks import RichModelSummary
    from lightning.pytorch.utilities.model_summary import summarize

    from zoo.training.model_summary import WideRichModelSummary
    from zoo.training.run import build_model, build_task

    cfg = make_config()  # LeNet-5 on digits, as the default run summarizes it
    task = build_task(cfg, build_model(cfg))
    task.example_input_array = torch.zeros(1, 1, 32, 32)  # the In/Out sizes columns
    summary = summarize(task, max_depth=2)
    data = summary._get_summary_data()
    totals = (
        summary.total_parameters,
        summary.trainable_parameters,
        summary.model_size,
        summary.total_training_modes,
        summary.total_flops,
    )
    assert not sys.stdout.isatty()
    RichModelSummary.summarize(data, *totals)  # Lightning's: cut at 80 columns
    assert "LeNe…" in capsys.readouterr().out
    WideRichModelSummary.summarize(data, *totals)
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert "…" not in out
    assert len(rows) == len(data[0][1])  # one line per layer: nothing wrapped
    assert any("LeNet5" in row and "[1, 1, 32, 32]" in row for row in rows)
    assert any("MulticlassAccuracy" in row for row in rows)
    from rich import get_console

    assert get_console().width == 80  # the console as it was
