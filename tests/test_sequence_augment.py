"""Series and text augmentation: each option draws per sample, is reproducible from the
seed, keeps what it must keep, and is refused on data of another input kind."""

from __future__ import annotations

import pytest
import torch
from conftest import named

from zoo import ZooError
from zoo.augment import build_augmentation
from zoo.augment.sequence import Jitter, Scaling, TimeMask, TokenSubstitution


def series(n: int = 64, steps: int = 50, channels: int = 2) -> torch.Tensor:
    return torch.ones(n, steps, channels)


def test_jitter_adds_noise_of_the_configured_scale():
    torch.manual_seed(0)
    x = series(512)
    noise = Jitter(sigma=0.2)(x) - x
    assert abs(noise.std().item() - 0.2) < 0.01 and abs(noise.mean().item()) < 0.01


def test_scaling_draws_one_factor_per_sample_and_channel():
    torch.manual_seed(0)
    out = Scaling(sigma=0.1)(series(512))
    per_step = out.std(dim=1)  # constant over time within a sample and channel
    assert per_step.max().item() < 1e-6
    factors = out[:, 0, :]
    assert abs(factors.std().item() - 0.1) < 0.01
    assert len({round(v, 6) for v in factors[:, 0].tolist()}) > 100


def test_time_mask_zeroes_one_span_within_the_bound():
    torch.manual_seed(0)
    out = TimeMask(max_fraction=0.2, num_masks=1)(series(256, steps=50))
    masked = (out == 0).all(dim=-1)  # (B, T)
    widths = masked.sum(dim=1)
    assert widths.max().item() <= 10 and widths.float().mean().item() > 2
    for row in masked:  # one contiguous span
        where = row.nonzero().flatten()
        if len(where):
            assert where[-1] - where[0] + 1 == len(where)


def test_token_substitution_replaces_the_configured_share_within_the_vocabulary():
    torch.manual_seed(0)
    tokens = torch.zeros(200, 100, dtype=torch.long)
    out = TokenSubstitution(vocab_size=50, p=0.1)(tokens)
    changed = (out != tokens).float().mean().item()
    # a replaced token stays 0 with probability 1/50
    assert abs(changed - 0.1 * 49 / 50) < 0.01
    assert out.min() >= 0 and out.max() < 50 and out.dtype == torch.long


@pytest.mark.parametrize(
    "transform, x",
    [
        (Jitter(), series(8)),
        (Scaling(), series(8)),
        (TimeMask(max_fraction=0.3), series(8)),
        (TokenSubstitution(vocab_size=10, p=0.3), torch.randint(0, 10, (8, 40))),
    ],
)
def test_draws_are_per_sample_and_seeded(transform, x):
    torch.manual_seed(3)
    first = transform(x)
    torch.manual_seed(3)
    torch.testing.assert_close(transform(x), first, rtol=0, atol=0)
    assert len({tuple(sample.flatten().tolist()) for sample in first}) > 1


@pytest.mark.parametrize(
    "options, kind, allowed",
    [
        ({"jitter": {"_target_": "zoo.augment.sequence.Jitter"}}, "image", "digits"),
        ({"flip": {"_target_": "kornia.augmentation.RandomHorizontalFlip"}}, "sequence", "jitter"),
        (
            {"substitute": {"_target_": "zoo.augment.sequence.TokenSubstitution", "vocab_size": 5}},
            "sequence",
            "time_mask",
        ),
        ({"time_mask": {"_target_": "zoo.augment.sequence.TimeMask"}}, "tokens", "substitute"),
    ],
)
def test_an_option_on_the_wrong_input_kind_is_refused(options, kind, allowed):
    name = next(iter(options))
    with pytest.raises(ZooError, match=named(name, kind, allowed, "augmentation=[none]")):
        build_augmentation(options, input_kind=kind)


@pytest.mark.parametrize(
    "make, fragments",
    [
        (lambda: Jitter(sigma=-1), ("jitter", "sigma", ">= 0", "<= 10", "-1")),
        (lambda: Jitter(sigma="abc"), ("jitter", "sigma", "'abc'")),
        (lambda: TimeMask(max_fraction=2), ("time_mask", "max_fraction", "[0, 1]", "2")),
        (lambda: TokenSubstitution(vocab_size=0), ("substitute", "vocab_size", ">= 1", "0")),
        (lambda: TokenSubstitution(vocab_size=5, p=1.5), ("substitute", "p", "[0, 1]", "1.5")),
    ],
)
def test_bad_values_are_refused(make, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        make()


def test_options_out_of_proportion_with_the_data_are_refused():
    """Given the data's description, a substitution vocabulary larger than the data's and
    more time masks than steps are refused as the augmentation is built."""
    substitute = {"_target_": "zoo.augment.sequence.TokenSubstitution", "vocab_size": 100}
    with pytest.raises(ZooError, match=named("substitute", "vocab_size", "10 tokens", "100")):
        build_augmentation({"substitute": substitute}, input_kind="tokens", data={"vocab_size": 10})
    mask = {"_target_": "zoo.augment.sequence.TimeMask", "num_masks": 49}
    with pytest.raises(ZooError, match=named("time_mask", "num_masks", "48 steps", "49")):
        build_augmentation(
            {"time_mask": mask}, input_kind="sequence", data={"input_shape": [48, 1]}
        )
    assert build_augmentation({"time_mask": mask | {"num_masks": 48}}, input_kind="sequence")
