"""Parameter groups for weight decay, and the L1 penalty (primer: "L1 and L2 Regularization").

Weight decay (L2) goes through the optimizer, on weights only: biases and normalization
parameters are left undecayed, since shrinking them does not reduce capacity and can hurt,
and so are the parameters a module names in its ``no_weight_decay()`` (timm's convention:
a Vision Transformer's class token and learned position table, which are not weights of a
linear map).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

NORM_TYPES = (
    nn.modules.batchnorm._BatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.modules.instancenorm._InstanceNorm,
)


def _exempt(model: nn.Module) -> set[int]:
    """The parameters that the modules of ``model`` name in their ``no_weight_decay()``."""
    exempt: set[int] = set()
    for module in model.modules():
        names = getattr(module, "no_weight_decay", None)
        if callable(names):
            parameters = dict(module.named_parameters())
            exempt.update(id(parameters[name]) for name in names() if name in parameters)
    return exempt


def _decayed_and_not(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    decay, no_decay = [], []
    seen: set[int] = set()
    exempt = _exempt(model)
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            undecayed = (
                name.endswith("bias")
                or isinstance(module, NORM_TYPES)
                or param.ndim <= 1
                or id(param) in exempt
            )
            (no_decay if undecayed else decay).append(param)
    return decay, no_decay


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two optimizer groups: weights with ``weight_decay``; biases, norm parameters and those
    a module names in its ``no_weight_decay()`` without."""
    decay, no_decay = _decayed_and_not(model)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def penalized_weights(model: nn.Module) -> Iterator[nn.Parameter]:
    """The parameters an L1 or L2 penalty applies to (the same ones weight decay touches)."""
    return iter(_decayed_and_not(model)[0])


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """Σ|w| over the decayed weights; the loss adds ``λ ×`` this."""
    weights = list(penalized_weights(model))
    if not weights:
        return torch.zeros(())
    return torch.stack([w.abs().sum() for w in weights]).sum()
