"""The 1-D CNN: the MNIST-1D paper's layout against a hand-built ``torch.nn`` stack with the
same weights, the output length against its closed form, and what its options refuse."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import named
from torch import nn

from zoo import ZooError, create_model
from zoo.models.cnn1d import conv_output_length


def test_the_papers_cnn_equals_a_hand_built_torch_stack():
    """Greydanus 2020's ConvBase: Conv1d(1, 25, 5), Conv1d(25, 25, 3) twice, stride 2 and
    padding 1, ReLU after each, a linear layer on the flattened (channel-major) maps."""
    torch.manual_seed(0)
    model = create_model("cnn1d").eval()
    reference = nn.Sequential(
        nn.Conv1d(1, 25, 5, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(125, 10),
    )
    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    for mine, theirs in zip([*convs, model.head], [reference[i] for i in (0, 2, 4, 7)]):
        theirs.load_state_dict(mine.state_dict())
    x = torch.randn(6, 40, 1)  # (B, T, C)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x.transpose(1, 2)))
        torch.testing.assert_close(model(x[..., 0]), model(x))  # vectors: one-channel series
    # 1·25·5 + 25, 25·25·3 + 25 twice, 125·10 + 10
    assert sum(p.numel() for p in model.parameters()) == 150 + 2 * 1900 + 1260 == 5210


@pytest.mark.parametrize(
    ("length", "channels", "kernels", "strides", "paddings"),
    [
        (40, [25, 25, 25], [5, 3, 3], [2, 2, 2], [1, 1, 1]),
        (37, [4, 6], [7, 2], [3, 1], [0, 2]),
        (9, [3], [9], [1], [0]),
        (100, [8, 8, 8, 8], [3, 3, 3, 3], [1, 2, 3, 4], [1, 0, 2, 1]),
    ],
)
def test_output_length_is_the_closed_form(length, channels, kernels, strides, paddings):
    model = create_model(
        "cnn1d",
        in_channels=2,
        input_length=length,
        channels=channels,
        kernel_sizes=kernels,
        strides=strides,
        paddings=paddings,
    )
    expected = length
    for k, s, p in zip(kernels, strides, paddings):
        expected = math.floor((expected + 2 * p - k) / s) + 1
    assert conv_output_length(length, kernels[0], strides[0], paddings[0]) == math.floor(
        (length + 2 * paddings[0] - kernels[0]) / strides[0] + 1
    )
    maps = model.features(torch.randn(3, 2, length))  # (B, C, T) as torch runs it
    assert maps.shape == (3, channels[-1], expected) and model.output_length == expected
    assert model.num_features == channels[-1] * expected


@pytest.mark.parametrize("pool", ["mean", "max"])
def test_pooling_heads_take_any_length(pool):
    model = create_model("cnn1d", pool=pool, in_channels=3).eval()
    assert model.head.in_features == 25
    x = torch.randn(2, 64, 3)
    maps = model.features(x.transpose(1, 2))
    expected = maps.mean(-1) if pool == "mean" else maps.amax(-1)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_features(x), expected)
        assert model(torch.randn(2, 17, 3)).shape == (2, 10)


def test_options_build_what_they_say():
    model = create_model(
        "cnn1d", norm="batch", activation="tanh", dropout=0.25, channels=[8, 16], kernel_sizes=3
    )
    kinds = [type(m) for m in model.features]
    assert kinds == [nn.Conv1d, nn.BatchNorm1d, nn.Tanh, nn.Dropout] * 2
    assert model.features[3].p == 0.25
    layer = create_model("cnn1d", norm="layer", channels=[8], kernel_sizes=[5])
    assert isinstance(layer.features[1], nn.GroupNorm) and layer.features[1].num_groups == 1


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"kernel_sizes": [5, 3]}, ("kernel_sizes", "[5, 3]")),
        ({"strides": 0}, ("strides", "0")),
        ({"paddings": [-1, 0, 0]}, ("paddings", "[-1, 0, 0]")),
        ({"channels": []}, ("channels", "[]")),
        ({"pool": "avg"}, ("pool", "'avg'")),
        ({"input_length": 2}, ("input_length=2",)),
        ({"norm": "group"}, ("norm", "'group'")),
    ],
)
def test_bad_arguments_are_refused(kwargs, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        create_model("cnn1d", **kwargs)


def test_inputs_it_cannot_read_are_refused():
    model = create_model("cnn1d")
    with pytest.raises(ZooError, match=named("input_length=40", "39")):
        model(torch.randn(2, 39, 1))
    with pytest.raises(ZooError, match=named("(batch, steps, 1)", "(2, 40, 3)")):
        model(torch.randn(2, 40, 3))
    pooled = create_model("cnn1d", pool="max")
    with pytest.raises(ZooError, match=named("2 steps")):
        pooled(torch.randn(2, 2, 1))


@pytest.mark.slow
def test_the_mnist1d_cnn_experiment_learns(tmp_path):
    """`python train.py experiment=mnist1d_cnn`, cut to 1,000 of its 6,000 steps: the paper's
    CNN on MNIST-1D is well above chance (0.10) and above the logistic regression row (0.32)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    subprocess.run(
        [
            sys.executable,
            str(repo / "train.py"),
            "experiment=mnist1d_cnn",
            "trainer.max_steps=1000",
            "logger=none",
            "callbacks.rich_progress_bar=null",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=600,
    )
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["model"]["name"] == "cnn1d"
    assert results["data"]["split_sizes"] == {"train": 3800, "val": 200, "test": 1000}
    assert results["metrics"]["test/acc"] > 0.7
