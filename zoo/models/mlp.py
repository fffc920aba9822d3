"""Multilayer perceptron (primer: "Neural Network Architecture").

Each hidden layer is ``Linear → norm → activation → dropout``; the head is one ``Linear``.
With ``norm="none"`` the parameter count is the primer's Σ(in × out + out) over layers.
Inputs of any shape are flattened, so the MLP trains on images as well as on vectors.
With ``residual=True`` every hidden layer after the first adds its input to its output
(``h + layer(h)``, He et al. 2016's identity shortcut), as the MNIST-1D paper's MLP does
(Greydanus 2020, ``h = h + relu(linear2(h))``); the parameters are those of the plain stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from zoo.config.values import is_int, is_positive_int
from zoo.errors import ZooError
from zoo.models.layers import (
    Classifier,
    check_dropout,
    check_positive_ints,
    make_activation,
    make_norm,
)
from zoo.registry import register_model


class Residual(nn.Module):
    """``x + block(x)``: an identity shortcut around a block that keeps the width."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)  # (B, H)


class MLP(Classifier):
    """A stack of fully connected layers with a linear classification (or regression) head."""

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        hidden_sizes: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str | None = "none",
        residual: bool = False,
    ) -> None:
        super().__init__()
        if in_features < 1 or num_classes < 1 or any(h < 1 for h in hidden_sizes):
            raise ZooError(
                f"MLP sizes must be positive, got in_features={in_features}, "
                f"hidden_sizes={list(hidden_sizes)}, num_classes={num_classes}."
            )
        check_dropout(dropout)
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for index, hidden in enumerate(hidden_sizes):
            layer = [
                nn.Linear(width, hidden),
                make_norm(norm, hidden, spatial=False),
                make_activation(activation),
                nn.Dropout(dropout),
            ]
            # The same modules in the same order either way: the same parameters and init.
            layers += [Residual(nn.Sequential(*layer))] if residual and index else layer
            width = hidden
        self.features = nn.Sequential(*layers)
        self.num_features = width
        self.head = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialized one for ``num_classes`` outputs."""
        self.head = self.like_model(nn.Linear(self.num_features, num_classes))


def check_layer_arguments(kwargs: dict[str, Any]) -> None:
    """Layers given two ways in a run config: ``hidden_sizes`` wins, and ``depth`` and
    ``width`` would be ignored without a word (configs/model/mlp.yaml sets hidden_sizes)."""
    given = sorted({"depth", "width"} & set(kwargs))
    if kwargs.get("hidden_sizes") is not None and given:
        sizes = kwargs["hidden_sizes"]
        sizes = list(sizes) if isinstance(sizes, Sequence) and not isinstance(sizes, str) else sizes
        raise ZooError(
            f"model.hidden_sizes={sizes} is set, so model.{' and model.'.join(given)} would be "
            "ignored; to use depth and width: model.hidden_sizes=null +model.depth=3 "
            "+model.width=64."
        )


@register_model(
    family="mlp",
    tasks=("classification", "regression"),
    input_kinds=("vector", "image"),
    default_input_size=(64,),
    paper="Rumelhart, Hinton & Williams 1986, Learning representations by back-propagating errors",
    check_arguments=check_layer_arguments,
)
def mlp(
    *,
    in_features: int = 64,
    num_classes: int = 10,
    hidden_sizes: Sequence[int] | None = None,
    depth: int = 2,
    width: int = 256,
    activation: str = "relu",
    dropout: float = 0.0,
    norm: str | None = "none",
    residual: bool = False,
) -> MLP:
    """An MLP with ``hidden_sizes`` hidden layers, or ``depth`` layers of ``width`` units;
    ``residual=True`` adds each hidden layer's input to its output after the first (they
    need two or more hidden layers of one width)."""
    if hidden_sizes is None:
        if not (is_int(depth) and depth >= 0):
            raise ZooError(f"model 'mlp': depth must be an integer >= 0, got {depth!r}.")
        check_positive_ints("mlp", width=width)
        hidden_sizes = [width] * depth
    elif (
        isinstance(hidden_sizes, str | bytes)
        or not isinstance(hidden_sizes, Sequence)
        or not all(is_positive_int(size) for size in hidden_sizes)
    ):
        raise ZooError(
            "model 'mlp': hidden_sizes must be a list of integers >= 1 (e.g. [256,128]; [] for "
            f"none), got {hidden_sizes!r}."
        )
    if not isinstance(residual, bool):
        raise ZooError(f"model 'mlp': residual must be true or false, got {residual!r}.")
    if residual and (len(hidden_sizes) < 2 or len(set(hidden_sizes)) > 1):
        raise ZooError(
            "model 'mlp': residual=true adds each hidden layer's input to its output after the "
            "first, so it needs two or more hidden layers of one width (e.g. hidden_sizes="
            f"[100,100]), got hidden_sizes={list(hidden_sizes)}."
        )
    return MLP(in_features, num_classes, list(hidden_sizes), activation, dropout, norm, residual)
