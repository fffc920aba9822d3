"""LeNet-5: the 1998 layout, its parameter count, variants and limits."""

from __future__ import annotations

import pytest
import torch
from conftest import named
from torch import nn

from zoo import ZooError, create_model


def conv_params(cin, cout, k):
    return cout * (cin * k * k + 1)


def test_parameter_count_of_the_paper_layout():
    # C1, C3 (fully connected to S2, as documented), C5, F6, output; subsampling has none
    # in this re-implementation.
    expected = conv_params(1, 6, 5) + conv_params(6, 16, 5) + conv_params(16, 120, 5)
    expected += 120 * 84 + 84 + 84 * 10 + 10
    assert expected == 61_706
    assert sum(p.numel() for p in create_model("lenet5").parameters()) == expected


def test_feature_map_sizes_follow_the_paper():
    model = create_model("lenet5")
    shapes = []
    x = torch.randn(1, 1, 32, 32)
    for layer in model.features:
        x = layer(x)
        if isinstance(layer, nn.Conv2d | nn.MaxPool2d):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1)]


def test_classic_variant_uses_tanh_and_average_pooling():
    model = create_model("lenet5", variant="classic")
    kinds = {type(m) for m in model.modules()}
    assert nn.Tanh in kinds and nn.AvgPool2d in kinds
    assert nn.ReLU not in kinds and nn.MaxPool2d not in kinds


def test_activation_overrides_the_variant():
    model = create_model("lenet5", variant="classic", activation="relu")
    kinds = {type(m) for m in model.modules()}
    assert nn.ReLU in kinds and nn.AvgPool2d in kinds and nn.Tanh not in kinds


def test_channels_classes_and_larger_inputs():
    model = create_model("lenet5", in_channels=3, num_classes=100, input_size=40)
    assert model(torch.randn(2, 3, 40, 40)).shape == (2, 100)


def test_norm_and_head_interface():
    model = create_model("lenet5", norm="batch").eval()
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    x = torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(model.forward_head(model.forward_features(x)), model(x))
    model.reset_classifier(3)
    assert model(x).shape == (2, 3)


def test_too_small_input_is_refused():
    with pytest.raises(ZooError, match=named("32x32", "input_size=28")):
        create_model("lenet5", input_size=28)


def test_unknown_variant():
    with pytest.raises(ZooError, match=named("'new'", "classic", "modern")):
        create_model("lenet5", variant="new")
