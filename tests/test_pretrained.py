"""Pretrained folders, the weights registry, adaptation to new heads and input channels."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
from conftest import named
from torch import nn

import zoo.models.pretrained
from zoo import ZooError, create_model, load_pretrained, save_pretrained
from zoo.models.pretrained import (
    get_pretrained,
    list_pretrained,
    load_checkpoint,
    torchvision_checkpoint_path,
)
from zoo.weights import adapt_input_conv


def test_save_and_load_round_trip(tmp_path):
    model = create_model("mlp", in_features=8, hidden_sizes=[6], num_classes=3, norm="batch")
    with torch.no_grad():
        model.features[2].running_mean.uniform_()  # a buffer, not only parameters
    folder = save_pretrained(model, tmp_path / "m", metrics={"test/acc": 0.5}, command="x")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["name"] == "mlp" and config["model"]["kwargs"]["hidden_sizes"] == [6]
    assert config["metrics"] == {"test/acc": 0.5}
    loaded = load_pretrained(folder)
    x = torch.randn(4, 8)
    torch.testing.assert_close(loaded.eval()(x), model.eval()(x), rtol=0, atol=0)
    assert loaded.pretrained_config["command"] == "x"
    # create_model with the folder does the same
    again = create_model("mlp", weights=folder)
    torch.testing.assert_close(again.eval()(x), model(x), rtol=0, atol=0)


def test_save_needs_a_registry_model(tmp_path):
    with pytest.raises(ZooError, match=named("Linear", "zoo.create_model")):
        save_pretrained(nn.Linear(2, 2), tmp_path)


def test_weights_for_another_model_or_no_folder(tmp_path):
    save_pretrained(create_model("mlp"), tmp_path / "mlp")
    with pytest.raises(ZooError, match=named(f"'{tmp_path / 'mlp'}'", "'mlp'", "'lenet5'")):
        create_model("lenet5", weights=tmp_path / "mlp")
    nothing = f"'{tmp_path / 'nothing-here'}'"
    with pytest.raises(
        ZooError, match=named("'lenet5'", nothing, *list_pretrained(model="lenet5"))
    ):
        create_model("lenet5", weights=tmp_path / "nothing-here")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ZooError, match=named(f"'{tmp_path / 'half'}'", "model.safetensors")):
        load_pretrained(tmp_path / "half")


def test_architecture_mismatch_is_refused(tmp_path):
    save_pretrained(create_model("mlp", hidden_sizes=[5]), tmp_path / "m")
    weights = f"'{tmp_path / 'm' / 'model.safetensors'}'"
    with pytest.raises(ZooError, match=named(weights, "MLP", "features.1.bias", "(5,)", "(7,)")):
        create_model("mlp", weights=tmp_path / "m", hidden_sizes=[7])


def test_new_num_classes_reinitializes_the_head_and_says_so(tmp_path, caplog):
    source = create_model("lenet5", num_classes=10)
    save_pretrained(source, tmp_path / "m")
    with caplog.at_level(logging.INFO, logger="zoo.models.pretrained"):
        model = create_model("lenet5", weights=tmp_path / "m", num_classes=4)
    assert "re-initialized the head of lenet5 for 4 classes (weights had 10)" in caplog.text
    assert model.classifier.out_features == 4
    torch.testing.assert_close(model.features[0].weight, source.features[0].weight)
    assert model.zoo_spec["kwargs"]["num_classes"] == 4


def test_one_input_channel_sums_the_color_filters(tmp_path):
    source = create_model("lenet5", in_channels=3).eval()
    save_pretrained(source, tmp_path / "m")
    gray = create_model("lenet5", weights=tmp_path / "m", in_channels=1).eval()
    x = torch.randn(2, 1, 32, 32)
    # A gray image is the color image whose three channels are equal.
    torch.testing.assert_close(gray(x), source(x.expand(-1, 3, -1, -1)), rtol=1e-5, atol=1e-5)


def test_more_input_channels_repeat_and_rescale():
    weight = torch.randn(4, 3, 5, 5)
    adapted = adapt_input_conv(weight, 6)
    torch.testing.assert_close(adapted, torch.cat([weight, weight], dim=1) * 0.5)
    assert adapt_input_conv(weight, 2).shape == (4, 2, 5, 5)
    torch.testing.assert_close(adapt_input_conv(weight, 1), weight.sum(1, keepdim=True))


def test_load_checkpoint_needs_no_config(make_config):
    from zoo.training.run import train

    cfg = make_config(
        "model=mlp", "data=digits_flat", "augmentation=[none]", "trainer.max_epochs=1"
    )
    train(cfg)
    checkpoint = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    model = load_checkpoint(checkpoint).eval()
    exported = load_pretrained(Path(cfg.paths.output_dir) / "model").eval()
    x = torch.randn(3, 64)
    torch.testing.assert_close(model(x), exported(x))  # one epoch: last is the best
    # the run's folder stands for its exported model/, as in zoo.apps.predict
    from_run = load_pretrained(cfg.paths.output_dir).eval()
    torch.testing.assert_close(from_run(x), exported(x))
    assert from_run.class_names == exported.class_names


def test_unknown_weights_name_lists_the_known_ones():
    known = list_pretrained(model="mlp")
    assert known
    with pytest.raises(ZooError, match=named("'mlp'", "'mlp.imagenet'", *known)):
        create_model("mlp", weights="mlp.imagenet")


def test_torchvision_weights_offline_name_the_file_and_where_to_put_it(monkeypatch, tmp_path):
    names = list_pretrained(model="resnet18")
    if not names:
        pytest.skip("no CNNs registered")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    entry = get_pretrained("torchvision", model="resnet18")
    expected = torchvision_checkpoint_path(entry.meta["url"])
    assert str(expected).startswith(str(tmp_path))
    with pytest.raises(ZooError, match=named(entry.meta["url"], str(expected))):
        create_model("resnet18", weights="torchvision")


def test_torchvision_weights_load_through_torch_hub(monkeypatch):
    torchvision_models = pytest.importorskip("torchvision.models")
    if not list_pretrained(model="resnet18"):
        pytest.skip("no CNNs registered")
    reference = torchvision_models.resnet18().eval()
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
    calls = []

    def fake_hub(url, **kwargs):
        calls.append((url, kwargs))
        return reference.state_dict()

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_hub)
    model = create_model("resnet18", weights="resnet18.imagenet1k_v1").eval()
    assert calls[0][1]["weights_only"] is True and calls[0][0].endswith(".pth")
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=1e-5, atol=1e-5)
    entry = get_pretrained("torchvision", model="resnet18")
    assert entry.name == "resnet18.imagenet1k_v1" and entry.meta["num_params"] == 11_689_512
    assert entry.meta["metrics"]["acc@1"] == pytest.approx(69.758)
    assert entry.transforms()(torch.zeros(3, 300, 300, dtype=torch.uint8)).shape == (3, 224, 224)


def test_googlenet_entries_fold_transform_input_into_the_normalization():
    if "googlenet" not in {get_pretrained(n).model for n in list_pretrained("googlenet.*")}:
        pytest.skip("no googlenet registered")
    entry = get_pretrained("torchvision", model="googlenet")
    assert entry.meta["normalization"] == {"mean": [0.5] * 3, "std": [0.5] * 3}
    assert entry.kwargs["aux_logits"] is False  # as torchvision builds it


def test_torchvision_entries_build_the_model_their_weights_fit():
    """An entry's parameter count (torchvision's metadata) equals zoo's model built with the
    entry's arguments: the models whose entries set more than the classes and channels (the
    fidelity tests compare every architecture's count with torchvision's)."""
    for name in [
        *list_pretrained("googlenet.*"),
        *list_pretrained("inception_v3.*"),
        "resnet18.imagenet1k_v1",
    ]:
        entry = get_pretrained(name)
        model = create_model(entry.model, **entry.kwargs)
        assert sum(p.numel() for p in model.parameters()) == entry.meta["num_params"], name


def test_registry_is_cached():
    assert zoo.models.pretrained._entries() is zoo.models.pretrained._entries()


@pytest.mark.parametrize("name", list_pretrained("*.digits*"))
def test_shipped_weights_give_their_recorded_accuracy(name):
    """The weights shipped in zoo/pretrained load offline and score on the digits test split
    what their training run recorded."""
    from zoo.data import DigitsDataModule

    entry = get_pretrained(name)
    model = create_model(entry.model, weights=name).eval()
    data = DigitsDataModule(flatten=entry.meta["dataset"] == "digits_flat")
    data.setup()
    assert data.mean == pytest.approx(entry.meta["normalization"]["mean"])
    inputs, targets = data.splits["test"]
    with torch.no_grad():
        accuracy = (model(data.normalization(inputs)).argmax(1) == targets).float().mean().item()
    assert accuracy == pytest.approx(entry.meta["metrics"]["test/acc"], abs=1e-6)
    assert entry.meta["command"].startswith("python train.py experiment=")


def test_torchvision_googlenet_weights_drop_the_auxiliary_heads(monkeypatch):
    """torchvision's GoogLeNet file holds the auxiliary classifiers; built as torchvision
    builds it (without them) the model loads the rest and matches torchvision's outputs on
    inputs normalized with 0.5/0.5 (torchvision's transform_input, folded in)."""
    torchvision_models = pytest.importorskip("torchvision.models")
    if not list_pretrained(model="googlenet"):
        pytest.skip("no googlenet registered")
    reference = torchvision_models.googlenet(
        aux_logits=True, transform_input=False, init_weights=True
    )
    monkeypatch.setattr(
        torch.hub, "load_state_dict_from_url", lambda url, **kw: reference.state_dict()
    )
    model = create_model("googlenet", weights="torchvision").eval()
    assert model.aux1 is None and model.aux2 is None
    with_aux = create_model("googlenet", weights="torchvision", aux_logits=True)
    torch.testing.assert_close(with_aux.aux1.fc2.weight, reference.aux1.fc2.weight)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference.eval()(x), rtol=1e-5, atol=1e-5)


def test_the_library_names_the_bad_file_in_one_error(tmp_path):
    """load_pretrained, create_model(weights=...) and load_checkpoint raise our error, naming
    the file, for a missing file, a bad config.json, a truncated or non-safetensors weights
    file, and arguments of the wrong type."""
    from zoo.models.pretrained import load_checkpoint

    good = tmp_path / "good"
    save_pretrained(create_model("lenet5"), good)
    broken_json = tmp_path / "broken_json"
    save_pretrained(create_model("lenet5"), broken_json)
    (broken_json / "config.json").write_text("{not json")
    no_model = tmp_path / "no_model"
    save_pretrained(create_model("lenet5"), no_model)
    (no_model / "config.json").write_text('{"model": 3}')
    truncated = tmp_path / "truncated"
    save_pretrained(create_model("lenet5"), truncated)
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    not_safetensors = tmp_path / "not_safetensors"
    save_pretrained(create_model("lenet5"), not_safetensors)
    (not_safetensors / "model.safetensors").write_text("hello")
    (tmp_path / "empty.ckpt").write_bytes(b"")
    (tmp_path / "text.ckpt").write_text("not a checkpoint")
    torch.save({"something": 1}, tmp_path / "plain.ckpt")

    def quoted(path: Path) -> str:
        return f"'{path}'"

    cases = [  # each refusal names the file and what it lacks or what is wrong
        (
            lambda: load_pretrained(tmp_path / "missing"),
            (quoted(tmp_path / "missing"), "config.json", "model.safetensors"),
        ),
        (lambda: load_pretrained(broken_json), (quoted(broken_json / "config.json"), "JSON")),
        (lambda: load_pretrained(no_model), (quoted(no_model / "config.json"), "model.name")),
        (
            lambda: load_pretrained(truncated),
            (quoted(truncated / "model.safetensors"), "safetensors"),
        ),
        (
            lambda: create_model("lenet5", weights=not_safetensors),
            (quoted(not_safetensors / "model.safetensors"), "safetensors"),
        ),
        (
            lambda: load_pretrained(good, num_classes="3"),
            ("'lenet5'", "num_classes", ">= 1", "'3'"),
        ),
        (lambda: load_checkpoint(tmp_path / "nope.ckpt"), (quoted(tmp_path / "nope.ckpt"),)),
        (lambda: load_checkpoint(tmp_path), (quoted(tmp_path), "folder")),
        (lambda: load_checkpoint(tmp_path / "empty.ckpt"), (quoted(tmp_path / "empty.ckpt"),)),
        (lambda: load_checkpoint(tmp_path / "text.ckpt"), (quoted(tmp_path / "text.ckpt"),)),
        (
            lambda: load_checkpoint(tmp_path / "plain.ckpt"),
            (quoted(tmp_path / "plain.ckpt"), "builder"),
        ),
    ]
    for call, fragments in cases:
        with pytest.raises(ZooError, match=named(*fragments)) as caught:
            call()
        assert "weights_only" not in str(caught.value)


def test_load_pretrained_takes_a_registered_name_too():
    model = load_pretrained("lenet5.digits")
    assert model.zoo_spec["name"] == "lenet5"
    assert model.pretrained_config["name"] == "lenet5.digits"
