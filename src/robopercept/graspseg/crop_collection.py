"""§III-B.1: collecting object crops from unlabeled grasps with Table I's models and baselines.

    "we use the grasp segmentation model on unlabeled grasp image pairs to predict the mask of the
    grasped object. To collect a reliable set of unoccluded object crops, we apply a several filters on
    the prediction." (§III-B.1); "we use a suction gauge to keep only successful grasps" (§I)

Stage graspseg_crops runs this module: a grasp segmentation checkpoint or a subtraction baseline over the
successful unlabeled grasps, every non-empty mask written with its filter verdicts, the entropy threshold
calibrations, and the figure of kept and rejected crops. The on-disk format and its readers live in
:mod:`robopercept.graspseg.crops`, which Table II's training reads; keeping the collection apart keeps
Table I's code (models, filters, calibration) out of Table II's training closure, so that editing it does not
retrain Table II's models.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..common.records import read_json
from ..formats.grasp_pairs import iter_grasp_folders, read_sample
from ..world.shards import _file_md5 as file_md5
from .crops import CropWriter, read_crop, read_index
from .filters import FilterConfig, contour_filter, model_filter


def successful_grasps(dataset: Path, split: str = "unlabeled", limit: int | None = None) -> list[Path]:
    """Grasp folders of ``split`` whose suction gauge reported success, in dataset order."""
    out = []
    for folder in iter_grasp_folders(dataset, split):
        rec = read_json(folder / "record.json", stage="graspseg_grasp_data", kind="grasp record")
        if rec.get("success", False):
            out.append(folder)
            if limit is not None and len(out) >= limit:
                break
    if not out:
        raise ValueError(f"{dataset}/{split} holds no successful grasps (stage graspseg_grasp_data makes them)")
    return out


def _batches(folders: Sequence[Path], size: int) -> Iterator[list]:
    for i in range(0, len(folders), size):
        yield [read_sample(f, labels=False) for f in folders[i:i + size]]


def collect_model_crops(checkpoint: Path, dataset: Path, folders: Sequence[Path], out: Path,
                        filter_cfg: FilterConfig, batch_size: int = 16) -> dict:
    """Run a grasp segmentation checkpoint over ``folders``; keep every non-empty visible mask, with the
    §III-B.1 filter verdicts (``kept`` = all pass)."""
    import torch

    from ..common.threads import one_torch_thread
    from .model import GraspSegmentationModel
    from .train import load_checkpoint

    model, ckpt = load_checkpoint(checkpoint)
    model = model.to(memory_format=torch.channels_last)  # as train.predict: one thread, channels-last
    w = CropWriter(out, dataset, {"method": ckpt.get("variant", "?"), "kind": "grasp segmentation model",
                               "checkpoint": "/".join(Path(checkpoint).parts[-2:]),  # <variant>_seed<k>/model.pt
                               "checkpoint_md5": file_md5(Path(checkpoint)),
                               "filter": dataclasses.asdict(filter_cfg)})
    to_t = lambda xs: torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 255  # noqa: E731
    with torch.no_grad(), one_torch_thread():  # the same bytes on any machine's core count (common.threads)
        for batch in _batches(folders, batch_size):
            x = GraspSegmentationModel.inputs(to_t([s.before for s in batch]), to_t([s.after for s in batch]),
                                              torch.from_numpy(np.stack([s.grasp_mask for s in batch]))[:, None].float())
            x = x.contiguous(memory_format=torch.channels_last)
            probs = torch.sigmoid(model(x)).numpy()
            for s, p in zip(batch, probs):
                verdicts = model_filter(p[0], p[1], filter_cfg)
                keep = verdicts.pop("keep")
                w.add(s.folder, s.record.get("grasped", {}).get("object", ""), s.before, p[0] > 0.5, verdicts, keep)
    return w.close()


def collect_mask_crops(name: str, predict: Callable[[object], np.ndarray], dataset: Path, folders: Sequence[Path],
                       out: Path, filter_cfg: FilterConfig, parameters: dict) -> dict:
    """Crops from a mask baseline (``predict(sample) -> bool mask``), kept by the contour filter."""
    w = CropWriter(out, dataset, {"method": name, "kind": "mask baseline", "parameters": parameters,
                               "filter": dataclasses.asdict(filter_cfg)})
    for folder in folders:
        s = read_sample(folder, labels=False)
        mask = np.asarray(predict(s), bool)
        ok = contour_filter(mask, filter_cfg)
        w.add(folder, s.record.get("grasped", {}).get("object", ""), s.before, mask,
              {"nonempty": bool(mask.any()), "contours": ok}, ok)
    return w.close()


def table1_entropy_threshold(models: Sequence[tuple[str, int]], models_dir: Path, val_folders: Sequence[Path],
                             good_iou: float) -> float:
    """Table I's entropy threshold ("F1 (ours)"), recomputed the way ``graspseg.table1.evaluate_models`` chooses
    it: the F1-best ``t_ent`` on the validation predictions of every trained model, pooled. Recomputing (about
    a second per model) keeps this stage independent of another stage's reports."""
    from .data import GraspSegDataset
    from .filters import calibrate_entropy_threshold, relative_entropy
    from .metrics import iou
    from .train import load_checkpoint, predict
    from .variants import checkpoint_path

    val_ds = GraspSegDataset(list(val_folders))
    rel, ious = [], []
    for name, k in models:
        model, _ = load_checkpoint(checkpoint_path(models_dir, name, k))
        probs = predict(model, val_ds)
        rel += [relative_entropy(p[0]) for p in probs]
        ious += [iou(p[0] > 0.5, item[3]) for p, item in zip(probs, val_ds.items)]
    return calibrate_entropy_threshold(np.array(rel), np.array(ious), good_iou)


def recall_matched_entropy_threshold(checkpoint: Path, val_folders: Sequence[Path], filter_cfg: FilterConfig,
                                     target: float) -> tuple[float, float]:
    """The entropy threshold at which one grasp segmentation model's whole §III-B.1 filter keeps a share ``target``
    of its validation predictions (Table I's "recall-matched" calibration, :func:`.table1.recall_matched_threshold`,
    for this model alone), and the share it keeps there. With ``target`` the paper's Grasp-100-Filter recall (29.4 %),
    the filter is as selective for this model as the paper's was for its own."""
    from .data import GraspSegDataset
    from .filters import passes_all_but_entropy, relative_entropy
    from .table1 import recall_matched_threshold
    from .train import load_checkpoint, predict

    val_ds = GraspSegDataset(list(val_folders))
    model, _ = load_checkpoint(checkpoint)
    probs = predict(model, val_ds)
    rel = np.array([relative_entropy(p[0]) for p in probs])
    other = np.array([passes_all_but_entropy(p[0], p[1], filter_cfg) for p in probs])
    t = recall_matched_threshold(rel, other, target)
    return t, float(np.mean(other & (rel < t)))


def kept_rejected_figure(folder: Path, n: int, title: str):
    """A figure: up to ``n`` kept crops (top row) and ``n`` rejected ones (bottom, titled with the filters
    they failed) of one crop folder, on white."""
    from matplotlib import pyplot as plt

    ix = read_index(folder)
    kept = [r for r in ix["records"] if r["file"] and r["kept"]][:n]
    rejected = [r for r in ix["records"] if r["file"] and not r["kept"]][:n]
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n, 3), squeeze=False)
    for row, recs, label in ((0, kept, "kept"), (1, rejected, "rejected")):
        for j in range(n):
            ax = axes[row, j]
            ax.axis("off")
            if j < len(recs):
                c = read_crop(Path(folder) / recs[j]["file"])
                ax.imshow(np.where(c.mask[..., None], c.rgb, 255))
                failed = [k for k, v in recs[j]["verdicts"].items() if not v]
                ax.set_title(label if not failed else ",".join(failed), fontsize=6)
    fig.suptitle(title, fontsize=9)
    return fig
