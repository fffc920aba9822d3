"""Sample-quality scores for generated digits that need no download.

The Fréchet Inception Distance (Heusel et al. 2017) compares the mean and covariance of
Inception-v3 features of real and generated images. Inception's ImageNet weights are a
download, and its features were learned on photographs; here the feature extractor is a
classifier trained by zoo on the digits themselves (the shipped ``lenet5.digits``, test
accuracy 0.99), and the features are its penultimate layer (``forward_features``: 120
values). The distance is torchmetrics'
:class:`~torchmetrics.image.fid.FrechetInceptionDistance` with that extractor.

- ``fid``: the Fréchet distance between the two feature distributions (0 for identical
  Gaussians; lower is better). It is comparable only with other scores computed with the
  same classifier and the same number of samples (the estimate is biased upward for few
  samples), never with published FIDs.
- ``classifier_score``: the Inception Score's formula (Salimans et al. 2016),
  exp E_x KL(p(y|x) ‖ p(y)), with the digits classifier's class probabilities: 10 at most
  (every sample confidently one digit, the ten digits equally often), 1 at least. It rewards
  samples the classifier finds recognizable and varied across classes; it does not see
  variety within a class or compare with real data at all.
- ``confidence``: the mean probability of each sample's most likely digit.
- ``class_histogram``: how often each digit is the most likely one.

Images are taken in [0, 1], converted to the classifier's channels and size, and normalized
as it was trained.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

DEFAULT_CLASSIFIER = "lenet5.digits"


class ClassifierFeatures(nn.Module):
    """A frozen zoo classifier as a feature extractor: images in [0, 1] → its penultimate
    features (:class:`_Logits` gives its class logits). Stays in eval mode."""

    def __init__(self, weights: str = DEFAULT_CLASSIFIER) -> None:
        super().__init__()
        from zoo.models.pretrained import load_pretrained
        from zoo.preprocessing import Preprocess

        classifier = load_pretrained(weights)
        preprocess: Preprocess | None = getattr(classifier, "preprocess", None)
        if preprocess is None or preprocess.input_kind != "image":
            from zoo.errors import ZooError

            raise ZooError(
                f"{weights!r} records no image preprocessing; the quality scores need a "
                "classifier exported by a training run on images."
            )
        self.classifier = classifier.eval().requires_grad_(False)
        self.input_shape = tuple(preprocess.input_shape)
        mean, std = preprocess.mean, preprocess.std
        self.register_buffer("mean", mean if mean is not None else torch.zeros(1, 1, 1))
        self.register_buffer("std", std if std is not None else torch.ones(1, 1, 1))
        # what torchmetrics reads to size its statistics
        self.num_features = int(self.classifier.num_features)

    def train(self, mode: bool = True) -> ClassifierFeatures:
        return super().train(False)  # a fixed measuring instrument

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) images in [0, 1] → the normalized batch the classifier takes."""
        channels, height, width = self.input_shape
        images = images.float()
        if images.shape[1] != channels:
            images = images.mean(dim=1, keepdim=True).expand(-1, channels, -1, -1)
        if tuple(images.shape[-2:]) != (height, width):
            images = nn.functional.interpolate(
                images, size=(height, width), mode="bilinear", antialias=True, align_corners=False
            )
        return (images - self.mean) / self.std

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.forward_features(self.prepare(images))  # (N, F)


class SampleQuality(nn.Module):
    """Accumulates real and generated images; :meth:`compute` gives ``fid``,
    ``classifier_score``, ``confidence`` and ``class_histogram`` of the generated ones."""

    def __init__(self, weights: str = DEFAULT_CLASSIFIER) -> None:
        super().__init__()
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.inception import InceptionScore

        features = ClassifierFeatures(weights)
        self.fid = FrechetInceptionDistance(feature=features, reset_real_features=True)
        with warnings.catch_warnings():  # it keeps every sample's logits: ours are few
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            self.score = InceptionScore(feature=_Logits(features), splits=1)
        for metric in (self.fid, self.score):
            metric.persistent(False)

    def update(self, images: torch.Tensor, *, real: bool) -> None:
        """Add a batch of (N, C, H, W) images in [0, 1], real or generated."""
        images = images.detach().float().clamp(0, 1)
        self.fid.update(images, real=real)
        if not real:
            self.score.update(images)

    def compute(self) -> dict[str, Any]:
        logits = torch.cat(self.score.features)
        probabilities = logits.softmax(dim=-1)
        state = torch.get_rng_state()  # InceptionScore shuffles its samples: leave no trace
        with warnings.catch_warnings():  # the spread of one split is undefined: not used
            warnings.filterwarnings("ignore", message=".*degrees of freedom.*")
            score, _ = self.score.compute()
        torch.set_rng_state(state)
        return {
            "fid": self.fid.compute(),
            "classifier_score": score,
            "confidence": probabilities.max(dim=-1).values.mean(),
            "class_histogram": torch.bincount(
                probabilities.argmax(dim=-1), minlength=probabilities.shape[-1]
            ),
        }

    def reset(self) -> None:
        self.fid.reset()
        self.score.reset()


class _Logits(nn.Module):
    """The classifier's logits, sharing the feature extractor's weights."""

    def __init__(self, features: ClassifierFeatures) -> None:
        super().__init__()
        self.features = features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        classifier = self.features.classifier
        with torch.no_grad():
            features = classifier.forward_features(self.features.prepare(images))
            return classifier.forward_head(features)


def score_images(
    generated: torch.Tensor,
    real: torch.Tensor,
    *,
    weights: str = DEFAULT_CLASSIFIER,
    batch_size: int = 512,
) -> dict[str, Any]:
    """The scores of ``generated`` images against ``real`` ones, both (N, C, H, W) in [0, 1]."""
    quality = SampleQuality(weights)
    for start in range(0, len(real), batch_size):
        quality.update(real[start : start + batch_size], real=True)
    for start in range(0, len(generated), batch_size):
        quality.update(generated[start : start + batch_size], real=False)
    return quality.compute()
