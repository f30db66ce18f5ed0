"""How the object-centre head calibrates during training: a diagnostic for §III-A.4's threshold.

    python -m robopercept.fastseg.centre_probe DATASET [--steps 2400] [--every 200] [--stride 4] [--val 20]
        [--focal-alpha 0.01] [--centre-radius-px 0] [--save DIR]

Trains one MobileNetV2 network exactly as the ``fastseg_train`` stage does (the three losses, the paper's focal
α = 0.01, γ = 2 and π = 0.1 bias, our schedule) and, every ``--every`` steps, reads the centre head on ``--val``
validation frames: the median over frames of the largest centre probability, the median probability at the target
centre elements, the shares of target centres and of all elements above the post-processing threshold (0.7,
§III-B), and the centres §III-B's post-processing finds at 0.7 matched to the instances (tp / fp / fn, F1;
:func:`.threshold.centre_detection`). It answers "does the head reach the paper's 0.7 at this training length?" before a training budget is
chosen; nothing it prints enters a DVC output. Session 12, cpu-profile data (256 x 128, stride 4, seed 0): no element
above 0.7 in 2400 steps (median max probability 0.09 at step 200, 0.21 at 2400) — issue #14's note.
Session 18, 600 steps, stride 4, seed 0: median max probability 0.09 / 0.35 / 0.46 with --focal-alpha 0.01 / 0.25 / 0.5,
no element above 0.7 with any (README "Results"). Session 19, 600 steps, stride 4, seed 0, alpha 0.01:
0.09 / 0.19 / 0.38 with --centre-radius-px 0 / 4 / 8 (0.38 still rising at step 600), no centre found at 0.7.

Since session 24 it also reads the embedding head with the *true* centres (:func:`embedding_stats`), apart from the
centre head, and takes the schedule's ``--lr``, the embedding loss's ``--w-embedding`` and ``--batch-size``. Session 24,
stride 4, radius 8, seed 0, 20 validation frames, at step 600 (share of instance elements within δ_a = 0.1 of their
centre / nearest centre their own / mean IoU of §III-B's assignment with true centres / median max centre
probability): lr 1e-3 0.27 / 0.78 / 0.23 / 0.39; lr 3e-3 0.41 / 0.82 / 0.30 / 0.45; lr 1e-2 0.22 / 0.86 / 0.30 / 0.54;
lr 1e-3 with --w-embedding 5 0.24 / 0.78 / 0.24 / 0.33 (with Adam a loss weight only rebalances the shared encoder);
lr 3e-3 with --w-embedding 5 0.34 / 0.84 / 0.25 / 0.47; lr 3e-3 with batch 8 0.42 / 0.84 / 0.30 / 0.58; lr 3e-3 for
1200 steps 0.41 / 0.85 / 0.32 / 0.64 (9 of 164 centres found at 0.7, none false). The embedding tells instances apart
(its nearest true centre is the right one for ~85 % of elements) but is not tight: fewer than half of the elements lie
within δ_a of their centre, so §III-B's δ_a filter drops the rest, and doubling the steps hardly moves that share.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from .dataset import FrameSet
from .losses import LossSettings, total_loss
from .model import FastSeg, ModelSettings
from .postprocess import PostSettings
from .targets import class_weights
from .threshold import centre_detection, f1
from .train import TrainSettings, batch

THRESHOLD = 0.7  # §III-B: "all grid elements that have a center confidence over 0.7"


def centre_stats(model: FastSeg, frames: list, threshold: float = THRESHOLD) -> dict[str, float]:
    """The centre head's probabilities on prepared validation samples (``FrameSet.sample`` at the model's stride)."""
    model.eval()
    with torch.no_grad():
        p = torch.sigmoid(model(torch.stack([f.image for f in frames]), heads=("centre",))["centre"])
    p = p.squeeze(1).numpy()
    target = np.stack([f.targets.centre for f in frames]) > 0
    at = p[target]
    return {"max_p_median": float(np.median(p.reshape(len(frames), -1).max(1))),
            "p_at_centres_median": float(np.median(at)) if at.size else float("nan"),
            "centres_above": float((at > threshold).mean()) if at.size else float("nan"),
            "elements_above": float((p > threshold).mean())}


def embedding_stats(model: FastSeg, frames: list, delta_a: float = LossSettings.delta_a) -> dict[str, float]:
    """The embedding head judged with the *true* centres, so that it is read apart from the centre head: over the
    instance elements of ``frames``, the share within ``delta_a`` of their own centre's embedding (what §III-B's
    assignment filter keeps), the share whose nearest centre (of the frame's true centres) is their own, and the mean
    intersection over union of each instance with the elements assigned to its centre by §III-B's rule (nearest centre
    within ``delta_a``)."""
    model.eval()
    with torch.no_grad():
        emb = model(torch.stack([f.image for f in frames]), heads=("embedding",))["embedding"].numpy()
    within, nearest, ious, n = 0, 0, [], 0
    for e, f in zip(emb, frames):
        inst, centre = f.targets.instance, f.targets.centre > 0.5
        ids = inst[centre]
        if ids.size == 0:
            continue
        flat = e.reshape(e.shape[0], -1).T  # (h*w, D)
        c = flat[centre.reshape(-1)]  # (K, D) in the order of ids
        d = np.linalg.norm(flat[:, None, :] - c[None], axis=2)  # (h*w, K)
        owner = np.where(d.min(1) <= delta_a, ids[d.argmin(1)], 0)
        lab = inst.reshape(-1)
        on = lab > 0
        n += int(on.sum())
        own = {int(i): j for j, i in enumerate(ids)}
        col = np.array([own.get(int(i), -1) for i in lab[on]])
        ok = col >= 0
        dist_own = np.full(col.shape, np.inf)
        dist_own[ok] = d[on][ok, col[ok]]
        within += int((dist_own <= delta_a).sum())
        nearest += int((ok & (d[on].argmin(1) == np.maximum(col, 0))).sum())
        for i in ids:
            a, b = lab == i, owner == i
            ious.append(float((a & b).sum() / max((a | b).sum(), 1)))
    return {"emb_within_delta_a": within / n if n else float("nan"),
            "emb_nearest_own": nearest / n if n else float("nan"),
            "emb_true_centre_iou": float(np.mean(ious)) if ious else float("nan")}


def probe(dataset: str | Path, size: tuple[int, int], steps: int, every: int, stride: int, n_val: int,
          seed: int = 0, decoder_width: int = 64, focal_alpha: float = LossSettings.focal_alpha,
          centre_radius_px: float = 0.0, save: str | Path | None = None, lr: float = TrainSettings.lr,
          w_embedding: float = LossSettings.w_embedding, batch_size: int = TrainSettings.batch_size) -> list[dict]:
    """Train one network and read its centre head every ``every`` steps; ``focal_alpha``: eq. (5)'s α (the paper's
    0.01 by default; other values are a diagnostic of the departure the threshold study points to);
    ``centre_radius_px``: the centre loss's positive blob (:mod:`.targets`; 0: one element per instance); ``save``: a
    folder to write the trained network to in ``fastseg_train``'s layout (``<save>/MNv2_OS<stride>_seed0/model.pt``;
    read it with :mod:`.mask_probe`); ``lr``, ``w_embedding``, ``batch_size``: the schedule's peak learning rate, the
    embedding loss's weight in the sum, the batch size (defaults: ``fastseg_train``'s)."""
    if not 0 < focal_alpha < 1:
        raise ValueError(f"focal_alpha must be in (0, 1), got {focal_alpha}")
    if steps < 1 or every < 1 or n_val < 1:
        raise ValueError(f"steps, every and val must be >= 1, got {steps}, {every}, {n_val}")
    train_set = FrameSet(dataset, "train", size=size, centre_radius_px=centre_radius_px)
    val = FrameSet(dataset, "val", size=size, n=n_val)
    if len(train_set) == 0 or len(val) == 0:
        raise ValueError(f"{dataset}: no training or validation frames")
    weights = torch.tensor(class_weights(train_set.class_counts(stride)), dtype=torch.float32)
    torch.manual_seed(seed)
    model = FastSeg(ModelSettings(encoder="mobilenetv2", dec_os=stride, decoder_width=decoder_width))
    ts = TrainSettings(steps=steps, seed=seed, lr=lr, batch_size=batch_size)
    losses = LossSettings(focal_alpha=focal_alpha, w_embedding=w_embedding)
    opt = torch.optim.Adam(model.parameters(), lr=ts.lr, weight_decay=ts.weight_decay)
    frames = [val.sample(i, stride) for i in range(len(val))]
    rows = []
    for step in range(steps):
        model.train()
        x, sem, inst, centre, blob = batch(train_set, step, stride, ts)
        for g in opt.param_groups:
            g["lr"] = ts.lr_at(step)
        terms = total_loss(model(x), sem, inst, centre, weights, losses, centre_target=blob)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        if (step + 1) % every == 0 or step + 1 == steps:
            model.eval()
            det = centre_detection([model], val, [THRESHOLD], PostSettings()).iloc[0]
            rows.append({"step": step + 1, **{f"loss_{k}": float(v.detach()) for k, v in terms.items()},
                         **centre_stats(model, frames),
                         **embedding_stats(model, frames, losses.delta_a), "centre_tp": int(det.tp), "centre_fp": int(det.fp),
                         "centre_fn": int(det.fn), "centre_f1": float(f1(det.tp, det.fp, det.fn))})
    if save is not None:
        import dataclasses

        from ..common import checkpoints

        row = "MNv2 OS1" if stride == 1 else "MNv2 OSk"
        checkpoints.save({"model": model.state_dict(), "row": row, "settings": dataclasses.asdict(model.settings),
                          "train": dataclasses.asdict(ts), "history": rows},
                         Path(save) / f"{row.replace(' ', '_')}_seed0" / "model.pt")
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", help="a Cityscapes-layout folder (e.g. artifacts/datasets/fastseg_cityscapes)")
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--every", type=int, default=200)
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--val", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--focal-alpha", type=float, default=LossSettings.focal_alpha,
                    help="eq. (5)'s alpha (default: the paper's 0.01)")
    ap.add_argument("--centre-radius-px", type=float, default=0.0,
                    help="the centre loss's positive blob radius in input pixels (default 0: one element per instance)")
    ap.add_argument("--lr", type=float, default=TrainSettings.lr, help="peak learning rate (default: fastseg_train's)")
    ap.add_argument("--w-embedding", type=float, default=LossSettings.w_embedding,
                    help="the embedding loss's weight in the sum (default 1)")
    ap.add_argument("--batch-size", type=int, default=TrainSettings.batch_size)
    ap.add_argument("--save", default=None, help="write the trained network here (fastseg_train's layout)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    for r in probe(a.dataset, (a.height, a.width), a.steps, a.every, a.stride, a.val,
                   focal_alpha=a.focal_alpha, centre_radius_px=a.centre_radius_px, save=a.save, lr=a.lr,
                   w_embedding=a.w_embedding, batch_size=a.batch_size):
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()), flush=True)


if __name__ == "__main__":
    main()
