"""Batched augmentation: every option of configs/augmentation/ draws its parameters per
image, transforms the whole batch at once, keeps its documented ranges, and a fixed seed
reproduces the batch."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from torchvision.transforms import v2

from zoo import ZooError
from zoo.augment import AUGMENTATIONS_FOR, BatchAugmentation, PerImage, build_augmentation

ALL_OPTIONS = sorted(
    p.stem
    for p in (Path(__file__).resolve().parents[1] / "configs" / "augmentation").glob("*.yaml")
    if p.stem != "none"
)
OPTIONS = [o for o in ALL_OPTIONS if o in AUGMENTATIONS_FOR["image"]]


def test_every_option_is_listed_for_its_input_kinds():
    listed = [o for options in AUGMENTATIONS_FOR.values() for o in options]
    assert sorted(listed) == ALL_OPTIONS


def same_image_batch(n: int = 16, channels: int = 3) -> torch.Tensor:
    """``n`` copies of one textured image: any difference between outputs comes from the
    per-image draws."""
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(channels, 32, 32, generator=generator)
    return image.expand(n, -1, -1, -1).contiguous()


def pipeline(make_config, option: str) -> BatchAugmentation:
    cfg = make_config(f"augmentation=[{option}]", "data=digits")
    augmentation = build_augmentation(cfg.augmentation, input_kind="image")
    assert augmentation is not None
    return augmentation


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_is_batched_per_image_and_seeded(make_config, option):
    augmentation = pipeline(make_config, option)
    assert not any(isinstance(t, PerImage) for t in augmentation.transforms.values())
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
    from omegaconf import OmegaConf

    spec = OmegaConf.load(Path(__file__).resolve().parents[1] / "configs/augmentation/digits.yaml")
    affine = instantiate(spec.digits, _convert_="all")
    torch.manual_seed(0)
    affine(torch.rand(512, 1, 32, 32))
    assert affine._params["batch_prob"].all()  # every image is transformed
    angles, shifts = affine._params["angle"], affine._params["translations"]
    assert angles.abs().max() <= 15 and angles.abs().max() > 13
    assert shifts.abs().max() <= 0.125 * 32 and shifts.abs().max() > 3.5
    assert angles.std() > 5  # spread over the range, one draw per image


def test_crop_pads_by_four_and_keeps_the_size():
    crop = instantiate(
        {"_target_": "kornia.augmentation.RandomCrop", "size": [32, 32], "padding": 4}
    )
    ones = torch.ones(64, 1, 32, 32)
    torch.manual_seed(0)
    out = crop(ones)
    assert out.shape == ones.shape
    zero_rows = (out == 0).all(dim=3).sum(dim=(1, 2))  # rows of padding cropped in
    assert zero_rows.max() <= 4 and zero_rows.max() > 0


def test_a_rotation_by_90_degrees_is_the_exact_transpose_flip():
    """The batched rotation rotates about the image centre: 90 degrees on a square image is a
    rot90 of the pixel grid (up to interpolation at the borders, none at exactly 90)."""
    rotate = instantiate(
        {"_target_": "kornia.augmentation.RandomRotation", "degrees": [90, 90], "p": 1.0}
    )
    image = torch.rand(1, 1, 9, 9)
    out = rotate(image)
    expected = torch.rot90(image, k=1, dims=(2, 3))
    flipped = torch.rot90(image, k=-1, dims=(2, 3))
    assert torch.allclose(out, expected, atol=1e-4) or torch.allclose(out, flipped, atol=1e-4)


def test_a_torchvision_transform_still_works_image_by_image():
    augmentation = BatchAugmentation({"v2": v2.RandomHorizontalFlip(p=0.5)})
    assert isinstance(augmentation.transforms["v2"], PerImage)
    batch = same_image_batch()
    torch.manual_seed(0)
    out = augmentation(batch)
    flipped = [torch.equal(o, batch[0].flip(-1)) for o in out]
    assert any(flipped) and not all(flipped)
    assert math.isclose(sum(flipped) / len(flipped), 0.5, abs_tol=0.4)


def test_bad_batches_and_non_images_are_refused(make_config):
    augmentation = pipeline(make_config, "digits")
    with pytest.raises(ZooError, match=r"needs N x C x H x W batches, got shape \(4, 64\)"):
        augmentation(torch.rand(4, 64))
    rotate = {"_target_": "kornia.augmentation.RandomRotation", "degrees": 15.0}
    with pytest.raises(ZooError, match=r"augmentation rotate applies to image data, but the "):
        build_augmentation({"rotate": rotate}, input_kind="vector")
