"""The Vision Transformer (Dosovitskiy et al. 2021, "An image is worth 16x16 words:
Transformers for image recognition at scale"; primer: "Transformers").

An image (C, H, W) is cut into P×P patches, each flattened and projected to ``hidden_dim``
features (one strided convolution does both: kernel P, stride P); a learned class token is
put in front of the (H/P)·(W/P) patch tokens, learned position embeddings are added, and a
pre-norm Transformer encoder (:class:`zoo.models.transformer.TransformerEncoder`, GELU
feed-forward networks, layer norms with ε = 1e-6) reads the sequence. The class token's final
state, after a last layer norm, goes to a linear head.

Builders:

* ``vit_b_16``, ``vit_b_32``, ``vit_l_16``, ``vit_l_32``: torchvision's sizes (Base: 12 layers,
  12 heads, width 768, MLP 3072; Large: 24 layers, 16 heads, width 1024, MLP 4096; patch 16
  or 32) and defaults (224-pixel images, 1000 classes), with torchvision's parameter counts
  and initialization (zero head, as the paper for fine-tuning). ViT-H/14 (632M parameters) is
  left out: too heavy for the zoo's CPU test suite.
* ``vit_tiny``: a digits-sized ViT (patch 8, width 64, 4 layers, 4 heads, MLP 128; not timm's
  ViT-Ti) that trains on the 1×32×32 digits on a CPU in under a minute (about 96% test
  accuracy with the default recipe). The digits are 8×8 scans upsampled four times, so an
  8-pixel patch holds 2×2 of their pixels; 4-pixel patches (64 tokens of one pixel each)
  train slower and worse there, and suit images with detail at 32 pixels (CIFAR-10).

Every builder takes ``image_size`` (a multiple of the patch size: the position table has one
entry per patch), ``in_channels``, ``num_classes``, ``dropout``, ``attention_dropout`` and
``impl``; the model takes exactly ``image_size``-pixel square images.

torchvision's weights: the encoder layers keep ``torch.nn.TransformerEncoderLayer``'s names
(shared with the ``transformer`` model), so torchvision's ViT state dict loads after one key
mapping, :func:`zoo.weights.from_torchvision_state_dict` (``weights="torchvision"`` applies
it)::

    encoder.pos_embedding                         -> positional.weight
    encoder.layers.encoder_layer_{i}.ln_1         -> encoder.layers.{i}.norm1
    encoder.layers.encoder_layer_{i}.self_attention -> encoder.layers.{i}.self_attn
    encoder.layers.encoder_layer_{i}.ln_2         -> encoder.layers.{i}.norm2
    encoder.layers.encoder_layer_{i}.mlp.0        -> encoder.layers.{i}.linear1
    encoder.layers.encoder_layer_{i}.mlp.3        -> encoder.layers.{i}.linear2
    (mlp.linear_1 and mlp.linear_2 in torchvision's files saved before its version 0.14)
    encoder.ln                                    -> encoder.norm
    heads.head                                    -> head

(``conv_proj`` and ``class_token`` keep torchvision's names.) ``model.attention_maps(x)``
returns every layer's per-head attention (B, heads, 1+N, 1+N), as the ``transformer`` model;
:func:`class_token_attention` reduces them to the class token's attention over the patch
grid, and :func:`zoo.figures.attention.draw_vit_attention` draws it over the image.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from zoo.errors import ZooError
from zoo.models.layers import Classifier, evaluating
from zoo.models.transformer import (
    LearnedPositionalEncoding,
    TransformerEncoder,
    check_encoder_arguments,
)
from zoo.registry import register_model

LAYER_NORM_EPS = 1e-6  # torchvision's and the paper's code's


class VisionTransformer(Classifier):
    """ViT: patch embedding, class token, learned positions, pre-norm encoder, linear head
    on the class token. ``forward_features`` returns the class token's final state
    (B, hidden_dim); ``attention_maps(x)`` every layer's per-head attention weights."""

    def __init__(
        self,
        image_size: int = 224,
        patch_size: int = 16,
        num_layers: int = 12,
        num_heads: int = 12,
        hidden_dim: int = 768,
        mlp_dim: int = 3072,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        impl: str = "fast",
    ) -> None:
        super().__init__()
        check_image_size(image_size, patch_size)
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.grid_size = image_size // patch_size
        # cut into patches and project each: one P×P convolution with stride P
        self.conv_proj = nn.Conv2d(in_channels, hidden_dim, patch_size, stride=patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.positional = LearnedPositionalEncoding(self.grid_size**2 + 1, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.encoder = TransformerEncoder(
            num_layers,
            hidden_dim,
            num_heads,
            mlp_dim,
            dropout,
            "gelu",
            norm_first=True,
            layer_norm_eps=LAYER_NORM_EPS,
            attention_dropout=attention_dropout,
            impl=impl,
        )
        self.num_features = hidden_dim
        self.head = nn.Linear(hidden_dim, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's initialization: truncated-normal patch projection (std 1/√fan_in),
        Xavier-uniform MLP weights with tiny biases, zero head."""
        fan_in = self.conv_proj.in_channels * self.patch_size**2
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        for layer in self.encoder.layers:
            for linear in (layer.linear1, layer.linear2):
                nn.init.xavier_uniform_(linear.weight)
                nn.init.normal_(linear.bias, std=1e-6)
        self._zero_head()

    def _zero_head(self) -> None:
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) to patch tokens (B, N, hidden_dim), N = (H/P)·(W/P), row by row."""
        if x.dim() != 4 or tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            raise ZooError(
                f"this ViT was built for {self.image_size}x{self.image_size} images "
                f"(image_size={self.image_size}, patch_size={self.patch_size}), got input of "
                f"shape {tuple(x.shape)}; build it with image_size set to the images' size (a "
                f"multiple of {self.patch_size})."
            )
        if x.shape[1] != self.conv_proj.in_channels:
            raise ZooError(
                f"this ViT was built for {self.conv_proj.in_channels}-channel images "
                f"(in_channels), got {x.shape[1]} channels; build it with in_channels="
                f"{x.shape[1]}."
            )
        return self.conv_proj(x).flatten(2).transpose(1, 2)  # (B, D, h, w) -> (B, h·w, D)

    def encode(
        self, x: torch.Tensor, *, return_attention: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The encoder's final states (B, 1+N, hidden_dim), class token first, and the
        attention maps (empty unless ``return_attention``)."""
        tokens = self.patchify(x)
        cls = self.class_token.expand(tokens.shape[0], -1, -1)
        tokens = self.dropout(self.positional(torch.cat([cls, tokens], dim=1)))
        return self.encoder(tokens, return_attention=return_attention)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[0][:, 0]  # the class token: (B, hidden_dim)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's per-head attention weights, a list of (B, heads, 1+N, 1+N) tensors
        (position 0 is the class token, then the patches row by row)."""
        return self.encode(x, return_attention=True)[1]

    def no_weight_decay(self) -> set[str]:
        """The class token is not a weight of a linear map: no weight decay on it (timm's
        ``no_weight_decay``; the position table says so itself)."""
        return {"class_token"}

    def reset_classifier(self, num_classes: int) -> None:
        """A new zero-initialized head for ``num_classes`` outputs (the paper's fine-tuning
        head)."""
        self.head = self.like_model(nn.Linear(self.num_features, num_classes))
        self._zero_head()


def class_token_attention(
    model: VisionTransformer, image: torch.Tensor, *, layer: int = -1, rollout: bool = False
) -> torch.Tensor:
    """How much the class token attends to each patch: (grid, grid) weights summing to at
    most 1, for one image (C, H, W) or (1, C, H, W).

    ``layer``'s attention averaged over its heads, or with ``rollout`` the attention rollout
    of Abnar & Zuidema 2020 ("Quantifying attention flow in transformers") through the
    layers up to ``layer``: each layer's head-averaged weights mixed half and half with the
    identity (the residual connection), rows renormalized, multiplied together."""
    if image.dim() == 3:
        image = image[None]
    with evaluating(model), torch.no_grad():
        maps = [m[0].mean(dim=0) for m in model.attention_maps(image)]  # (1+N, 1+N) each
    maps = maps[: len(maps) + layer + 1 if layer < 0 else layer + 1]
    if rollout:
        eye = torch.eye(maps[0].shape[-1], dtype=maps[0].dtype, device=maps[0].device)
        joint = eye
        for weights in maps:
            mixed = 0.5 * weights + 0.5 * eye
            joint = (mixed / mixed.sum(dim=-1, keepdim=True)) @ joint
        attention = joint
    else:
        attention = maps[-1]
    return attention[0, 1:].reshape(model.grid_size, model.grid_size)


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------


def check_image_size(image_size: Any, patch_size: Any) -> None:
    """Refuse an image that is not cut into whole patches, naming sizes that would be."""
    if isinstance(image_size, int) and isinstance(patch_size, int) and image_size % patch_size:
        below = max(patch_size, image_size - image_size % patch_size)
        divisors = [str(d) for d in range(2, image_size) if image_size % d == 0]
        raise ZooError(
            f"ViT: image_size={image_size} is not divisible by patch_size={patch_size}; the "
            f"image must be cut into whole patches: use {below}- or {below + patch_size}-pixel "
            f"images, or a patch_size dividing {image_size} ({', '.join(divisors) or 'none'})."
        )


# the sizes that tell ViT-B/16, L/32, ... apart (torchvision's SIZES below)
SIZE_KEYS = ("patch_size", "num_layers", "num_heads", "hidden_dim", "mlp_dim")


def _build(name: str, arguments: dict[str, Any]) -> VisionTransformer:
    check_encoder_arguments(name, arguments, ("image_size", *SIZE_KEYS), width="hidden_dim")
    check_image_size(arguments["image_size"], arguments["patch_size"])
    return VisionTransformer(**arguments)


def _image_size(default: int):
    """``min_input_size``: a ViT takes exactly the ``image_size`` it was built for."""
    return lambda kwargs: kwargs.get("image_size", default)


PAPER = (
    "Dosovitskiy et al. 2021, An image is worth 16x16 words: Transformers for image "
    "recognition at scale"
)
# torchvision's sizes, in SIZE_KEYS' order
SIZES = {
    "vit_b_16": (16, 12, 12, 768, 3072),
    "vit_b_32": (32, 12, 12, 768, 3072),
    "vit_l_16": (16, 24, 16, 1024, 4096),
    "vit_l_32": (32, 24, 16, 1024, 4096),
}


VIT_FIXED = {
    "norm": "ViT's pre-norm LayerNorms are its architecture (Dosovitskiy et al. 2021), in "
    "torchvision's layout (whose weights load).",
    "activation": "ViT's MLP blocks use GELU (Dosovitskiy et al. 2021), in torchvision's layout "
    "(whose weights load).",
}


@register_model(
    family="vit",
    default_input_size=(1, 32, 32),
    min_input_size=_image_size(32),
    paper=PAPER,
    inapplicable=VIT_FIXED,
)
def vit_tiny(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 32,
    patch_size: int = 8,
    num_layers: int = 4,
    num_heads: int = 4,
    hidden_dim: int = 64,
    mlp_dim: int = 128,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    impl: str = "fast",
) -> VisionTransformer:
    """A digits-sized ViT: 8×8 patches of 32×32 images (16 tokens and the class token),
    width 64, 4 layers of 4 heads, MLP 128 (0.14M parameters)."""
    return _build("vit_tiny", dict(locals()))


def _torchvision_size(name: str, arguments: dict[str, Any]) -> VisionTransformer:
    return _build(name, {**arguments, **dict(zip(SIZE_KEYS, SIZES[name]))})


REGISTRATION = {
    "family": "vit",
    "default_input_size": (3, 224, 224),
    "min_input_size": _image_size(224),
    "paper": PAPER,
    # Without the linear warm-up the paper trains with (Appendix B.1), Adam at the configs'
    # default 2e-3 leaves the ViT-B/L sizes at or near chance; measured on the digits,
    # ViT-L/32: chance at 2e-3, 0.92 accurate after 40 steps at 2e-4.
    "adam_lr": 2e-4,
    "inapplicable": VIT_FIXED,
}


@register_model(**REGISTRATION)
def vit_b_16(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    impl: str = "fast",
) -> VisionTransformer:
    """ViT-B/16: 16×16 patches, 12 layers of 12 heads, width 768, MLP 3072 (86.6M parameters)."""
    return _torchvision_size("vit_b_16", dict(locals()))


@register_model(**REGISTRATION)
def vit_b_32(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    impl: str = "fast",
) -> VisionTransformer:
    """ViT-B/32: 32×32 patches, 12 layers of 12 heads, width 768, MLP 3072 (88.2M parameters)."""
    return _torchvision_size("vit_b_32", dict(locals()))


@register_model(**REGISTRATION)
def vit_l_16(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    impl: str = "fast",
) -> VisionTransformer:
    """ViT-L/16: 16×16 patches, 24 layers of 16 heads, width 1024, MLP 4096 (304.3M
    parameters)."""
    return _torchvision_size("vit_l_16", dict(locals()))


@register_model(**REGISTRATION)
def vit_l_32(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    impl: str = "fast",
) -> VisionTransformer:
    """ViT-L/32: 32×32 patches, 24 layers of 16 heads, width 1024, MLP 4096 (306.5M
    parameters)."""
    return _torchvision_size("vit_l_32", dict(locals()))
