"""Image grids in the training logs (reconstructions, generated samples): written as PNG
files under the run folder, ``images/<name>_epoch<NNN>.png``, and handed to every logger that
takes images (TensorBoard's ``add_image``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch

from zoo.errors import ZooError


def image_grid(rows: Sequence[torch.Tensor]) -> torch.Tensor:
    """One (C, H, W) grid of images in [0, 1]: each element of ``rows`` (N, C, H, W) is a row."""
    from torchvision.utils import make_grid

    images = torch.cat([r.detach().float().cpu().clamp(0, 1) for r in rows])
    return make_grid(images, nrow=len(rows[0]), padding=2, pad_value=1.0)


def image_format(path: str | Path) -> str:
    """The PIL format a file name asks for by its suffix (PNG without one); a ``ZooError``
    naming the suffixes PIL writes when it is not one of them."""
    from PIL import Image

    suffix = Path(path).suffix.lower()
    if not suffix:
        return "PNG"
    extensions = Image.registered_extensions()
    writable = {ext: fmt for ext, fmt in extensions.items() if fmt in Image.SAVE}
    if suffix not in writable:
        raise ZooError(
            f"cannot write images as {suffix!r} ({str(path)!r}); give a file name ending in "
            f"one of: .png, .jpg, .bmp, .tif, .webp (PIL writes {len(writable)} suffixes)."
        )
    return writable[suffix]


def save_grid(grid: torch.Tensor, path: str | Path) -> Path:
    """Write a (C, H, W) grid in [0, 1] as an image file in the format its suffix names (PNG
    without one), through a temporary name, so a killed run never leaves half a file."""
    from torchvision.utils import save_image

    path = Path(path)
    image_format_ = image_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    save_image(grid, partial, format=image_format_)
    partial.replace(path)
    return path


def log_image_grid(trainer: L.Trainer, name: str, rows: Sequence[torch.Tensor]) -> Path | None:
    """Write ``rows`` as this epoch's grid ``name`` and log it; on the main process only."""
    if not trainer.is_global_zero or trainer.sanity_checking:
        return None
    grid = image_grid(rows)
    path = save_grid(
        grid,
        Path(trainer.default_root_dir) / "images" / f"{name}_epoch{trainer.current_epoch:03d}.png",
    )
    for logger in trainer.loggers:
        experiment = getattr(logger, "experiment", None)
        if hasattr(experiment, "add_image"):
            experiment.add_image(name, grid, global_step=trainer.global_step)
    return path
