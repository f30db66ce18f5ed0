"""Benchmark Table II's costs: ``python -m robopercept.graspseg.benchmark_instances``.

Measures, at a profile's sizes (default ``cpu``) with random weights and synthetic scenes (costs do not depend
on what the weights are):

* Mask2Former training throughput (images/s: forward + loss + backward + gradient clipping + step at the
  profile's batch size, the backbone's BatchNorm frozen, as Table II trains)
  with the standard criterion and with the robust set loss (Paste-*-Robust rows), and inference throughput
  (images/s);
* inpainting cost per image: our diffusion inpainter (the profile's UNet, ``sample_steps`` DDIM steps) and
  OpenCV's Telea, on a pasted-boundary mask of typical size.

Torch threads: ``--threads`` (default 1, as each Table II model trains in its own single-thread process).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _scene(rng, h: int, w: int, k: int = 8):
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    masks = np.zeros((k, h, w), bool)
    for i in range(k):
        y, x = rng.integers(0, h - h // 5), rng.integers(0, w - w // 5)
        masks[i, y:y + h // 6, x:x + w // 6] = True
    for i in range(k):  # disjoint
        masks[i] &= ~masks[i + 1:].any(0)
    return img, masks


def bench(profile: str, threads: int, steps: int) -> dict:
    import torch

    from ..config import load_profile
    from .config import GraspDataConfig
    from .config_instances import InpaintConfig, Table2Config
    from .inpaint import BoundaryInpainter, BoundaryInpaintSettings, OpenCVInpainter, build_unet, inpaint_mask, inpaint_radius
    from .instance_model import freeze_backbone_batchnorm, targets
    from .instance_train import InstanceTrainSettings, optimizer, predict_images, to_pixels
    from .paste import visible_boundary
    from .table2_train import model_settings

    torch.set_num_threads(threads)
    p = load_profile(profile)
    cfg = Table2Config.from_mapping(p["graspseg_table2"])
    icfg = InpaintConfig.from_mapping(p["graspseg_inpaint"])
    data = GraspDataConfig.from_mapping(p["graspseg_data"])
    h, w = data.height, data.width
    rng = np.random.default_rng(0)
    scenes = [_scene(rng, h, w, k=16) for _ in range(cfg.batch_size)]  # a pasted scene holds ~10-30
    from .instance_model import build

    model = build(model_settings(cfg))
    settings = InstanceTrainSettings(lr=cfg.lr)
    opt = optimizer(model, settings)
    x = to_pixels(np.stack([s[0] for s in scenes]))
    ml, cl = targets([s[1] for s in scenes])

    def step_time() -> float:
        # a training step as instance_train.train_model takes it: frozen backbone BatchNorm, gradient clipping
        for i in range(steps + 1):
            if i == 1:
                t0 = time.perf_counter()  # the first step warms up
            model.train()
            freeze_backbone_batchnorm(model)
            out = model(pixel_values=x, mask_labels=ml, class_labels=cl)
            opt.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_norm)
            opt.step()
        return (time.perf_counter() - t0) / steps

    train_s = step_time()
    from .instance_losses import robust_criterion

    robust_criterion(model, cfg.robust_iou)
    robust_s = step_time()
    t0 = time.perf_counter()
    predict_images(model, [s[0] for s in scenes])
    infer_s = (time.perf_counter() - t0) / len(scenes)
    radius = inpaint_radius(w)
    band = np.zeros((h, w), bool)
    for m in scenes[0][1]:
        band |= visible_boundary(m)
    band = inpaint_mask(band, radius)
    s = BoundaryInpaintSettings(channels=tuple(icfg.channels), layers_per_block=icfg.layers_per_block)
    ours = BoundaryInpainter(build_unet(s).eval(), steps=icfg.sample_steps)
    cv = OpenCVInpainter()  # the setting Table II's Paste-Grasp-OpenCVInpaint row pastes with (table2_train.row_inpainter)
    res = {}
    for name, inp in (("diffusion (ours)", ours), ("OpenCV Telea", cv)):
        inp(scenes[0][0], band)
        t0 = time.perf_counter()
        for k in range(3):
            inp(scenes[k % len(scenes)][0], band, seed=k)
        res[name] = (time.perf_counter() - t0) / 3
    return {"profile": profile, "threads": threads, "image": [h, w], "batch": cfg.batch_size,
            "mask2former": {"backbone": cfg.backbone, "queries": cfg.num_queries, "hidden": cfg.hidden_dim,
                            "train_images_per_s": round(cfg.batch_size / train_s, 2),
                            "train_s_per_step": round(train_s, 3),
                            "train_s_per_step_robust_set_loss": round(robust_s, 3),
                            "instances_per_image": int(scenes[0][1].shape[0]),
                            "infer_images_per_s": round(1 / infer_s, 2)},
            "inpaint_ms_per_image": {k: round(1000 * v, 1) for k, v in res.items()},
            "inpaint_mask_px": int(band.sum())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robopercept.graspseg.benchmark_instances", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5, help="timed training steps (after one warm-up step)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.threads < 1:
        ap.error("--steps and --threads must be >= 1")
    r = bench(args.profile, args.threads, args.steps)
    print(json.dumps(r, indent=1))
    if args.json:
        args.json.write_text(json.dumps(r, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
