"""MLP: the primer's parameter-count formula, options, and the classifier interface."""

from __future__ import annotations

import itertools

import pytest
import torch
from conftest import named
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


class PaperMLP(nn.Module):
    """The MNIST-1D paper's MLP as its code writes it (Greydanus 2020, mnist1d's models.py)."""

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 100) -> None:
        super().__init__()
        self.linear1 = nn.Linear(input_size, hidden_size)
        self.linear2 = nn.Linear(hidden_size, hidden_size)
        self.linear3 = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


def test_residual_is_the_mnist1d_papers_mlp():
    torch.manual_seed(0)
    reference = PaperMLP(40, 10)
    torch.manual_seed(0)
    model = create_model("mlp", in_features=40, hidden_sizes=[100, 100], residual=True)
    # The same initialization from the same seed, then the same function of the input.
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(ours, theirs)
    x = torch.randn(8, 40)
    torch.testing.assert_close(model(x), reference(x))
    plain = create_model("mlp", in_features=40, hidden_sizes=[100, 100])
    plain.load_state_dict(dict(zip(plain.state_dict(), model.state_dict().values(), strict=True)))
    assert not torch.allclose(plain(x), reference(x))


def test_default_mlp_keeps_its_parameter_names():
    # Shipped weights and recorded results depend on the plain stack's layout.
    model = create_model("mlp", in_features=8, hidden_sizes=[16, 16], num_classes=2)
    assert list(model.state_dict()) == [
        "features.1.weight",
        "features.1.bias",
        "features.5.weight",
        "features.5.bias",
        "head.weight",
        "head.bias",
    ]


def test_images_are_flattened():
    model = create_model("mlp", in_features=1 * 8 * 8)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"activation": "swish"}, ("activation", "'swish'", "relu", "gelu")),
        ({"norm": "group"}, ("norm", "'group'", "none", "batch", "layer")),
        ({"hidden_sizes": [0]}, ("'mlp'", "hidden_sizes", ">= 1", "[0]")),
        ({"hidden_sizes": 10}, ("'mlp'", "hidden_sizes", ">= 1", "10")),
        ({"hidden_sizes": ["abc"]}, ("'mlp'", "hidden_sizes", "['abc']")),
        ({"depth": -1}, ("'mlp'", "depth", ">= 0", "-1")),
        ({"width": 0}, ("'mlp'", "width", ">= 1", "0")),
        ({"in_features": 0}, ("'mlp'", "in_features", ">= 1", "0")),
        ({"residual": "yes"}, ("'mlp'", "residual", "true", "false", "'yes'")),
        ({"residual": True, "hidden_sizes": [100]}, ("residual=true", "hidden_sizes=[100]")),
        ({"residual": True, "hidden_sizes": [64, 32]}, ("residual=true", "hidden_sizes=[64, 32]")),
    ],
)
def test_bad_arguments(kwargs, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        create_model("mlp", **kwargs)
