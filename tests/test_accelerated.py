"""The GPU paths, run where they can run on a CPU: bfloat16 mixed precision (trainer=gpu's
precision) and channels-last memory format. torch.compile is in tests/test_slow.py."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import named

from zoo import ZooError
from zoo.training.run import build_model, build_task, train

FAST = ["debug=fdr", "data.batch_size=8", "data.eval_batch_size=8"]


@pytest.mark.parametrize(
    "overrides",
    [[], ["model=resnet20"], ["model=vit_tiny"], ["model=lstm", "data=digits_rows"]],
    ids=["lenet5", "resnet20", "vit_tiny", "lstm"],
)
def test_bf16_mixed_precision_trains(make_config, overrides):
    metrics = train(make_config(*FAST, "trainer.precision=bf16-mixed", *overrides))
    assert math.isfinite(metrics["test/loss"])


def test_channels_last_formats_the_model_and_every_image_batch(make_config):
    cfg = make_config(*FAST, "channels_last=true", "model=resnet20")
    metrics = train(cfg)
    assert math.isfinite(metrics["test/loss"])
    model = build_model(cfg).to(memory_format=torch.channels_last)
    task = build_task(cfg, model)
    assert task.channels_last  # from the config
    batch = task.preprocess(torch.rand(4, 1, 32, 32), train=True)
    assert batch.is_contiguous(memory_format=torch.channels_last)
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():  # the same function in either format
        model_nchw = build_model(cfg).eval()
        model_nchw.load_state_dict(model.state_dict())
        x = torch.rand(2, 1, 32, 32)
        torch.testing.assert_close(
            model.eval()(x.contiguous(memory_format=torch.channels_last)), model_nchw(x)
        )


def test_channels_last_is_refused_for_sequences(make_config):
    fragments = ("channels_last=true", "data=digits_rows", "sequence", "channels_last=false")
    with pytest.raises(ZooError, match=named(*fragments)):
        train(make_config(*FAST, "channels_last=true", "model=lstm", "data=digits_rows"))
