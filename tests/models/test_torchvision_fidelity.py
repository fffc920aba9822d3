"""Our CNNs against torchvision's at the ImageNet configuration (design.md, "Reference
fidelity"): the same parameter count, identical state dict keys (torchvision's weights load
with ``strict=True``), and the same outputs for the same weights and input — in eval mode,
and in training mode (batch statistics, dropout and auxiliary heads) under the same seed.

torchvision's GoogLeNet and Inception-v3 are built with ``transform_input=False`` (ours
leaves input normalization to the data module) and ``init_weights=False`` (the weights are
overwritten anyway). Batch-norm layers get random running statistics and affine parameters
before the comparison, so a wrong normalization or a swapped layer cannot pass unnoticed.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from zoo import create_model, get_model_info

NAMES = [
    "alexnet",
    *(f"vgg{depth}{bn}" for depth in (11, 13, 16, 19) for bn in ("", "_bn")),
    *(f"resnet{depth}" for depth in (18, 34, 50, 101, 152)),
    "googlenet",
    "inception_v3",
]
AUX_NAMES = {"googlenet", "inception_v3"}
# The deeper members of a family (2 s a build here) and VGG-11 with batch norm run with
# `pytest -m slow`, to keep the suite under 5 minutes: the same code as VGG-11, ResNet-18
# (basic blocks) and ResNet-50 (bottlenecks), which run always, with more layers or a norm.
HEAVY = {
    "vgg11_bn",
    *(f"vgg{depth}{bn}" for depth in (13, 16, 19) for bn in ("", "_bn")),
    "resnet34",
    "resnet101",
    "resnet152",
}


def input_size(name: str) -> int:
    return 299 if name == "inception_v3" else 224


def randomize_batch_norm(model: nn.Module) -> None:
    """Non-trivial running statistics and affine parameters for every batch norm."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(
    scope="module",
    params=[pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in NAMES],
)
def pair(request: pytest.FixtureRequest) -> tuple[str, nn.Module, nn.Module]:
    """(name, torchvision's model with randomized batch norms, ours), built once per name."""
    name = request.param
    torch.manual_seed(0)
    kwargs = {"transform_input": False, "init_weights": False} if name in AUX_NAMES else {}
    reference = torchvision.models.get_model(name, weights=None, **kwargs)
    randomize_batch_norm(reference)
    ours_kwargs = {"aux_logits": True} if name in AUX_NAMES else {}
    ours = create_model(name, num_classes=1000, in_channels=3, small_input=False, **ours_kwargs)
    return name, reference, ours


def test_parameter_count(pair):
    _, reference, ours = pair
    assert count(ours) == count(reference)


def test_parameter_count_and_min_size_match_torchvision_weights_metadata(pair):
    """torchvision's weights entries record the parameter count (GoogLeNet's without the
    auxiliary heads, which its pretrained model drops) and the smallest input size."""
    name, _, ours = pair
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    aux = [getattr(ours, "aux1", None), getattr(ours, "aux2", None)]
    aux_params = sum(count(head) for head in aux if head is not None)
    assert count(ours) - aux_params == meta["num_params"]
    min_size = get_model_info(name).min_input_size_for({"aux_logits": False})
    assert (min_size, min_size) == tuple(meta["min_size"])


def test_state_dict_keys_are_identical_and_load_strictly(pair):
    _, reference, ours = pair
    reference_state = reference.state_dict()
    assert list(ours.state_dict()) == list(reference_state)
    ours.load_state_dict(reference_state, strict=True)
    for key, value in ours.state_dict().items():
        assert torch.equal(value, reference_state[key]), key


def test_eval_outputs_match(pair):
    name, reference, ours = pair
    ours.load_state_dict(reference.state_dict(), strict=True)
    reference.eval()
    ours.eval()
    size = input_size(name)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(x)
        actual = ours(x)
    assert isinstance(actual, torch.Tensor) and actual.shape == (1, 1000)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def test_training_outputs_match_under_the_same_seed(pair):
    """Batch statistics, dropout masks (same order of random draws) and the auxiliary
    classifiers: torchvision returns (logits, aux2, aux1) for GoogLeNet, we (logits, aux1,
    aux2); the fields are compared by meaning."""
    name, reference, ours = pair
    ours.load_state_dict(reference.state_dict(), strict=True)
    reference.train()
    ours.train()
    size = input_size(name)
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.manual_seed(3)
        expected = reference(x)
        torch.manual_seed(3)
        actual = ours(x)
    if name == "googlenet":
        expected = (expected.logits, expected.aux_logits1, expected.aux_logits2)
        actual = (actual.logits, actual.aux1, actual.aux2)
    elif name == "inception_v3":
        expected = (expected.logits, expected.aux_logits)
        actual = (actual.logits, actual.aux_logits)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)
    # the running statistics were updated the same way
    torch.testing.assert_close(
        dict(ours.named_buffers()), dict(reference.named_buffers()), atol=1e-5, rtol=1e-5
    )
