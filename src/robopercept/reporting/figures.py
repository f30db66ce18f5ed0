"""One plotting style for every figure, and byte-stable PNG saving."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from .. import paths  # noqa: E402

DPI = 110


def use_style() -> None:
    """The house style: seaborn 'whitegrid', colour-blind palette, fixed font sizes."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", font_scale=0.9)
    plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "savefig.bbox": "tight",
                         "image.interpolation": "nearest", "axes.titlesize": 10})


def save_figure(fig, path: str | os.PathLike[str]) -> Path:
    """Save ``fig`` as PNG with no metadata that changes between runs (no software/date stamp)."""
    out = paths.resolve(path)
    if out.suffix.lower() != ".png":
        raise ValueError(f"figures are PNG; got {out.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.png")
    fig.savefig(tmp, format="png", metadata={"Software": None})
    tmp.replace(out)
    return out


def image_grid(images, titles=None, rows=None, cols=None, size=1.6, cmap=None):
    """A grid of images (H x W or H x W x 3 arrays), no ticks. Returns the figure."""
    n = len(images)
    cols = cols or min(n, 6)
    rows = rows or -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols * 1.25, size * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(img, cmap=cmap if getattr(img, "ndim", 3) == 2 else None)
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    return fig
