"""Every DON configuration the paper trains (§IV-E, §IV-F), as named variants shared between experiments.

A :class:`Variant` is one training configuration: the loss, the training data (single-object scenes with masked
sampling, as the original DON, or multi-object scenes without masks), the augmentations, D, the batch size, the
correspondence counts and how many multi-object scenes. :func:`experiments` lists, for each table or figure, its
rows as (label, variant); a variant that appears in several (the default NT-Xent + multi-object + augmentations
model is in Table I, Fig. 5, Fig. 6 and Tables II–IV) is trained once per seed (:func:`unique_variants`).

* **Table I** (§IV-E.1): the seven loss × data rows.
* **Fig. 5** (§IV-F.1): NT-Xent multi-object with 1, 3, … scenes, with and without augmentations; the reference line
  is Pixelwise + Cross-Object on all single-object scenes (Table I's row).
* **Fig. 6** (§IV-F.2): NT-Xent multi-object "starting with no augmentations and each time incrementally adding new
  augmentations", in the order §III-A lists them (robopercept.don.augment.AUGMENTATIONS: the paper's figure order is
  not in its text).
* **Table II** (§IV-F.3): D ∈ ``dims`` for both losses; **Table III** (§IV-F.5): batch sizes; **Table IV**
  (§IV-F.6): correspondence counts (pixelwise: matches and non-matches per match; NT-Xent: matches per image). All
  on multi-object data with every augmentation ("Both losses are trained on multi-object data and with full set of
  augmentations").

**Scaling to the frame size.** The paper's counts are for 640 × 480 frames (307,200 pixels). A smaller frame has
proportionally fewer pixels and fewer object pixels, so training samples ``round(count × pixels / 307200)`` (at least
one): the same share of the image. Tables show both the paper's count (the row label) and ours.
"""

from __future__ import annotations

import dataclasses

from .augment import AUGMENTATIONS
from .config import DonTrainConfig

PAPER_PIXELS = 640 * 480
ALL_AUG = tuple(AUGMENTATIONS)


@dataclasses.dataclass(frozen=True)
class Variant:
    loss: str  # pixelwise | pixelwise_cross_object | ntxent
    data: str  # "single" (masked sampling on single-object scenes) | "multi" (no masks)
    augmentations: tuple[str, ...] = ()
    descriptor_dim: int = 16
    batch_size: int = 1
    correspondences: int = 2048  # the paper's count (at 640 x 480)
    non_matches: int = 0  # per correspondence (pixelwise losses)
    n_scenes: int = 0  # multi-object training scenes used (0: all)

    def key(self) -> str:
        """A readable, unique folder name."""
        aug = "aug" + "".join(a[0] + a[1] for a in self.augmentations) if self.augmentations else "noaug"
        aug = "augall" if self.augmentations == ALL_AUG else aug
        nc = f"_nc{self.non_matches}" if self.loss != "ntxent" else ""
        sc = f"_s{self.n_scenes}" if self.n_scenes else ""
        return (f"{self.loss}_{self.data}_{aug}_D{self.descriptor_dim}_bs{self.batch_size}_c{self.correspondences}"
                f"{nc}{sc}")


def scaled(count: int, height: int, width: int) -> int:
    """The paper's per-image count at 640 x 480, scaled to a ``height`` x ``width`` frame (>= 1)."""
    return max(1, round(count * height * width / PAPER_PIXELS))


def experiments(cfg: DonTrainConfig, n_multi: int) -> dict[str, list[tuple[str, Variant]]]:
    """Rows of each experiment of ``cfg.experiments``: (label, variant), in the paper's order. ``n_multi``: the
    multi-object training scenes the dataset holds (a Fig. 5 count of all of them is the default model's "all")."""
    D = cfg.descriptor_dim

    def nt(aug=ALL_AUG, **kw) -> Variant:
        base = dict(loss="ntxent", data="multi", augmentations=aug, descriptor_dim=D, batch_size=cfg.ntxent_batch_size,
                    correspondences=cfg.ntxent_correspondences)
        return Variant(**{**base, **kw})

    def px(loss="pixelwise", data="multi", aug=ALL_AUG, **kw) -> Variant:
        base = dict(loss=loss, data=data, augmentations=aug, descriptor_dim=D, batch_size=cfg.pixelwise_batch_size,
                    correspondences=cfg.pixelwise_correspondences, non_matches=cfg.non_matches)
        return Variant(**{**base, **kw})

    out: dict[str, list[tuple[str, Variant]]] = {}
    table1 = [("Pixelwise", px(data="single", aug=())),
              ("Pixelwise + Augmentations", px(data="single")),
              ("Pixelwise + Cross-Object", px(loss="pixelwise_cross_object", data="single", aug=())),
              ("Pixelwise + Cross-Object + Augmentations", px(loss="pixelwise_cross_object", data="single")),
              ("Pixelwise + Multi-Object + Augmentations", px()),
              ("NT-Xent + Multi-Object", nt(aug=())),
              ("NT-Xent + Multi-Object + Augmentations", nt())]
    for name in cfg.experiments:
        if name == "table1":
            out[name] = table1
        elif name == "fig5":
            counts = list(dict.fromkeys(min(n, n_multi) for n in cfg.fig5_scenes))  # no more than the dataset has
            rows = [(f"NT-Xent, {n} scene{'s' if n > 1 else ''}{', augmentations' if aug else ''}",
                     nt(aug=ALL_AUG if aug else (), n_scenes=0 if n >= n_multi else n))
                    for aug in (False, True) for n in counts]
            out[name] = rows + [("Pixelwise + Cross-Object (all single-object scenes)", table1[2][1])]
        elif name == "fig6":
            out[name] = [("none" if i == 0 else f"+ {AUGMENTATIONS[i - 1]}", nt(aug=ALL_AUG[:i]))
                         for i in range(len(AUGMENTATIONS) + 1)]
        elif name == "table2":
            out[name] = [(f"{lab}, D = {d}", f(descriptor_dim=d)) for lab, f in (("NT-Xent", nt), ("Pixelwise", px))
                         for d in cfg.dims]
        elif name == "table3":
            out[name] = [(f"{lab}, batch size {b}", f(batch_size=b)) for lab, f in (("Pixelwise", px), ("NT-Xent", nt))
                         for b in cfg.batch_sizes]
        elif name == "table4":
            out[name] = ([(f"Pixelwise, {c // 1000}k, {n} NC", px(correspondences=c, non_matches=n))
                          for c, n in cfg.pixelwise_sweep]
                         + [(f"NT-Xent, {c}", nt(correspondences=c)) for c in cfg.ntxent_sweep])
    return out


def unique_variants(cfg: DonTrainConfig, n_multi: int) -> list[Variant]:
    """Every variant of the configured experiments once, in first-appearance order."""
    seen: dict[str, Variant] = {}
    for rows in experiments(cfg, n_multi).values():
        for _, v in rows:
            seen.setdefault(v.key(), v)
    return list(seen.values())
