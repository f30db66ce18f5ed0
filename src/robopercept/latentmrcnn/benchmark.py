"""Benchmark inference: ``python -m robopercept.latentmrcnn.benchmark --profile cpu``.

Measures, side by side on the same images and threads, at a profile's sizes (random weights: the cost of a pass does
not depend on what the weights are, only on how many detections survive, which ``--score-thresh 0`` makes maximal):

* one Mask R-CNN pass (torchvision, the baseline);
* Latent-MaskRCNN with the prior mean (one decoding);
* Latent-MaskRCNN with ``k`` prior samples sharing one backbone pass (:meth:`LatentMaskRCNN.sample`);
* the confidence masks (Algorithm 1) and Union-NMS (Algorithm 2) on those samples.

The paper: 80–100 ms for Mask R-CNN and 500–1000 ms for Latent-MaskRCNN on its GPU (§V-A). Timings are printed (and
written with ``--json``), never part of a DVC output.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path


def bench(profile: str, k: int, images: int, threads: int, score_thresh: float) -> dict:
    import numpy as np
    import torch

    from ..config import load_profile
    from .confidence import confidence_masks, union_nms
    from .config import LatentDataConfig, LatentEvalConfig, LatentTrainConfig
    from .model import LatentMaskRCNN, build_maskrcnn
    from .sweep import model_settings

    torch.set_num_threads(threads)
    p = load_profile(profile)
    data = LatentDataConfig.from_mapping(p["latentmrcnn_data"])
    cfg = LatentTrainConfig.from_mapping(p["latentmrcnn_train"])
    ecfg = LatentEvalConfig.from_mapping(p["latentmrcnn_eval"])
    s = model_settings(cfg, data, 2)
    s = dataclasses.replace(s, box_score_thresh=score_thresh)
    torch.manual_seed(0)
    mrcnn, latent = build_maskrcnn(s).eval(), LatentMaskRCNN(s).eval()
    g = torch.Generator().manual_seed(0)
    xs = [torch.rand(3, data.height, data.width, generator=g) for _ in range(images)]

    def timed(fn) -> float:
        fn(xs[0])  # warm-up
        t0 = time.perf_counter()
        for x in xs:
            fn(x)
        return 1000 * (time.perf_counter() - t0) / len(xs)

    out: dict = {}
    with torch.no_grad():
        out["maskrcnn_ms"] = timed(lambda x: mrcnn([x]))
        out["latent_prior_mean_ms"] = timed(lambda x: latent([x]))
        out[f"latent_{k}_samples_ms"] = timed(lambda x: latent.sample([x], k, generator=torch.Generator().manual_seed(1)))
        samples = [[((d["masks"][:, 0] > 0.5).numpy(), d["scores"].numpy()) for d in
                    latent.sample([x], k, generator=torch.Generator().manual_seed(1))[0]] for x in xs]
    t0 = time.perf_counter()
    n_conf = [len(confidence_masks(sm, ecfg.p, ecfg.min_score)[0]) for sm in samples]
    out["confidence_masks_ms"] = 1000 * (time.perf_counter() - t0) / len(xs)
    t0 = time.perf_counter()
    for sm in samples:
        union_nms(sm, ecfg.nms_iou)
    out["union_nms_ms"] = 1000 * (time.perf_counter() - t0) / len(xs)
    out[f"latent_{k}_samples_over_maskrcnn"] = out[f"latent_{k}_samples_ms"] / out["maskrcnn_ms"]
    return {"profile": profile, "image": [data.height, data.width], "backbone": cfg.backbone, "k": k,
            "threads": threads, "images": images, "score_thresh": score_thresh,
            "detections_per_sample": float(np.mean([len(m) for sm in samples for m, _ in sm])),
            "confidence_masks_per_image": float(np.mean(n_conf)), **{key: round(v, 2) for key, v in out.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robopercept.latentmrcnn.benchmark", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--score-thresh", type=float, default=0.05, help="box score threshold (0: every detection)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.k < 1 or args.images < 1 or args.threads < 1:
        ap.error("--k, --images and --threads must be >= 1")
    r = bench(args.profile, args.k, args.images, args.threads, args.score_thresh)
    print(json.dumps(r, indent=1))
    if args.json:
        args.json.write_text(json.dumps(r, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
