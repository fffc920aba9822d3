"""The registry and public API: names, wildcards, errors, metadata, no Lightning import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from conftest import named, names
from torch import nn

import zoo
from zoo import ZooError, create_model, list_models, load_pretrained, save_pretrained


def test_list_models_with_wildcards():
    names = list_models()
    assert {"lenet5", "mlp"} <= set(names)
    assert names == sorted(names)
    assert list_models("lenet*") == ["lenet5"]
    assert list_models("no-such-*") == []
    assert "mlp" in list_models(family="mlp")
    assert "lenet5" in list_models(task="classification")


def test_create_model_returns_plain_module():
    model = create_model("lenet5", num_classes=7)
    assert isinstance(model, nn.Module)
    assert model.classifier.out_features == 7
    assert model.zoo_spec["name"] == "lenet5"
    assert model.zoo_spec["kwargs"]["num_classes"] == 7


def test_create_model_and_builder_reach_the_same_function():
    a, b = create_model("mlp", num_classes=3, depth=1), zoo.models.mlp(num_classes=3, depth=1)
    assert type(a) is type(b)
    assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]


def test_unknown_model_names_the_closest():
    with pytest.raises(ZooError, match=named("'lenet'", "'lenet5'", "mlp")):
        create_model("lenet")


def test_unknown_argument_names_the_allowed_ones():
    with pytest.raises(ZooError, match=named("'lenet5'", "'num_clases'", "num_classes")):
        create_model("lenet5", num_clases=3)


def test_positional_arguments_are_refused():
    with pytest.raises(TypeError):
        zoo.models.lenet5(10)


def test_model_info_counts_parameters_and_flops():
    info = zoo.model_info("lenet5")
    assert info["num_params"] == sum(p.numel() for p in create_model("lenet5").parameters())
    assert info["min_input_size"] == 32
    # Each convolution/linear layer costs 2 x (multiply-adds); LeNet-5 on 32x32:
    # C1 28*28*6*25, C3 10*10*16*150, C5 120*400, F6 120*84, out 84*10.
    macs = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 120 * 400 + 120 * 84 + 84 * 10
    assert info["flops"] == 2 * macs


@pytest.mark.slow  # a process of its own or a whole run: 2-6 s
def test_importing_zoo_does_not_import_lightning_or_hydra():
    code = (
        "import sys, zoo; zoo.create_model('lenet5'); "
        "top = {m.split('.')[0] for m in sys.modules}; "
        "bad = top & {'lightning', 'pytorch_lightning', 'hydra'}; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow  # 5-15 s: the default suite stays within 5 minutes
def test_importing_zoo_imports_torch_on_first_use_of_the_api():
    code = (
        "import sys, zoo; assert 'torch' not in sys.modules; "
        "assert 'lenet5' in zoo.list_models() and 'torch' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow  # 5-15 s: the default suite stays within 5 minutes
def test_a_model_function_loads_weights_without_importing_zoo_first(tmp_path):
    """``zoo.models.lenet5(weights=folder)`` in a fresh process: the weights loader is
    installed on first use, not only by ``import zoo``'s public names."""
    model = create_model("lenet5", num_classes=10)
    zoo.save_pretrained(model, tmp_path / "lenet5")
    code = (
        "import sys, torch; from zoo.models import lenet5; "
        f"model = lenet5(weights={str(tmp_path / 'lenet5')!r}); "
        f"torch.save(model.state_dict(), {str(tmp_path / 'loaded.pt')!r})"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    loaded = torch.load(tmp_path / "loaded.pt", weights_only=True)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded[key], value), key


def test_registering_twice_is_refused():
    with pytest.raises(ValueError, match=named("'mlp'", "registered twice")):
        zoo.register_model(family="mlp")(zoo.models.mlp.__wrapped__)


@pytest.mark.parametrize("adam_lr", [0, -1e-3, "1e-4", True])
def test_a_declared_adam_rate_must_be_a_positive_number(adam_lr):
    with pytest.raises(ValueError, match=named("adam_lr", "> 0", "None", repr(adam_lr))):
        zoo.register_model(family="mlp", name="not_registered", adam_lr=adam_lr)


@pytest.mark.parametrize(
    ("call", "fragments"),
    [
        (lambda: create_model(5), ("zoo.list_models()", "5")),
        (lambda: create_model(None), ("zoo.list_models()", "None")),
        (
            lambda: create_model("lenet5", weights=True),
            ("weights=", "zoo.pretrained.list_pretrained()", "True"),
        ),
        (lambda: load_pretrained(None), ("weights", "'lenet5.digits'", "None")),
    ],
)
def test_a_wrong_type_at_the_api_is_one_clear_error(call, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        call()


def test_saving_a_model_onto_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(ZooError, match=named(repr(str(tmp_path / "taken")), "folder")):
        save_pretrained(create_model("lenet5"), tmp_path / "taken")


@pytest.mark.parametrize(
    ("name", "shape"),
    [("lenet5", (2, 1, 28, 28)), ("lenet5", (2, 3, 32, 32)), ("lenet5", (1, 32, 32))],
)
def test_a_fixed_size_model_names_the_shape_it_takes(name, shape):
    with pytest.raises(ZooError, match=named("LeNet-5", "(N, 1, 32, 32)", str(shape))):
        create_model(name)(torch.zeros(shape))


@pytest.mark.parametrize(("name", "kwargs"), [("lenet5", {}), ("conv_autoencoder", {})])
def test_rgb_images_into_a_grayscale_model_are_told_about_channels(name, kwargs):
    """A batch of the right size with 3 channels: the hint is the channels to build the model
    with, not another image size."""
    model = create_model(name, **kwargs)
    size = model.image_shape[1] if hasattr(model, "image_shape") else 32
    with pytest.raises(ZooError) as refused:
        model(torch.zeros(2, 3, size, size))
    assert names(str(refused.value), "in_channels=1", "3 channels", "in_channels=3")
    assert "input_size" not in str(refused.value) and "image_size" not in str(refused.value)
