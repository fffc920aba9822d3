"""The contract every registered model keeps, asserted for each name of ``list_models()``
(as timm's tests/test_models.py does): the example input of its default configuration, the
output shape, a gradient for every parameter, the ``save_pretrained`` round trip, bad
arguments refused with the same message, and a config under configs/model/ that the training
system accepts. Predictive models (classifiers, regressors, language models) also keep the
``num_classes`` override, features then head equals forward, and ``reset_classifier``;
generative models keep theirs: an autoencoder gives back images of its input's shape (a VAE
with its posterior), a GAN turns noise into images its discriminator scores, and both
``sample`` images in [0, 1] (GANs and VAEs). A new model passes these by being registered;
family test files hold only what is specific to the family (fidelity to torchvision, the
papers' layouts).

The fast configuration: the small-input form where a model has one, 10 classes, 32-pixel
images (the heaviest networks at their smallest practical size), the example input's 8 steps
for sequence models.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import named
from torch import nn

from zoo import ZooError, create_model, get_model_info, list_models, load_pretrained
from zoo import save_pretrained as save
from zoo.config.checks import check_config, check_model_fits_data, model_kwargs
from zoo.registry import check_builder_kwargs

NAMES = list_models()
# Models that make or reconstruct images rather than predict targets.
GENERATIVE = [n for n in NAMES if {"autoencoder", "gan"} & set(get_model_info(n).tasks)]
PREDICTIVE = [n for n in NAMES if n not in GENERATIVE]
CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "model"
# ResNet-152's smallest input is 1 pixel, but batch norm over 1×1 maps of a batch of 2 gives
# useless, non-finite gradients: 16 pixels.
FAST_SIZES = {"vgg19_bn": 16, "resnet152": 16, "inception_v3": 7}
# The bigger members of a family run with `pytest -m slow` (the suite stays under 5 minutes):
# ViT-L (300M parameters at any image size, ~40 s a model through the tests that build it),
# ViT-B (3 s a round trip), the deeper VGGs (1.4 s an example input) and the deeper ResNets
# (2-4 s a model). Each family's code runs always in a smaller member: ViT-Tiny, VGG-11 with
# and without batch norm, ResNet-18 (basic blocks), ResNet-50 (bottlenecks), ResNet-20 to
# 56 (CIFAR); tests/models/test_vit.py checks ViT-B's and ViT-L's layouts against
# torchvision's.
HEAVY = {
    "vgg11_bn",  # VGG-11's code plus batch norm, which the small ResNets run always
    "vit_l_16",
    "vit_l_32",
    "vit_b_16",
    "vit_b_32",
    *(f"vgg{depth}{bn}" for depth in (13, 16, 19) for bn in ("", "_bn")),
    "resnet34",
    "resnet101",
    "resnet152",
    "resnet110",
}


def takes(name: str, argument: str) -> bool:
    return argument in get_model_info(name).parameters


def built(names: list[str]) -> list:
    """``names`` for a parametrization that builds each model, the heavy ones marked slow."""
    return [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in names]


def language_model_only(name: str) -> bool:
    """A model whose only task is language modeling (a GPT): token ids in, logits (B, T,
    num_classes) out, one per step, its head tied to its vocabulary (num_classes is
    vocab_size, no reset_classifier)."""
    return "classification" not in get_model_info(name).tasks


def fast_kwargs(name: str, **kwargs) -> dict:
    if takes(name, "small_input"):
        kwargs.setdefault("small_input", True)
    if takes(name, "image_size"):  # the ViTs take exactly the size they are built for
        kwargs.setdefault("image_size", FAST_SIZES.get(name, 32))
    if takes(name, "num_classes"):
        kwargs.setdefault("num_classes", 10)
    if takes(name, "width") and name in GENERATIVE:
        kwargs.setdefault("width", 8)
    if language_model_only(name) and takes(name, "vocab_size") and "num_classes" in kwargs:
        kwargs.setdefault("vocab_size", kwargs["num_classes"])  # outputs: the vocabulary
    return kwargs


def fast_model(name: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, **fast_kwargs(name, **kwargs))


def fast_input(name: str, batch_size: int = 2, **kwargs) -> torch.Tensor:
    info = get_model_info(name)
    size = FAST_SIZES.get(name, 32) if info.input_kind == "image" else None
    generator = torch.Generator().manual_seed(0)
    return info.example_input(
        batch_size, size=size, generator=generator, **fast_kwargs(name, **kwargs)
    )


def output_shape(name: str, x: torch.Tensor, classes: int) -> tuple[int, ...]:
    """(B, classes), or (B, T, classes) for a language model's logits per step."""
    return (len(x), x.shape[1], classes) if language_model_only(name) else (len(x), classes)


def outputs_of(output) -> list[torch.Tensor]:
    return [output] if isinstance(output, torch.Tensor) else list(output)


def test_registry_is_populated():
    assert len(NAMES) >= 23
    assert {"mlp", "lenet5", "alexnet", "vgg11", "resnet18", "resnet20", "googlenet"} <= set(NAMES)


@pytest.mark.parametrize("name", built(PREDICTIVE))
def test_example_input_of_the_default_configuration(name):
    """The declared example input goes through the model as ``model_info`` builds it."""
    info = get_model_info(name)
    model = create_model(name).eval()
    example = info.example_input(1)
    assert list(example.shape[1:]) == list(info.default_input_size)
    with torch.no_grad():
        logits = model(example)
    default_classes = info.parameters["num_classes"].default
    if default_classes is None:  # a language model's outputs are its vocabulary
        default_classes = info.parameters["vocab_size"].default
    assert logits.shape == output_shape(name, example, default_classes)


@pytest.mark.parametrize("name", built(PREDICTIVE))
def test_forward_shape_and_features_then_head(name):
    model = fast_model(name).eval()
    x = fast_input(name)
    with torch.no_grad():
        logits = model(x)
        head = model.forward_head(model.forward_features(x))
    assert isinstance(logits, torch.Tensor) and logits.shape == output_shape(name, x, 10)
    torch.testing.assert_close(head, logits)


def training_outputs(name: str, model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """What training differentiates: the outputs, or for a GAN the discriminator's logits on
    generated images (which reach both networks)."""
    if "gan" in get_model_info(name).tasks:
        return [model.discriminate(model(x))]
    return outputs_of(model(x))


@pytest.mark.parametrize("name", built(NAMES))
def test_every_parameter_gets_a_finite_gradient(name):
    kwargs = {"aux_logits": True} if takes(name, "aux_logits") else {}
    model = fast_model(name, **kwargs).train()
    sum(o.square().mean() for o in training_outputs(name, model, fast_input(name))).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", built(PREDICTIVE))
def test_num_classes_override(name):
    model = fast_model(name, num_classes=7).eval()
    x = fast_input(name, num_classes=7)
    with torch.no_grad():
        assert model(x).shape == output_shape(name, x, 7)
    assert model.zoo_spec["kwargs"]["num_classes"] == 7


@pytest.mark.parametrize("name", built([n for n in PREDICTIVE if takes(n, "in_channels")]))
def test_in_channels_override(name):
    """Another channel count than the default: images (B, C, H, W), sequences (B, T, C)."""
    info = get_model_info(name)
    channels = 2 if info.parameters["in_channels"].default == 1 else 1
    model = fast_model(name, in_channels=channels).eval()
    x = info.example_input(2, size=FAST_SIZES.get(name, 32), in_channels=channels)
    assert x.shape[1 if info.input_kind == "image" else -1] == channels
    with torch.no_grad():
        assert model(x).shape == (2, 10)


@pytest.mark.parametrize("name", built([n for n in PREDICTIVE if not language_model_only(n)]))
def test_reset_classifier_installs_a_fresh_head(name):
    kwargs = {"aux_logits": True} if takes(name, "aux_logits") else {}
    model = fast_model(name, **kwargs)
    old_parameters = {id(p) for p in model.parameters()}
    model.reset_classifier(5)
    x = fast_input(name)
    with torch.no_grad():
        assert model.eval()(x).shape == (2, 5)
        assert all(o.shape == (2, 5) for o in outputs_of(model.train()(x)))
    assert any(id(p) not in old_parameters for p in model.parameters())
    model.to(torch.bfloat16).reset_classifier(3)  # the new head follows the model's dtype
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


@pytest.mark.parametrize("name", built(NAMES))
def test_save_pretrained_round_trip(name, tmp_path):
    model = fast_model(name).eval()
    save(model, tmp_path / name)
    loaded = load_pretrained(tmp_path / name).eval()
    assert loaded.zoo_spec == model.zoo_spec
    x = fast_input(name)
    with torch.no_grad():
        torch.manual_seed(0)  # a VAE draws its code
        expected = outputs_of(model(x))
        torch.manual_seed(0)
        for got, want in zip(outputs_of(loaded(x)), expected, strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


# -- generative models ------------------------------------------------------------------------
@pytest.mark.parametrize("name", GENERATIVE)
@pytest.mark.parametrize("channels", [1, 3])
def test_generative_models_give_images_of_the_data_shape(name, channels):
    """An autoencoder reconstructs (B, C, H, W) from (B, C, H, W), a VAE with its posterior
    (B, k) twice; a GAN turns (B, k) noise into (B, C, H, W) images in [-1, 1] and scores
    each with one logit; all for 28- and 32-pixel images."""
    for size in (28, 32):
        model = fast_model(name, in_channels=channels, image_size=size).eval()
        x = get_model_info(name).example_input(
            2, size=size, **fast_kwargs(name, in_channels=channels, image_size=size)
        )
        with torch.no_grad():
            output = model(x)
        image = (2, channels, size, size)
        if "gan" in get_model_info(name).tasks:
            assert x.shape == (2, model.latent_dim)
            assert output.shape == image and output.abs().max() <= 1
            assert model.discriminate(output).shape == (2,)
        elif isinstance(output, tuple):  # a VAE
            assert output.reconstruction.shape == image
            assert output.mean.shape == output.log_var.shape == (2, model.latent_dim)
        else:
            assert output.shape == image
        if hasattr(model, "encode"):
            assert model.encode(x).shape == (2, model.latent_dim)


@pytest.mark.parametrize("name", [n for n in GENERATIVE if hasattr(fast_model(n), "sample")])
def test_sample_gives_images_in_the_unit_range_reproducibly(name):
    model = fast_model(name).eval()
    first = model.sample(4, generator=torch.Generator().manual_seed(1))
    again = model.sample(4, generator=torch.Generator().manual_seed(1))
    other = model.sample(4, generator=torch.Generator().manual_seed(2))
    assert first.shape == (4, *model.image_shape)
    assert first.min() >= 0 and first.max() <= 1
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.equal(first, other)
    model.train()  # sampling a training model leaves its mode and batch-norm statistics alone
    buffers = {k: b.clone() for k, b in model.named_buffers()}
    torch.testing.assert_close(model.sample(4, generator=torch.Generator().manual_seed(1)), first)
    assert model.training
    assert all(torch.equal(b, buffers[k]) for k, b in model.named_buffers())


def bad_arguments(name: str) -> list[tuple[dict, tuple[str, ...]]]:
    """Bad keyword arguments of model ``name``, each with what its refusal names: the key, the
    bad value and what is allowed (for an unknown key, one of the model's own arguments)."""
    first = next(iter(get_model_info(name).parameters))
    cases = [({"not_an_argument": 1}, ("'not_an_argument'", first))]
    if takes(name, "num_classes"):
        cases += [
            ({"num_classes": 0}, ("num_classes", ">= 1", "0")),
            ({"num_classes": 2.5}, ("num_classes", ">= 1", "2.5")),
            ({"num_classes": "10"}, ("num_classes", ">= 1", "'10'")),
        ]
    if takes(name, "latent_dim"):
        cases += [
            ({"latent_dim": 0}, ("latent_dim", ">= 1", "0")),
            ({"latent_dim": "8"}, ("latent_dim", ">= 1", "'8'")),
        ]
    if takes(name, "in_channels"):
        cases.append(({"in_channels": 0}, ("in_channels", ">= 1", "0")))
    if takes(name, "dropout"):
        cases.append(({"dropout": 1.0}, ("dropout", "[0, 1)", "1.0")))
    return cases


@pytest.mark.parametrize("name", NAMES)
def test_bad_arguments_are_refused_alike(name):
    for kwargs, fragments in bad_arguments(name):
        with pytest.raises(ZooError, match=named(f"'{name}'", *fragments)):
            create_model(name, **kwargs)


# The data a model's config is checked with, by the model's first input kind: the default
# data (32-pixel digits) for images and vectors, the digits read row by row (8 steps of 8
# features) for sequences, the default text for token ids (of language models).
DATA_FOR_INPUT_KIND = {"sequence": "digits_rows", "tokens": "text"}


@pytest.mark.parametrize("name", NAMES)
def test_has_a_config_the_training_system_accepts(name, make_config):
    """configs/model/<name>.yaml composes with the default data (or the digits as sequences,
    for sequence models) into builder arguments the model takes (the small-input form on
    32-pixel digits) and passes every check."""
    assert (CONFIGS / f"{name}.yaml").is_file(), f"configs/model/{name}.yaml is missing"
    info = get_model_info(name)
    data = DATA_FOR_INPUT_KIND.get(info.input_kind)
    lm = ["task=language_model"] if language_model_only(name) else []
    generative = [f"task={info.tasks[0]}"] if name in GENERATIVE else []
    cfg = make_config(f"model={name}", *([f"data={data}"] if data else []), *lm, *generative)
    if lm:
        check_config(cfg)  # reads the text's vocabulary into cfg.data
    kwargs = model_kwargs(cfg)
    if name in GENERATIVE:  # sized by the data: 1-channel 32-pixel digits
        assert (kwargs["in_channels"], kwargs["image_size"]) == (1, 32)
    else:
        assert kwargs["num_classes"] == (cfg.data.vocab_size if lm else 10)
    assert kwargs.get("small_input", True) is True
    check_builder_kwargs(info, kwargs)
    check_model_fits_data(info, cfg.data, kwargs)
    assert check_config(cfg).name == name
