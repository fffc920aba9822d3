"""Attention maps reach the logs: with logger=tensorboard, a Transformer's run writes a
figure of its attention for a fixed validation example after each validation epoch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from zoo import create_model
from zoo.figures.attention import draw_attention
from zoo.training.run import train

SHORT = ["logger=tensorboard", "debug=limit", "trainer.max_epochs=1", "data.batch_size=16"]


def logged_figures(run_dir: Path) -> list[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = []
    for events in run_dir.rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events), size_guidance={"images": 0})
        accumulator.Reload()
        tags += accumulator.Tags().get("images", [])
    return tags


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=vit_tiny"],
        ["model=transformer", "data=digits_rows"],
        ["model=gpt", "data=text", "task=language_model", "data.max_chars=20000",
         "data.window=32", "data.eval_batch_size=16"],
    ],
    ids=["vit", "encoder", "gpt"],
)  # fmt: skip
def test_a_transformer_run_logs_its_attention(make_config, overrides):
    cfg = make_config(*SHORT, *overrides)
    assert "attention_maps" in cfg.callbacks  # a default callback
    train(cfg)
    assert logged_figures(Path(cfg.paths.output_dir)) == ["val/attention"]


def test_a_model_without_attention_logs_no_figure(make_config):
    cfg = make_config(*SHORT, "model=lstm", "data=digits_rows")
    train(cfg)
    assert logged_figures(Path(cfg.paths.output_dir)) == []


def test_draw_attention_labels_queries_and_keys():
    torch.manual_seed(0)
    model = create_model("gpt", vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=8)
    with torch.no_grad():
        weights = model.attention_maps(torch.tensor([[0, 1, 2, 3]]))[0][0, 0]
    figure = draw_attention(weights, list("ab\nd"))
    (axis, _colorbar) = figure.axes
    assert [t.get_text() for t in axis.get_xticklabels()] == ["a", "b", "\\n", "d"]


def test_the_run_leaves_out_callbacks_with_nothing_to_do():
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger

    from zoo.training.attention_logging import AttentionMapLogger
    from zoo.training.run import _callbacks_with_work

    def kept(model, loggers):
        callbacks = [AttentionMapLogger(), LearningRateMonitor()]
        return [type(c).__name__ for c in _callbacks_with_work(callbacks, model, loggers)]

    gpt = create_model("gpt", vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=8)
    logger = CSVLogger("unused")
    assert kept(gpt, [logger]) == ["AttentionMapLogger", "LearningRateMonitor"]
    assert kept(create_model("lenet5"), [logger]) == ["LearningRateMonitor"]
    assert kept(gpt, []) == ["AttentionMapLogger"]
