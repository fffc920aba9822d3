"""The Vision Transformer against torchvision's (design.md, "Reference fidelity"): the same
parameter counts, torchvision's state dict loading after the one documented key mapping
(zoo.weights.from_torchvision_state_dict) and the same outputs at ViT-B/16; the
``weights="torchvision"`` entries; image sizes; attention maps and their drawing.

torchvision's models are built with random weights (no download); the larger sizes are
compared on the meta device (shapes only, no memory)."""

from __future__ import annotations

import pytest
import torch
import torchvision
from conftest import named
from torch import nn

from zoo import ZooError, create_model, get_model_info
from zoo.models.pretrained import get_pretrained, list_pretrained
from zoo.models.vit import SIZES, VisionTransformer, class_token_attention
from zoo.weights import from_torchvision_state_dict

NAMES = list(SIZES)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def vit_b_16_pair() -> tuple[nn.Module, VisionTransformer]:
    """torchvision's ViT-B/16, every weight perturbed (its zero head and class token would
    hide a wrong mapping), and ours loaded from its mapped state dict."""
    torch.manual_seed(0)
    reference = torchvision.models.vit_b_16().eval()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.02)
    ours = create_model("vit_b_16").eval()
    ours.load_state_dict(
        from_torchvision_state_dict("vit_b_16", reference.state_dict()), strict=True
    )
    return reference, ours


@pytest.mark.slow  # ViT-B/16 built twice: 2-4 s
def test_vit_b_16_outputs_match_torchvision(vit_b_16_pair):
    reference, ours = vit_b_16_pair
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(x)
        actual = ours(x)
    assert actual.shape == (2, 1000) and expected.abs().mean() > 0.1
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_and_mapped_keys_match_torchvision(name):
    """On the meta device: every mapped torchvision key is one of ours with the same shape,
    and the counts equal torchvision's and its weights' metadata."""
    with torch.device("meta"):
        reference = torchvision.models.get_model(name)
        ours = create_model(name)
    mapped = from_torchvision_state_dict(name, reference.state_dict())
    assert {k: v.shape for k, v in mapped.items()} == {
        k: v.shape for k, v in ours.state_dict().items()
    }
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    assert count(ours) == count(reference) == meta["num_params"]
    assert get_model_info(name).min_input_size_for({}) == meta["min_size"][0] == 224


def test_the_key_mapping_is_the_documented_one():
    state = {
        "class_token": 0,
        "conv_proj.weight": 0,
        "encoder.pos_embedding": 0,
        "encoder.layers.encoder_layer_11.ln_1.weight": 0,
        "encoder.layers.encoder_layer_11.self_attention.in_proj_weight": 0,
        "encoder.layers.encoder_layer_11.self_attention.out_proj.bias": 0,
        "encoder.layers.encoder_layer_11.ln_2.bias": 0,
        "encoder.layers.encoder_layer_11.mlp.0.weight": 0,
        "encoder.layers.encoder_layer_11.mlp.3.bias": 0,
        "encoder.ln.weight": 0,
        "heads.head.bias": 0,
    }
    assert list(from_torchvision_state_dict("vit_b_16", state)) == [
        "class_token",
        "conv_proj.weight",
        "positional.weight",
        "encoder.layers.11.norm1.weight",
        "encoder.layers.11.self_attn.in_proj_weight",
        "encoder.layers.11.self_attn.out_proj.bias",
        "encoder.layers.11.norm2.bias",
        "encoder.layers.11.linear1.weight",
        "encoder.layers.11.linear2.bias",
        "encoder.norm.weight",
        "head.bias",
    ]
    assert list(from_torchvision_state_dict("resnet18", state)) == list(state)  # CNNs: identity
    legacy = {  # torchvision's files saved before its MLPBlock became an MLP (0.14)
        "encoder.layers.encoder_layer_0.mlp.linear_1.weight": 0,
        "encoder.layers.encoder_layer_0.mlp.linear_2.bias": 0,
    }
    assert list(from_torchvision_state_dict("vit_b_16", legacy)) == [
        "encoder.layers.0.linear1.weight",
        "encoder.layers.0.linear2.bias",
    ]


@pytest.mark.slow  # ViT-B/16 built twice: 2-4 s
def test_weights_torchvision_maps_keys_and_loads(vit_b_16_pair, monkeypatch):
    """``weights="torchvision"`` (the download faked with a random model's state dict) maps
    torchvision's keys and gives torchvision's outputs."""
    reference, _ = vit_b_16_pair
    calls = []

    def fake_hub(url, **kwargs):
        calls.append(url)
        return reference.state_dict()

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_hub)
    model = create_model("vit_b_16", weights="torchvision").eval()
    assert calls[0].endswith(".pth") and "vit_b_16" in calls[0]
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_every_size_has_torchvision_entries_that_fit(name):
    """Each entry builds the model its weights fit (SWAG's end-to-end weights at 384 or 512
    pixels: the image size is part of the entry), counted on the meta device."""
    entries = list_pretrained(model=name)
    assert f"{name}.imagenet1k_v1" in entries
    assert get_pretrained("torchvision", model=name).name == f"{name}.imagenet1k_v1"
    for entry_name in entries:
        entry = get_pretrained(entry_name)
        assert entry.kwargs["image_size"] == entry.meta["input_size"][1]
        with torch.device("meta"):
            model = create_model(entry.model, **entry.kwargs)
        assert count(model) == entry.meta["num_params"], entry_name


# -- image sizes ------------------------------------------------------------------------------


def test_image_size_must_be_a_multiple_of_the_patch_size():
    with pytest.raises(ZooError, match=named("image_size=30", "patch_size=8")):
        create_model("vit_tiny", image_size=30)
    with pytest.raises(ZooError, match=named("image_size=200", "patch_size=16")):
        create_model("vit_b_16", image_size=200)


def test_an_input_of_another_size_is_refused_naming_both():
    model = create_model("vit_tiny")
    with pytest.raises(ZooError, match=named("image_size=32", "patch_size=8", "(1, 1, 40, 40)")):
        model(torch.randn(1, 1, 40, 40))


def test_small_images_and_other_channels():
    model = create_model("vit_tiny", image_size=16, patch_size=4, in_channels=3, num_classes=7)
    assert model.positional.weight.shape == (1, 17, 64)
    assert model(torch.randn(2, 3, 16, 16)).shape == (2, 7)
    assert get_model_info("vit_tiny").min_input_size_for({"image_size": 16}) == 16


def test_fast_and_reference_attention_give_the_same_model():
    torch.manual_seed(0)
    fast = create_model("vit_tiny", num_classes=10).eval()
    reference = create_model("vit_tiny", impl="reference").eval()
    with torch.no_grad():
        fast.head.weight.normal_()  # the zero head would hide any difference
    reference.load_state_dict(fast.state_dict())
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(reference(x), fast(x), atol=1e-5, rtol=1e-5)


def test_initialization_follows_torchvision():
    model = create_model("vit_tiny")
    assert bool((model.head.weight == 0).all()) and bool((model.class_token == 0).all())
    assert model.encoder.layers[0].norm1.eps == 1e-6
    assert model.positional.weight.std().item() == pytest.approx(0.02, rel=0.2)
    model.reset_classifier(3)
    assert model.head.weight.shape == (3, 64) and bool((model.head.weight == 0).all())


# -- attention maps ---------------------------------------------------------------------------


def test_attention_maps_per_layer_and_class_token_attention():
    torch.manual_seed(0)
    model = create_model("vit_tiny").eval()
    x = torch.randn(2, 1, 32, 32)
    maps = model.attention_maps(x)
    assert len(maps) == 4
    for weights in maps:
        assert weights.shape == (2, 4, 17, 17)
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 17))
    grid = class_token_attention(model, x[0], layer=1)
    torch.testing.assert_close(grid.flatten(), maps[1][0].mean(0)[0, 1:])
    assert grid.shape == (4, 4)
    rollout = class_token_attention(model, x[:1], rollout=True)
    assert rollout.shape == (4, 4) and 0 < rollout.sum() <= 1 + 1e-6
    # on the model's device (meta: shapes only, standing in for a GPU)
    on_meta = class_token_attention(model.to("meta"), x[:1].to("meta"), rollout=True)
    assert on_meta.device.type == "meta" and on_meta.shape == (4, 4)


def test_drawing_the_attention_returns_a_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from zoo.figures.attention import draw_vit_attention

    torch.manual_seed(0)
    model = create_model("vit_tiny")
    for image, rollout in ((torch.randn(1, 32, 32), False), (torch.randn(1, 1, 32, 32), True)):
        figure = draw_vit_attention(model, image, rollout=rollout, title="digit")
        assert isinstance(figure, Figure) and len(figure.axes) >= 3
    figure.savefig(tmp_path / "attention.png")
    assert (tmp_path / "attention.png").stat().st_size > 0
    assert model.training  # the drawing does not leave the model in eval mode
    color = create_model("vit_tiny", in_channels=3)
    assert isinstance(draw_vit_attention(color, torch.randn(3, 32, 32), layer=0), Figure)
    with pytest.raises(ZooError, match=named("VisionTransformer", "LeNet5")):
        draw_vit_attention(create_model("lenet5"), torch.randn(1, 32, 32))
