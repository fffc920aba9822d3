"""Drawings of what models compute, with matplotlib (a dependency of zoo, imported only when
drawing). Model files import torch only, so the drawing lives here.

* :func:`draw_vit_attention`: a Vision Transformer's class-token attention over the patches
  of an image (Dosovitskiy et al. 2021, section 4.5 and figure 6; primer: "Attention
  Mechanism": "Interpretable: attention weights show focus").
* :func:`draw_attention`: one attention matrix (queries × keys) as a heatmap, labelled with
  the characters (or steps) of a sequence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from zoo.errors import ZooError
from zoo.models.vit import VisionTransformer, class_token_attention

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure_class() -> type[Figure]:
    """matplotlib's ``Figure`` (no pyplot state); a one-line error without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is a dependency of zoo
        raise ZooError(
            "drawing needs matplotlib: pip install matplotlib (a dependency of zoo)."
        ) from None
    return Figure


def _displayable(image: torch.Tensor) -> tuple[np.ndarray, str | None]:
    """An image (C, H, W) as matplotlib shows it, scaled to [0, 1]: (H, W) gray or (H, W, 3)."""
    shown = image.detach().float().cpu()
    shown = (shown - shown.min()) / (shown.max() - shown.min()).clamp_min(1e-12)
    if shown.shape[0] == 3:
        return shown.permute(1, 2, 0).numpy(), None
    return shown.mean(dim=0).numpy(), "gray"


def draw_vit_attention(
    model: VisionTransformer,
    image: torch.Tensor,
    *,
    layer: int = -1,
    rollout: bool = False,
    title: str | None = None,
) -> Figure:
    """A figure of three panels: the image (C, H, W) or (1, C, H, W), as the model takes it
    (normalized); the class token's attention over the patch grid (``layer``'s, averaged
    over heads, or the attention rollout up to it with ``rollout``, see
    :func:`zoo.models.vit.class_token_attention`); and that attention over the image.

    Returns a ``matplotlib.figure.Figure`` (no pyplot state): ``fig.savefig("attention.png")``,
    or display it in a notebook."""
    new_figure = _figure_class()  # refused here, before any work, without matplotlib
    if not isinstance(model, VisionTransformer):
        raise ZooError(f"draw_vit_attention needs a VisionTransformer, got {type(model).__name__}.")
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ZooError(f"draw one image at a time, got a batch of {image.shape[0]}.")
        image = image[0]
    image = image.to(model.class_token.device, model.class_token.dtype)
    attention = class_token_attention(model, image, layer=layer, rollout=rollout).float().cpu()
    height, width = image.shape[-2:]
    over_image = F.interpolate(attention[None, None], size=(height, width), mode="nearest")[0, 0]
    attention, over_image = attention.numpy(), over_image.numpy()
    shown, cmap = _displayable(image)

    figure = new_figure(figsize=(9, 3.2), layout="constrained")
    axes = figure.subplots(1, 3)
    axes[0].imshow(shown, cmap=cmap)
    axes[0].set_title("image")
    which = "rollout" if rollout else "mean of heads"
    layers = len(model.encoder.layers)
    number = layer % layers + 1
    drawn = axes[1].imshow(attention, cmap="viridis")
    axes[1].set_title(f"class token → patches\n(layer {number}/{layers}, {which})")
    figure.colorbar(drawn, ax=axes[1], shrink=0.8)
    axes[2].imshow(shown, cmap=cmap)
    axes[2].imshow(over_image, cmap="jet", alpha=0.45)
    axes[2].set_title("attention over the image")
    for axis in axes:
        axis.set_axis_off()
    if title:
        figure.suptitle(title)
    return figure


def draw_attention(
    weights: torch.Tensor,
    labels: list[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """A heatmap of attention ``weights`` (Tq, Tk): row i is how query i spreads its attention
    over the keys (each row sums to 1). ``labels`` name the positions (characters of a text;
    the last Tq of them label the queries when Tq < Tk); steps are numbered otherwise."""
    new_figure = _figure_class()  # refused here, before any work, without matplotlib
    if weights.dim() != 2:
        raise ZooError(
            f"draw_attention takes one (queries, keys) matrix, got {tuple(weights.shape)}."
        )
    queries, keys = weights.shape
    key_labels = labels if labels is not None else [str(i) for i in range(keys)]
    if len(key_labels) != keys:
        raise ZooError(f"{len(key_labels)} labels for {keys} keys.")
    size = min(12.0, 2.0 + 0.18 * keys)
    figure = new_figure(figsize=(size, size), layout="constrained")
    axis = figure.subplots()
    drawn = axis.imshow(weights.detach().float().cpu().numpy(), cmap="viridis", vmin=0.0)
    shown = [label if label.isprintable() else repr(label)[1:-1] for label in key_labels]
    axis.set_xticks(range(keys), shown, fontsize=7, rotation=90)
    axis.set_yticks(range(queries), shown[keys - queries :], fontsize=7)
    axis.set_xlabel("key (attended to)")
    axis.set_ylabel("query")
    axis.set_title(title or "attention")
    figure.colorbar(drawn, ax=axis, shrink=0.8)
    return figure
