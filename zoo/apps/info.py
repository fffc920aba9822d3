"""``model_info``: parameter count, FLOPs and input limits of a registered model."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from zoo.models import create_model, get_model_info
from zoo.models.layers import evaluating


def count_parameters(model: torch.nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (tied parameters counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: torch.nn.Module, example: torch.Tensor) -> int:
    """FLOPs of one forward pass on ``example`` (a multiply-add counts as 2)."""
    with evaluating(model), torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(example)
    return int(counter.get_total_flops())


def model_info(name: str, **kwargs: Any) -> dict[str, Any]:
    """What a registered model is and costs at its default input size.

    Returns the family, paper, task and input kinds, ``default_input_size``,
    ``min_input_size``, ``num_params``, ``flops`` (one sample, ``torch.utils.flop_counter``)
    and ``adam_lr`` (the Adam learning rate the optimizer configs give the model, when it
    declares one; None: their default).
    """
    info = get_model_info(name)
    model = create_model(name, **kwargs)
    example = info.example_input(1, **kwargs)
    # torch's fused LSTM kernel is invisible to the FLOP counter; a model with a literal
    # reference implementation (impl="reference") is counted through it: the same products.
    counted = (
        create_model(name, **{**kwargs, "impl": "reference"})
        if "impl" in info.parameters
        else model
    )
    return {
        "name": name,
        "family": info.family,
        "paper": info.paper,
        "tasks": list(info.tasks),
        "input_kinds": list(info.input_kinds),
        "default_input_size": list(info.default_input_size),
        "min_input_size": info.min_input_size_for(kwargs),
        "num_params": count_parameters(model),
        "flops": count_flops(counted, example),
        "adam_lr": info.adam_lr,
    }
