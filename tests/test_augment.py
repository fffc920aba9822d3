"""Batched augmentation: every option of configs/augmentation/ draws its parameters per
image, transforms the whole batch at once, keeps its documented ranges, and a fixed seed
reproduces the batch. zoo's transforms (zoo.augment.image) are checked against
torchvision.transforms.v2's functional ops, an independent reference, image by image with the
parameters each image drew."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from conftest import named
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from zoo import ZooError
from zoo.augment import AUGMENTATIONS_FOR, BatchAugmentation, PerImage, build_augmentation
from zoo.augment.image import (
    ColorJitter,
    RandomAffine,
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomRotation,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "augmentation"
ALL_OPTIONS = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem != "none")
OPTIONS = [o for o in ALL_OPTIONS if o in AUGMENTATIONS_FOR["image"]]
BILINEAR = TF.InterpolationMode.BILINEAR


def test_every_option_is_listed_for_its_input_kinds():
    listed = [o for options in AUGMENTATIONS_FOR.values() for o in options]
    assert sorted(listed) == ALL_OPTIONS


def same_image_batch(n: int = 16, channels: int = 3) -> torch.Tensor:
    """``n`` copies of one textured image: any difference between outputs comes from the
    per-image draws."""
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(channels, 32, 32, generator=generator)
    return image.expand(n, -1, -1, -1).contiguous()


def images(n: int, channels: int = 3, height: int = 32, width: int = 32) -> torch.Tensor:
    return torch.rand(n, channels, height, width, generator=torch.Generator().manual_seed(1))


def pipeline(make_config, option: str) -> BatchAugmentation:
    cfg = make_config(f"augmentation=[{option}]", "data=digits")
    augmentation = build_augmentation(cfg.augmentation, input_kind="image")
    assert augmentation is not None
    return augmentation


def option_transform(option: str):
    """The transform of ``configs/augmentation/<option>.yaml`` (a single-transform option)."""
    spec = OmegaConf.load(CONFIG_DIR / f"{option}.yaml")[option]
    return instantiate(spec, _convert_="all")


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_is_batched_per_image_and_seeded(make_config, option):
    augmentation = pipeline(make_config, option)
    assert not any(isinstance(t, PerImage) for t in augmentation.transforms.values())
    assert all(type(t).__module__ == "zoo.augment.image" for t in augmentation.transforms.values())
    batch = same_image_batch()
    torch.manual_seed(1)
    first = augmentation(batch)
    torch.manual_seed(1)
    again = augmentation(batch)
    assert first.shape == batch.shape and first.dtype == batch.dtype
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    # images of one batch get different draws (with p=0.5 options some stay unchanged)
    distinct = {tuple(image.flatten()[::7].tolist()) for image in first}
    assert len(distinct) > 1
    torch.manual_seed(2)
    assert not torch.equal(augmentation(batch), first)


def test_the_digit_recipe_keeps_its_ranges():
    """Rotations up to 15 degrees and shifts up to 1/8 of the image, as configured."""
    affine = option_transform("digits")
    torch.manual_seed(0)
    affine(torch.rand(512, 1, 32, 32))
    params = affine.last_params
    assert params["applied"].all()  # every image is transformed
    angles, shifts = params["angle"], params["translation"]
    assert angles.shape == (512,) and shifts.shape == (512, 2)
    assert angles.abs().max() <= 15 and angles.abs().max() > 13
    assert shifts.abs().max() <= 0.125 * 32 and shifts.abs().max() > 3.5
    assert angles.std() > 5  # spread over the range, one draw per image
    assert (params["scale"] == 1).all()  # no scaling configured


def test_the_other_options_keep_their_ranges():
    torch.manual_seed(0)
    batch = torch.rand(2048, 3, 32, 32)
    rotate = option_transform("rotate")
    rotate(batch[:512])
    angles = rotate.last_params["angle"]
    assert angles.abs().max() <= 15 and angles.abs().max() > 14 and angles.std() > 5

    crop = RandomCrop(32, padding=4)  # configs/augmentation/crop.yaml on 32x32 images
    crop(batch)
    offsets = crop.last_params["offset"]
    assert set(offsets.flatten().tolist()) == set(range(9))  # every shift of the 4-pixel pad

    flip = option_transform("flip")
    flip(batch)
    assert 0.45 < flip.last_params["applied"].float().mean() < 0.55

    erasing = option_transform("erasing")
    erasing(batch)
    applied, box = erasing.last_params["applied"], erasing.last_params["box"]
    assert 0.45 < applied.float().mean() < 0.55
    top, left, height, width = box.T
    area = (height * width).float() / (32 * 32)
    assert area.min() >= 0.015 and area.max() <= 0.23  # scale [0.02, 0.2], rounded sides
    assert (top >= 0).all() and (top + height <= 32).all()
    assert (left >= 0).all() and (left + width <= 32).all()
    aspect = height.float() / width.float()
    assert aspect.min() < 0.5 and aspect.max() > 2  # log-uniform in [0.3, 3.3]

    color = option_transform("color")
    color(batch)
    factors = color.last_params["factors"]
    assert factors.min() >= 0.6 and factors.max() <= 1.4  # 0.4 each way
    assert factors.min() < 0.62 and factors.max() > 1.38


def test_crop_pads_by_four_and_keeps_the_size():
    crop = RandomCrop(size=[32, 32], padding=4)
    ones = torch.ones(64, 1, 32, 32)
    torch.manual_seed(0)
    out = crop(ones)
    assert out.shape == ones.shape
    zero_rows = (out == 0).all(dim=3).sum(dim=(1, 2))  # rows of padding cropped in
    assert zero_rows.max() <= 4 and zero_rows.max() > 0


def test_a_rotation_by_90_degrees_is_the_exact_transpose_flip():
    """The batched rotation rotates about the image centre: 90 degrees on a square image is a
    rot90 of the pixel grid (up to interpolation at the borders, none at exactly 90)."""
    rotate = RandomRotation(degrees=[90, 90], p=1.0)
    image = torch.rand(1, 1, 9, 9)
    out = rotate(image)
    torch.testing.assert_close(out, torch.rot90(image, k=1, dims=(2, 3)), rtol=0, atol=1e-4)


# -- against torchvision.transforms.v2.functional, with the parameters each image drew -----------


def test_affine_equals_torchvision_affine():
    """Non-square images, angles, sub-pixel shifts and scales of their own: each output is
    ``v2.functional.affine`` with bilinear interpolation, up to float rounding."""
    batch = images(12, 3, 20, 28)
    affine = RandomAffine(degrees=40, translate=[0.2, 0.3], scale=[0.7, 1.3])
    torch.manual_seed(3)
    out = affine(batch)
    params = affine.last_params
    assert params["scale"].std() > 0.05 and params["translation"].abs().max() > 3
    for i, image in enumerate(batch):
        expected = TF.affine(
            image,
            angle=params["angle"][i].item(),
            translate=params["translation"][i].tolist(),
            scale=params["scale"][i].item(),
            shear=[0.0, 0.0],
            interpolation=BILINEAR,
        )
        torch.testing.assert_close(out[i], expected, rtol=0, atol=1e-5)


def test_rotation_equals_torchvision_rotate():
    batch = images(8, 1, 24, 24)
    rotate = RandomRotation(degrees=[-60, 30])
    torch.manual_seed(4)
    out = rotate(batch)
    angles = rotate.last_params["angle"]
    assert angles.min() >= -60 and angles.max() <= 30
    for image, angle, result in zip(batch, angles.tolist(), out, strict=True):
        expected = TF.rotate(image, angle, interpolation=BILINEAR)
        torch.testing.assert_close(result, expected, rtol=0, atol=1e-5)


def test_affine_fill_and_probability():
    zeros = torch.zeros(64, 1, 16, 16)
    affine = RandomAffine(degrees=[45, 45], fill=1.0, p=0.5)
    torch.manual_seed(5)
    out = affine(zeros)
    applied = affine.last_params["applied"]
    assert 0 < applied.sum() < 64
    assert torch.equal(out[~applied], zeros[~applied])  # not drawn: exactly unchanged
    assert (out[applied][..., 0, 0] > 0.99).all()  # corners rotated in from outside: fill
    assert (out[applied][..., 8, 8] == 0).all()  # the centre stays inside


def test_crop_equals_slicing_the_padded_image():
    batch = images(10, 3, 12, 14)
    crop = RandomCrop(size=[10, 9], padding=[1, 2, 3, 4], fill=0.25)  # left, top, right, bottom
    torch.manual_seed(6)
    out = crop(batch)
    padded = torch.nn.functional.pad(batch, (1, 3, 2, 4), value=0.25)  # (10, 3, 18, 18)
    offsets = crop.last_params["offset"]
    assert offsets[:, 0].max() <= 18 - 10 and offsets[:, 1].max() <= 18 - 9
    assert len(set(map(tuple, offsets.tolist()))) > 1
    for image, window, (top, left) in zip(padded, out, offsets.tolist(), strict=True):
        assert torch.equal(window, image[:, top : top + 10, left : left + 9])


def test_a_crop_not_drawn_keeps_the_image():
    batch = images(32, 1, 16, 16)
    crop = RandomCrop(16, padding=4, p=0.5)
    torch.manual_seed(7)
    out = crop(batch)
    applied = crop.last_params["applied"]
    assert 0 < applied.sum() < 32
    assert torch.equal(out[~applied], batch[~applied])


def test_flip_equals_flipping_the_drawn_images():
    batch = images(32)
    flip = RandomHorizontalFlip(p=0.5)
    torch.manual_seed(8)
    out = flip(batch)
    applied = flip.last_params["applied"]
    assert 0 < applied.sum() < 32
    for image, result, flipped in zip(batch, out, applied.tolist(), strict=True):
        assert torch.equal(result, TF.horizontal_flip(image) if flipped else image)
        assert torch.equal(result, image.flip(-1) if flipped else image)


@pytest.mark.parametrize("value", [0.0, 0.5])
def test_erasing_equals_torchvision_erase(value):
    batch = images(32)
    erasing = RandomErasing(p=0.5, scale=[0.02, 0.33], ratio=[0.3, 3.3], value=value)
    torch.manual_seed(9)
    out = erasing(batch)
    applied, boxes = erasing.last_params["applied"], erasing.last_params["box"]
    assert 0 < applied.sum() < 32
    for image, result, drawn, box in zip(batch, out, applied, boxes.tolist(), strict=True):
        top, left, height, width = box
        expected = (
            TF.erase(image, top, left, height, width, torch.tensor(value)) if drawn else image
        )
        assert torch.equal(result, expected)


@pytest.mark.parametrize("channels", [3, 1])
def test_color_jitter_equals_torchvision_adjustments(channels):
    """brightness, then contrast, then saturation, each image by its own factors."""
    batch = images(16, channels)
    jitter = ColorJitter(brightness=0.5, contrast=[0.3, 1.8], saturation=0.9)
    torch.manual_seed(10)
    out = jitter(batch)
    factors = jitter.last_params["factors"]
    assert factors[:, 1].min() >= 0.3 and factors[:, 2].min() >= 0.1
    for image, result, (brightness, contrast, saturation) in zip(
        batch, out, factors.tolist(), strict=True
    ):
        expected = TF.adjust_brightness(image, brightness)
        expected = TF.adjust_contrast(expected, contrast)
        expected = TF.adjust_saturation(expected, saturation)
        torch.testing.assert_close(result, expected, rtol=0, atol=1e-6)


def test_color_jitter_probability_and_ranges():
    batch = images(64)
    jitter = ColorJitter(brightness=2.0, p=0.5)
    torch.manual_seed(11)
    out = jitter(batch)
    applied, factors = jitter.last_params["applied"], jitter.last_params["factors"]
    assert 0 < applied.sum() < 64
    assert torch.equal(out[~applied], batch[~applied])
    assert (factors[~applied] == 1).all()
    assert factors[:, 0].min() >= 0 and factors[:, 0].max() <= 3  # [max(0, 1 - 2), 1 + 2]
    assert (factors[:, 1:] == 1).all()  # contrast and saturation untouched
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: RandomAffine(degrees=15, p=0.0),
        lambda: RandomRotation(degrees=15, p=0.0),
        lambda: RandomCrop(32, padding=4, p=0.0),
        lambda: RandomHorizontalFlip(p=0.0),
        lambda: RandomErasing(p=0.0),
        lambda: ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, p=0.0),
    ],
)
def test_probability_zero_changes_nothing(make):
    batch = images(8)
    assert torch.equal(make()(batch), batch)


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, fragments",
    [
        (lambda: RandomAffine(degrees=-5), ("RandomAffine", "degrees", ">= 0", "-5")),
        (lambda: RandomAffine(degrees=[10, -10]), ("degrees", "[min, max]", "[10, -10]")),
        (lambda: RandomAffine(15, translate=[0.1, 1.5]), ("translate", "[0, 1]", "[0.1, 1.5]")),
        (lambda: RandomAffine(15, translate=0.1), ("translate", "(horizontal, vertical)", "0.1")),
        (lambda: RandomAffine(15, scale=[1.2, 0.8]), ("scale", "[min, max]", "[1.2, 0.8]")),
        (lambda: RandomAffine(15, scale=[0.0, 1.0]), ("scale", "> 0", "[0.0, 1.0]")),
        (lambda: RandomAffine(15, p=1.5), ("RandomAffine", "p", "[0, 1]", "1.5")),
        (lambda: RandomAffine(15, fill="white"), ("fill", "'white'")),
        (lambda: RandomRotation(degrees=-1.0), ("RandomRotation", "degrees", ">= 0", "-1.0")),
        (lambda: RandomRotation(15, p=-0.1), ("RandomRotation", "p", "[0, 1]", "-0.1")),
        (lambda: RandomCrop(32, padding=-4), ("RandomCrop", "padding", ">= 0", "-4")),
        (lambda: RandomCrop(32, padding=[1, 2, 3]), ("padding", "2 or 4", "[1, 2, 3]")),
        (lambda: RandomCrop(0), ("RandomCrop", "size", ">= 1", "0")),
        (lambda: RandomCrop([32, 32.5]), ("size", ">= 1", "[32, 32.5]")),
        (lambda: RandomHorizontalFlip(p=2), ("RandomHorizontalFlip", "p", "[0, 1]", "2")),
        (lambda: RandomErasing(scale=[0.3, 0.1]), ("RandomErasing", "scale", "[0.3, 0.1]")),
        (lambda: RandomErasing(scale=[0.1, 1.5]), ("scale", "<= 1", "[0.1, 1.5]")),
        (lambda: RandomErasing(ratio=[0.0, 3.3]), ("ratio", "> 0", "[0.0, 3.3]")),
        (lambda: RandomErasing(value="random"), ("RandomErasing", "value", "'random'")),
        (lambda: ColorJitter(brightness=-0.1), ("ColorJitter", "brightness", ">= 0", "-0.1")),
        (lambda: ColorJitter(contrast=[1.5, 0.5]), ("contrast", "[min, max]", "[1.5, 0.5]")),
        (lambda: ColorJitter(saturation=[-1, 1]), ("saturation", ">= 0", "[-1, 1]")),
        (lambda: ColorJitter(brightness=0.2, p=True), ("ColorJitter", "p", "[0, 1]", "True")),
    ],
)
def test_bad_arguments_are_refused(make, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        make()


def test_bad_inputs_are_refused():
    with pytest.raises(ZooError, match=named("RandomCrop", "(40, 40)", "(36, 36)")):
        RandomCrop(40, padding=2)(torch.rand(2, 1, 32, 32))
    with pytest.raises(ZooError, match=named("contrast", "4 channels", "brightness")):
        ColorJitter(contrast=0.2)(torch.rand(2, 4, 8, 8))
    ColorJitter(brightness=0.2)(torch.rand(2, 4, 8, 8))  # brightness alone: any channels
    fragments = ("RandomHorizontalFlip", "N x C x H x W", "torch.uint8", "(2, 1, 8, 8)")
    with pytest.raises(ZooError, match=named(*fragments)):
        RandomHorizontalFlip()(torch.zeros(2, 1, 8, 8, dtype=torch.uint8))


def test_a_config_value_refused_is_one_line_naming_it():
    erasing = {"_target_": "zoo.augment.image.RandomErasing", "scale": [0.5, 0.1]}
    with pytest.raises(ZooError, match=named("RandomErasing", "scale", "[0.5, 0.1]")):
        build_augmentation({"erasing": erasing}, input_kind="image")


# -- other transforms ----------------------------------------------------------------------------


def test_a_torchvision_transform_still_works_image_by_image():
    augmentation = BatchAugmentation({"v2": v2.RandomHorizontalFlip(p=0.5)})
    assert isinstance(augmentation.transforms["v2"], PerImage)
    batch = same_image_batch()
    torch.manual_seed(0)
    out = augmentation(batch)
    flipped = [torch.equal(o, batch[0].flip(-1)) for o in out]
    assert any(flipped) and not all(flipped)
    assert math.isclose(sum(flipped) / len(flipped), 0.5, abs_tol=0.4)


def test_a_kornia_transform_is_still_handed_whole_batches():
    kornia_flip = {"_target_": "kornia.augmentation.RandomHorizontalFlip", "p": 0.5}
    augmentation = build_augmentation({"flip": kornia_flip}, input_kind="image")
    transform = augmentation.transforms["flip"]
    assert type(transform).__module__.startswith("kornia.") and not isinstance(transform, PerImage)
    assert augmentation(same_image_batch()).shape == (16, 3, 32, 32)


def test_bad_batches_and_non_images_are_refused(make_config):
    augmentation = pipeline(make_config, "digits")
    with pytest.raises(ZooError, match=named("N x C x H x W", "(4, 64)")):
        augmentation(torch.rand(4, 64))
    rotate = {"_target_": "zoo.augment.image.RandomRotation", "degrees": 15.0}
    with pytest.raises(ZooError, match=named("rotate", "image", "vector", "augmentation=[none]")):
        build_augmentation({"rotate": rotate}, input_kind="vector")
