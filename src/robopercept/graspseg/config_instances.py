"""Configs of graspseg's instance-segmentation stages (§III-B, §V Table II, §VI Table III), validated on
construction (no torch import). Sizes follow the paper at the ``paper`` profile; ``cpu`` and ``smoke``
shrink them, and the notebooks say what each shrink costs."""

from __future__ import annotations

import dataclasses
import typing

from ..config import Validated, require

# Table II's rows in the paper's order, and what each is made of (graspseg.table2_train documents them).
TABLE2_ROWS = ("Mask2Former-100", "Single-Object-100", "Paste-Subtract", "Paste-Subtract-Robust", "Paste-Train",
               "Paste-Grasp", "Paste-Grasp-Filter", "Paste-Grasp-Robust", "Paste-Grasp-Inpaint",
               "Paste-Grasp-OpenCVInpaint", "Mask2Former-1000")  # Paste-Grasp-OpenCVInpaint: ours, not the paper's
# Table III's rows (§VI-B: "the top segmentation models from each method").
TABLE3_ROWS = ("Paste-Subtract-Robust", "Mask2Former-1000", "Paste-Grasp-Inpaint")
BACKBONES = ("resnet18", "resnet34", "resnet50")


@dataclasses.dataclass(frozen=True)
class CropsConfig(Validated):
    """``graspseg_crops``: §III-B.1, object crops from unlabeled grasps (graspseg.crops)."""

    _where: typing.ClassVar[str] = "graspseg_crops"
    max_pairs: int = 110_000  # unlabeled successful grasps run through each source (paper: all 110k)
    grasp_seeds: int = 3  # Grasp-100 seeds whose crops are collected (Table II's seed k pastes from seed k)
    # the entropy threshold of the -Filter sources: "recall-matched" (each Grasp-100 seed's own threshold at which its
    # whole filter keeps the paper's Grasp-100-Filter recall, 29.4 %, of its validation predictions: the paper's
    # regime) or "table1" (Table I's one F1-calibrated threshold, which keeps ~90 % here)
    filter_calibration: str = "recall-matched"
    batch_size: int = 16
    n_examples: int = 12  # kept and rejected crops shown per source

    def check(self) -> None:
        require(self.max_pairs >= 1, "max_pairs", "must be >= 1")
        require(self.grasp_seeds >= 1, "grasp_seeds", "must be >= 1")
        require(self.filter_calibration in ("recall-matched", "table1"), "filter_calibration",
                f"must be 'recall-matched' or 'table1' (got {self.filter_calibration!r})")
        require(self.batch_size >= 1, "batch_size", "must be >= 1")
        require(self.n_examples >= 1, "n_examples", "must be >= 1")


@dataclasses.dataclass(frozen=True)
class InpaintConfig(Validated):
    """``graspseg_inpaint``: §III-B.3, the boundary inpainter trained here (graspseg.inpaint)."""

    _where: typing.ClassVar[str] = "graspseg_inpaint"
    sd_pipeline: str = ""  # a local Stable Diffusion inpainting folder to use instead (paper); "" = ours
    channels: list[int] = dataclasses.field(default_factory=lambda: [32, 64, 64])
    layers_per_block: int = 1
    patch: int = 64
    steps: int = 1500
    batch_size: int = 16
    lr: float = 0.0002
    sample_steps: int = 4  # paper: "run the denoising process for 4 steps"
    n_eval: int = 100  # held-out boundary bands (test images) scored for each inpainter
    n_examples: int = 4  # Fig. 3 panels

    def check(self) -> None:
        require(len(self.channels) >= 2 and min(self.channels) >= 8, "channels", "needs >= 2 levels of >= 8 channels")
        require(self.layers_per_block >= 1, "layers_per_block", "must be >= 1")
        require(self.patch >= 16 and self.patch % 2 ** (len(self.channels) - 1) == 0, "patch",
                f"must be >= 16 and divisible by {2 ** (len(self.channels) - 1)}")
        require(self.steps >= 1, "steps", "must be >= 1")
        require(self.batch_size >= 1, "batch_size", "must be >= 1")
        require(self.lr > 0, "lr", "must be > 0")
        require(self.sample_steps >= 1, "sample_steps", "must be >= 1")
        require(self.n_eval >= 1, "n_eval", "must be >= 1")
        require(self.n_examples >= 1, "n_examples", "must be >= 1")


@dataclasses.dataclass(frozen=True)
class Table2Config(Validated):
    """``graspseg_table2``: §V, Table II (trained by graspseg.table2_train, tabulated by graspseg.table2)."""

    _where: typing.ClassVar[str] = "graspseg_table2"
    rows: list[str] = dataclasses.field(default_factory=lambda: list(TABLE2_ROWS))  # []: none trained (see check)
    n_seeds: int = 3
    # a local Stable Diffusion inpainting folder (diffusers layout): Paste-Grasp-Inpaint inpaints its pastes with it,
    # the paper's inpainter (§III-B.3); "" = the small diffusion model stage graspseg_crops trains (no download here)
    sd_pipeline: str = ""
    # -- the model (Mask2Former; paper: ResNet-50, 100 queries, defaults) ---------------------------
    backbone: str = "resnet50"
    num_queries: int = 100
    hidden_dim: int = 256
    encoder_layers: int = 6
    decoder_layers: int = 10
    dim_feedforward: int = 2048
    encoder_feedforward_dim: int = 1024
    num_heads: int = 8
    train_num_points: int = 12544
    # -- training (Mask2Former's recipe; early stopping on validation AP) ----------------------------
    lr: float = 0.0001
    batch_size: int = 16
    max_steps: int = 20000
    eval_every: int = 500
    patience: int = 5
    min_steps: int = 5000  # ours (the paper names no warm-up): early stopping may end a run only from here on
    n_small: int = 100  # labeled images of the "-100" rows (paper: 100)
    n_large: int = 1000  # labeled images of Mask2Former-1000 (capped by what the dataset holds; said so)
    n_val: int = 100  # validation images for early stopping (labeled training images, disjoint)
    # -- cut-and-paste (§III-B.2) and the robust set loss (§V-A.2) -------------------------------------
    min_pasted: int = 0
    max_pasted: int = 25
    min_scale: float = 0.75
    max_scale: float = 1.25
    robust_iou: float = 0.7
    # which targets the robust set loss refines: "pasted" (the pasted crops' noisy masks; a labeled image's own
    # instances keep Mask2Former's mask loss) or "all" (every matched target: the literal reading, sessions 10-42)
    robust_targets: str = "pasted"
    t_occ_train_objects: float = 0.95  # Paste-Train: labeled instances with visible/amodal above this
    n_boot: int = 1000
    workers: int = 2

    def check(self) -> None:
        unknown = [r for r in self.rows if r not in TABLE2_ROWS]
        require(not unknown, "rows", f"unknown row(s) {unknown}; choose from {list(TABLE2_ROWS)}")
        # rows: [] trains no Table II model: a profile whose budget cannot hold Mask2Former (the cpu profile; README
        # "Profiles") writes Table II as "not trained at this profile" and Table III runs its oracle row only
        require(len(set(self.rows)) == len(self.rows), "rows", "must be distinct")
        require(self.n_seeds >= 1, "n_seeds", "must be >= 1")
        require(self.backbone in BACKBONES, "backbone", f"must be one of {BACKBONES}")
        for k in ("num_queries", "encoder_layers", "decoder_layers", "dim_feedforward", "encoder_feedforward_dim",
                  "train_num_points", "batch_size", "max_steps", "patience", "n_small", "n_val", "workers"):
            require(getattr(self, k) >= 1, k, "must be >= 1")
        require(self.hidden_dim % self.num_heads == 0, "hidden_dim", "must be a multiple of num_heads")
        require(self.hidden_dim % 32 == 0, "hidden_dim", "must be a multiple of 32 (Mask2Former's GroupNorm has 32 groups)")
        require(1 <= self.eval_every <= self.max_steps, "eval_every", "must be in 1..max_steps")
        require(0 <= self.min_steps <= self.max_steps, "min_steps", "must be in 0..max_steps")
        require(self.n_large >= self.n_small, "n_large", "must be >= n_small")
        require(0 <= self.min_pasted <= self.max_pasted, "max_pasted", "must be >= min_pasted >= 0")
        require(0 < self.min_scale <= self.max_scale, "max_scale", "must be >= min_scale > 0")
        require(0 < self.robust_iou < 1, "robust_iou", "must be in (0, 1)")
        require(self.robust_targets in ("pasted", "all"), "robust_targets", "must be 'pasted' or 'all'")
        require(0 < self.t_occ_train_objects <= 1, "t_occ_train_objects", "must be in (0, 1]")
        require(self.lr > 0, "lr", "must be > 0")
        require(self.n_boot >= 10, "n_boot", "must be >= 10")


@dataclasses.dataclass(frozen=True)
class Table3Config(Validated):
    """``graspseg_table3``: §VI, Table III as simulated picking (graspseg.picking)."""

    _where: typing.ClassVar[str] = "graspseg_table3"
    n_trials: int = 700  # paper: "We perform 700 grasps ... for each segmentation model"
    min_score: float = 0.5
    max_masks: int = 10
    n_centres: int = 5
    n_angles: int = 6
    # the planned mask's diagnosis (graspseg.picking.mask_diagnosis): an object holding >= group_share of a mask is in
    # it (two such: grouped); a mask covering < split_coverage of its object is partial, or split if another covers it
    group_share: float = 0.2
    split_coverage: float = 0.5
    min_object_px: int = 100  # objects with fewer visible pixels are left out of the diagnosis (slivers)
    n_boot: int = 1000
    workers: int = 2
    trials_per_shard: int = 25

    def check(self) -> None:
        for k in ("n_trials", "max_masks", "n_centres", "n_angles", "workers", "trials_per_shard"):
            require(getattr(self, k) >= 1, k, "must be >= 1")
        require(0 <= self.min_score <= 1, "min_score", "must be in [0, 1]")
        require(0 < self.group_share <= 0.5, "group_share", "must be in (0, 0.5]")
        require(0 < self.split_coverage <= 1, "split_coverage", "must be in (0, 1]")
        require(self.min_object_px >= 1, "min_object_px", "must be >= 1")
        require(self.n_boot >= 10, "n_boot", "must be >= 10")


SECTIONS = {
    "graspseg_crops": CropsConfig,
    "graspseg_inpaint": InpaintConfig,
    "graspseg_table2": Table2Config,
    "graspseg_table3": Table3Config,
}
