"""Figures of mlgsl: grasp rectangles over images, Q/Φ/W maps (Figs. 3 and 5), curves (Figs. 4, 6)."""

from __future__ import annotations

import numpy as np
from matplotlib import patches

from ..formats.jacquard import GraspRect
from .grasps import decode_angle


def draw_grasps(ax, grasps: list[GraspRect], color: str = "red", lw: float = 1.0, jaws: bool = True) -> None:
    """Each grasp as its rectangle, the jaws (short sides) drawn thicker (axis limits unchanged)."""
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    for g in grasps:
        c = g.corners()  # (col, row); corners 0-1 and 2-3 run along the closing direction
        ax.add_patch(patches.Polygon(c, closed=True, fill=False, edgecolor=color, lw=lw * 0.6))
        if jaws:
            for a, b in ((1, 2), (3, 0)):
                ax.plot([c[a, 0], c[b, 0]], [c[a, 1], c[b, 1]], color=color, lw=lw * 1.8)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)


def show_maps(axes, depth: np.ndarray, maps: dict[str, np.ndarray], selected: list[GraspRect],
              labels: list[GraspRect] | None = None, titles: bool = True) -> None:
    """Fig. 3 layout on 5 axes: input with labels, Q̂, Φ̂, Ŵ, selected grasps."""
    axes[0].imshow(depth, cmap="gray")
    if labels:
        draw_grasps(axes[0], labels, "red")
    axes[1].imshow(maps["q"], cmap="jet", vmin=0, vmax=max(1e-6, float(maps["q"].max())))
    axes[2].imshow(np.degrees(decode_angle(maps["cos"], maps["sin"])), cmap="hsv", vmin=-90, vmax=90)
    axes[3].imshow(maps["width"], cmap="jet", vmin=0, vmax=max(1e-6, float(maps["width"].max())))
    axes[4].imshow(depth, cmap="gray")
    draw_grasps(axes[4], selected, "lime")
    if titles:
        for ax, t in zip(axes, ("input + labels", "Q̂", "Φ̂ (deg)", "Ŵ", "selected grasps")):
            ax.set_title(t, fontsize=8)
    for ax in axes:
        ax.set_axis_off()
