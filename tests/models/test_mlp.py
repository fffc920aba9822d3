"""MLP: the primer's parameter-count formula, options, and the classifier interface."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from zoo import ZooError, create_model


@pytest.mark.parametrize(
    ("in_features", "hidden", "classes"), [(64, [256, 128], 10), (784, [100], 10), (5, [], 3)]
)
def test_parameter_count_is_the_primers_formula(in_features, hidden, classes):
    model = create_model("mlp", in_features=in_features, hidden_sizes=hidden, num_classes=classes)
    sizes = [in_features, *hidden, classes]
    expected = sum(i * o + o for i, o in itertools.pairwise(sizes))
    assert sum(p.numel() for p in model.parameters()) == expected


def test_depth_and_width_build_equal_hidden_layers():
    model = create_model("mlp", in_features=8, depth=3, width=16, num_classes=2)
    widths = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    assert widths == [16, 16, 16, 2]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh", "gelu"])
@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
def test_options_build_and_run(activation, norm):
    model = create_model("mlp", in_features=12, activation=activation, norm=norm, dropout=0.1)
    out = model(torch.randn(4, 12))
    assert out.shape == (4, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_images_are_flattened():
    model = create_model("mlp", in_features=1 * 8 * 8)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "swish"}, r"unknown activation 'swish'; allowed: relu"),
        ({"norm": "group"}, r"unknown norm 'group'; allowed: none, batch, layer"),
        ({"hidden_sizes": [0]}, r"hidden_sizes must be a list of integers >= 1 .*got \[0\]"),
        ({"hidden_sizes": 10}, r"hidden_sizes must be a list of integers >= 1 .*got 10\."),
        ({"hidden_sizes": ["abc"]}, r"hidden_sizes must be a list .*got \['abc'\]"),
        ({"depth": -1}, r"model 'mlp': depth must be an integer >= 0, got -1\."),
        ({"width": 0}, r"model 'mlp': width must be an integer >= 1, got 0\."),
        ({"in_features": 0}, r"model 'mlp': in_features must be an integer >= 1, got 0\."),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ZooError, match=message):
        create_model("mlp", **kwargs)
