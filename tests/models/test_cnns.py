"""What is specific to the CNN families, on small (digits- or CIFAR-sized) inputs: the
small-input forms' resolutions, auxiliary outputs, exact minimum input sizes, the CIFAR
ResNets' parameter counts from the paper, family options. What every model does (shapes,
gradients, the feature/head split, ``reset_classifier``, bad arguments) is in
test_contract.py.
"""

from __future__ import annotations

import pytest
import torch
from conftest import named
from omegaconf import OmegaConf
from torch import nn

from zoo import ZooError, create_model, get_model_info
from zoo.config.checks import check_model_fits_data

# The heaviest networks run at their smallest small-input size (ResNet-152's is 1 pixel, but
# batch norm over 1×1 maps of a batch of 2 gives useless, non-finite gradients: 16 pixels).
HEAVY_SIZES = {"vgg19_bn": 16, "resnet152": 16, "inception_v3": 7}
AUX_MODELS = {"googlenet": 2, "inception_v3": 1}  # number of auxiliary classifiers


def takes(name: str, argument: str) -> bool:
    return argument in get_model_info(name).parameters


def build(name: str, **kwargs) -> nn.Module:
    """The small-input form of ``name`` (the CIFAR ResNets have only that form)."""
    if takes(name, "small_input"):
        kwargs.setdefault("small_input", True)
    kwargs.setdefault("num_classes", 10)
    return create_model(name, **kwargs)


def size_for(name: str) -> int:
    return HEAVY_SIZES.get(name, 32)


def images(in_channels: int, size: int, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, in_channels, size, size, generator=torch.Generator().manual_seed(0))


def outputs_of(output) -> list[torch.Tensor]:
    return [output] if isinstance(output, torch.Tensor) else list(output)


# Feature-map sizes of the small-input forms on 32×32 images (module docstrings).
FEATURE_SIZE_AT_32 = {
    "alexnet": 3,
    "vgg11": 2,
    "resnet18": 4,
    "resnet50": 4,
    "resnet20": 8,
    "googlenet": 8,
}


@pytest.mark.parametrize("name", sorted(FEATURE_SIZE_AT_32))
def test_small_input_forms_keep_the_documented_resolution(name):
    model = build(name).eval()
    with torch.no_grad():
        features = model.forward_features(images(3, 32))
    assert features.shape[-2:] == (FEATURE_SIZE_AT_32[name],) * 2


@pytest.mark.parametrize("name", sorted(AUX_MODELS))
@pytest.mark.parametrize("aux_logits", [True, False])
def test_aux_logits_only_in_training_mode(name, aux_logits):
    model = build(name, aux_logits=aux_logits)
    x = images(3, size_for(name))
    with torch.no_grad():
        model.train()
        output = model(x)
        if aux_logits:
            assert isinstance(output, tuple) and len(output) == 1 + AUX_MODELS[name]
            assert output.logits.shape == (2, 10)
        else:
            assert isinstance(output, torch.Tensor)
        model.eval()
        assert isinstance(model(x), torch.Tensor)


@pytest.mark.parametrize(
    ("name", "small_input", "expected"),
    [
        ("googlenet", False, True),
        ("googlenet", True, False),
        ("inception_v3", False, True),
        ("inception_v3", True, False),
    ],
)
def test_aux_logits_default_follows_the_form(name, small_input, expected):
    info = get_model_info(name)
    assert info.parameters["aux_logits"].default is None
    model = create_model(name, small_input=small_input)
    assert model.aux_logits is expected
    assert (getattr(model, "aux1", None) or getattr(model, "AuxLogits", None)) is not None or (
        not expected
    )


# (name, builder kwargs, minimum): each minimum was found by running the model at every
# size; the test checks the size works and the one below is refused.
MINIMUM_CASES = [
    ("alexnet", {}, 63),
    ("alexnet", {"small_input": True}, 15),
    pytest.param("vgg11", {}, 32, marks=pytest.mark.slow),  # 2 s: ImageNet-sized VGG-11
    ("vgg11_bn", {"small_input": True}, 16),
    ("googlenet", {}, 15),
    ("googlenet", {"small_input": True}, 2),
    ("inception_v3", {"aux_logits": False}, 75),
    ("inception_v3", {"small_input": True}, 7),
    ("inception_v3", {"small_input": True, "aux_logits": True}, 7),
]


@pytest.mark.parametrize(("name", "kwargs", "minimum"), MINIMUM_CASES)
def test_minimum_input_size_is_exact(name, kwargs, minimum):
    info = get_model_info(name)
    assert info.min_input_size_for(kwargs) == minimum
    model = create_model(name, num_classes=10, **kwargs).train()
    with torch.no_grad():
        outputs = outputs_of(model(images(3, minimum)))
    assert outputs[0].shape == (2, 10)
    smaller = minimum - 1
    with pytest.raises(ZooError, match=named(f"{minimum}x{minimum}", f"{smaller}x{smaller}")):
        model(images(3, smaller))


def test_inception_v3_with_aux_trains_on_299_pixels_only():
    """The auxiliary head pools 5×5/3 and convolves 5×5: it needs 17×17 maps, which only
    299×299 inputs give; without it (or in eval mode) 75×75 is enough."""
    info = get_model_info("inception_v3")
    assert info.min_input_size_for({}) == 299
    assert info.min_input_size_for({"aux_logits": True}) == 299
    model = create_model("inception_v3", num_classes=10)
    assert model.training and model.min_input_size == 299
    with pytest.raises(ZooError, match=named("299x299", "298x298")):
        model(images(3, 298))
    assert model.eval().min_input_size == 75


@pytest.mark.parametrize(("name", "kwargs", "minimum"), MINIMUM_CASES)
def test_config_check_refuses_too_small_images(name, kwargs, minimum):
    info = get_model_info(name)

    def data(size: int):
        return OmegaConf.create({"input_kind": "image", "input_shape": [3, size, size]})

    check_model_fits_data(info, data(minimum), kwargs)
    smaller = minimum - 1
    fragments = (f"'{name}'", f"{minimum}x{minimum}", f"{smaller}x{smaller}")
    with pytest.raises(ZooError, match=named(*fragments)):
        check_model_fits_data(info, data(smaller), kwargs)


# ------------------------------------------------------------------------ CIFAR ResNets


def cifar_resnet_parameters(n: int, num_classes: int = 10, shortcut: str = "A") -> int:
    """The parameter count of the paper's CIFAR ResNet (depth 6n + 2), by hand.

    3×3 convolutions have no bias (batch norm follows): 9·c_in·c_out weights; each batch
    norm has 2c. Stages of 16, 32, 64 filters with 2n convolutions each; the first
    convolution of stages 2 and 3 takes half as many channels. Option A shortcuts have no
    parameters; option B adds a 1×1 projection and a batch norm at stages 2 and 3.
    """
    stem = 9 * 3 * 16 + 2 * 16
    total = stem
    for width, previous in ((16, 16), (32, 16), (64, 32)):
        total += 9 * previous * width + (2 * n - 1) * 9 * width * width  # convolutions
        total += 2 * n * 2 * width  # batch norms
        if shortcut == "B" and width != previous:
            total += previous * width + 2 * width
    return total + 64 * num_classes + num_classes


@pytest.mark.parametrize(("name", "n"), [("resnet20", 3), ("resnet32", 5), ("resnet44", 7)])
@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_cifar_resnet_parameter_count(name, n, shortcut):
    model = create_model(name, shortcut=shortcut)
    assert sum(p.numel() for p in model.parameters()) == cifar_resnet_parameters(n, 10, shortcut)


def test_cifar_resnet_counts_are_the_papers():
    # Table 6 of the paper: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M parameters.
    assert cifar_resnet_parameters(3) == 269_722
    for n, millions in ((3, 0.27), (5, 0.46), (7, 0.66), (9, 0.85), (18, 1.7)):
        assert round(cifar_resnet_parameters(n) / 1e6, 2 if n < 18 else 1) == millions
    model = create_model("resnet110")
    assert sum(p.numel() for p in model.parameters()) == cifar_resnet_parameters(18)
    assert len([m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]) == 110


def test_cifar_resnet_option_a_shortcut_pads_with_zeros():
    model = create_model("resnet20").eval()
    shortcut = model.layer2[0].downsample
    assert not list(shortcut.parameters())
    x = torch.randn(1, 16, 7, 7)
    y = shortcut(x)
    assert y.shape == (1, 32, 4, 4)
    torch.testing.assert_close(y[:, :16], x[:, :, ::2, ::2])
    assert not y[:, 16:].any()


# --------------------------------------------------------- plain networks (no shortcut)


def _zero_residual_branches(model: nn.Module) -> None:
    """Zero the last batch norm of every block: each residual branch then outputs zeros."""
    for name, module in model.named_modules():
        if name.endswith(".bn2"):
            nn.init.zeros_(module.weight)
            nn.init.zeros_(module.bias)


@pytest.mark.parametrize("name", ["resnet20", "resnet110"])
def test_plain_cifar_network_has_no_identity_path(name):
    """He et al. 2016, Fig. 6 / Table 6: shortcut=false is the plain network. With every
    residual branch zeroed, option A's stages pass their input through (every second pixel,
    zero channels appended); the plain stages output zeros (relu of 0)."""
    torch.manual_seed(0)
    residual, plain = create_model(name).eval(), create_model(name, shortcut=False).eval()
    # the same layers and parameters: option A's shortcuts have none
    assert [(k, v.shape) for k, v in residual.state_dict().items()] == [
        (k, v.shape) for k, v in plain.state_dict().items()
    ]
    for model in (residual, plain):
        _zero_residual_branches(model)
    x = torch.rand(2, 16, 8, 8)  # non-negative: what the stem's ReLU gives the stages
    stages = [nn.Sequential(m.layer1, m.layer2, m.layer3) for m in (residual, plain)]
    with torch.no_grad():
        through, blocked = (stage(x) for stage in stages)
    expected = torch.nn.functional.pad(x[:, :, ::4, ::4], (0, 0, 0, 0, 0, 48))
    torch.testing.assert_close(through, expected)
    assert not blocked.any()


def test_plain_block_is_a_hand_built_plain_stack():
    """A plain ResNet-20 stage computes relu(bn(conv(relu(bn(conv(x)))))) block after block,
    with the same weights, and no shortcut module exists where the residual net projects."""
    torch.manual_seed(0)
    model = create_model("resnet20", shortcut=False).eval()
    assert all(block.downsample is None for block in model.layer2)
    x = torch.randn(2, 16, 8, 8)
    out = x
    for block in (*model.layer1, *model.layer2):
        out = torch.relu(block.bn1(block.conv1(out)))
        out = torch.relu(block.bn2(block.conv2(out)))
    with torch.no_grad():
        torch.testing.assert_close(model.layer2(model.layer1(x)), out)


def test_plain_imagenet_resnet_drops_the_projections():
    residual = create_model("resnet18", small_input=True, num_classes=10)
    plain = create_model("resnet18", small_input=True, num_classes=10, shortcut=False)
    assert any(".downsample." in key for key in residual.state_dict())
    assert not any(".downsample." in key for key in plain.state_dict())
    assert plain(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_zero_init_residual_needs_shortcuts():
    with pytest.raises(ZooError, match=named("zero_init_residual=True", "shortcut=false")):
        create_model("resnet18", shortcut=False, zero_init_residual=True)


def test_resnet_norm_activation_and_dropout_reach_every_block():
    """norm=layer is GroupNorm(1, C) (layer norm over a map's whole (C, H, W)) everywhere
    batch norm was, norm=none leaves none and gives the convolutions biases, the activation
    replaces every ReLU, and dropout sits before the classifier."""
    default = create_model("resnet20")
    count = sum(isinstance(m, nn.BatchNorm2d) for m in default.modules())
    layer = create_model("resnet20", norm="layer", activation="gelu", dropout=0.3)
    groups = [m for m in layer.modules() if isinstance(m, nn.GroupNorm)]
    assert len(groups) == count and all(m.num_groups == 1 for m in groups)
    assert not any(isinstance(m, nn.BatchNorm2d | nn.ReLU) for m in layer.modules())
    assert isinstance(layer.layer3[-1].relu, nn.GELU) and layer.dropout.p == 0.3
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(  # per sample: the other inputs of a batch change nothing
        layer.eval()(x)[:1], layer(x[:1])
    )
    plain = create_model("resnet18", norm="none", small_input=True, num_classes=10, shortcut="A")
    convs = [m for m in plain.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(m.bias is not None and not m.bias.any() for m in convs)
    assert not any(isinstance(m, nn.BatchNorm2d | nn.GroupNorm) for m in plain.modules())


# -------------------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    ("name", "kwargs", "fragments"),
    [
        ("vgg11", {"norm": "group"}, ("norm", "'group'", "none", "batch", "layer")),
        ("vgg11_bn", {"norm": "batch"}, ("'vgg11_bn'", "norm", "model=vgg11")),
        ("resnet20", {"shortcut": "C"}, ("shortcut", "'C'", "A", "B", "false")),
        ("resnet20", {"shortcut": True}, ("shortcut", "True", "A", "B", "false")),
        ("resnet20", {"small_input": True}, ("'resnet20'", "'small_input'", "shortcut")),
        ("googlenet", {"aux_dropout": -0.1}, ("aux_dropout", "[0, 1)", "-0.1")),
    ],
)
def test_bad_arguments_are_refused(name, kwargs, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        create_model(name, **kwargs)


def test_vgg_norm_batch_is_the_bn_variant():
    plain = create_model("vgg11", norm="batch", small_input=True, num_classes=10)
    batch_norm = create_model("vgg11_bn", small_input=True, num_classes=10)
    assert list(plain.state_dict()) == list(batch_norm.state_dict())
    layer_norm = create_model("vgg11", norm="layer", small_input=True, num_classes=10)
    assert any(isinstance(m, nn.GroupNorm) for m in layer_norm.modules())


@pytest.mark.slow  # 5-15 s: the default suite stays within 5 minutes
def test_small_vgg_without_batch_norm_learns():
    """torchvision's N(0, 0.01) fc initialization, right for 4096-unit layers, leaves the
    small form's 512-unit head at chance (loss 2.3026 for epochs on the digits); with He
    initialization of its hidden fc layers one batch is fitted in a few steps."""
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.images[:32], dtype=torch.float32).unsqueeze(1) / 16.0
    x = torch.nn.functional.interpolate(x, size=(32, 32), mode="bilinear") * 4 - 1
    y = torch.tensor(digits.target[:32])
    model = create_model("vgg11", small_input=True, in_channels=1, num_classes=10, dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    for _ in range(15):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 2.1  # the old initialization: 2.28 after the same steps
