"""Does the latent vary the prediction at a given training length? A diagnostic before sizing ``latentmrcnn_train``.

    python -m robopercept.latentmrcnn.latent_probe DATASETS BACKBONE [--set apparel] [--steps 800] [--every 200]
        [--beta 1e-5] [--prior-beta 0.1] [--val 10] [--k 10] [--threads 1] [--injection-init default|identity]

Trains one Latent-MaskRCNN as the ``latentmrcnn_train`` stage trains its first seed's model of ``--set`` (the
profile's model and schedule from ``params.yaml``, the stand-in backbone ``BACKBONE``, the stage's seed derivation: at
the profile's steps and beta it is the stage's model) with ``--steps``, ``--beta`` and ``--prior-beta`` in place of the
profile's and, every ``--every`` steps and at the last, reads ``--k`` prior samples of each of ``--val`` validation images: the agreement between
samples (:func:`.table1.sample_agreement`; 1 = every sample predicts the same instances, i.e. the latent is unused),
the mean KL and the prior's and posterior's mean log-variance over the last ``--every`` steps, and ``wz``: how much
weight the injection's 1x1 convs give z, ||W_z|| / ||W_f|| (the z and feature columns, mean over FPN levels).
``--injection-init identity`` re-initialises those convs as this repository did until session 21 (identity on the
features, zero on z: an untrained Latent-MaskRCNN is its Mask R-CNN) instead of the authors' init the model now
uses (PyTorch's default, ``model.LatentInjection``) — session 20's test of whether that start is why the heads
ignored z (it was: README). The re-initialisation draws nothing from torch's generator, so the rest of the run is
the stage's. The schedule depends on
``--steps`` (warm-up, lr decay at 2/3 and 8/9, KL switched on at ``kl_start``), so a read-out before the end is of a
run in the middle of its schedule, not of a shorter run. Nothing it prints enters a DVC output.

Session 18's cpu run (200 steps, beta 1e-5, prior_beta 0.1): sample agreement 0.997-0.9997 on all three sets
(``reports/tables/latentmrcnn/latent_diagnostics.md``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch


class _Probe:
    """Stands in for dvclive's ``Live`` in :func:`.train.train`: every ``every`` steps it reads the samples."""

    def __init__(self, model, val, every: int, k: int, out: list, last: int | None = None):
        self.model, self.val, self.every, self.k, self.out, self.last = model, val, every, k, out, last
        self.step = 0

    def log_metric(self, name, value) -> None:
        pass

    def next_step(self) -> None:
        self.step += 1
        if self.step % self.every and self.step != self.last:
            return
        from .evaluate import InferenceSettings, sample_image
        from .table1 import sample_agreement

        s = InferenceSettings(k=self.k)
        agree = [sample_agreement(sample_image(self.model, self.val, i, s)) for i in range(len(self.val))]
        self.model.train()
        self.out.append({"step": self.step, "agreement": float(np.nanmean(agree)) if np.isfinite(agree).any()
                         else float("nan"), "images_with_masks": int(np.isfinite(agree).sum()),
                         "wz": z_weight_ratio(self.model)})


def z_weight_ratio(model) -> float:
    """||W_z|| / ||W_f|| of the injection's 1x1 convs (mean over levels): 0 = the heads cannot see z."""
    ratios = []
    for conv in model.inject.proj.values():
        c = conv.out_channels
        w = conv.weight.detach()[:, :, 0, 0]
        ratios.append(float(w[:, c:].norm() / w[:, :c].norm().clamp(min=1e-12)))
    return float(np.mean(ratios))


def identity_injection(model) -> None:
    """The injection's 1x1 convs as the identity on the features and zero on z (this repository's start until
    session 21): the untrained Latent-MaskRCNN then decodes exactly as its Mask R-CNN."""
    with torch.no_grad():
        for conv in model.inject.proj.values():
            channels = conv.out_channels
            conv.weight.zero_()
            conv.weight[:, :channels, 0, 0] = torch.eye(channels)
            conv.bias.zero_()


def probe(datasets: str | Path, backbone: str | Path, set_name: str, steps: int, every: int, beta: float,
          prior_beta: float, n_val: int, k: int, injection_init: str = "default") -> list[dict]:
    from ..config import read_params
    from ..seed import derive_seed
    from .config import LatentDataConfig, LatentTrainConfig
    from .model import load_backbone
    from .sweep import build, model_settings, train_settings, training_set
    from .train import train

    if injection_init not in ("identity", "default"):
        raise ValueError(f"injection_init must be 'default' (the authors', the model's) or 'identity' (ours until "
                         f"session 21), got {injection_init!r}")
    if steps < 1 or every < 1 or n_val < 1 or k < 2:
        raise ValueError(f"steps, every and val must be >= 1 and k >= 2, got {steps}, {every}, {n_val}, {k}")
    if not Path(backbone).is_file():
        raise FileNotFoundError(f"latent_probe: no backbone checkpoint at {backbone} (stage pretrained_backbone)")
    params = read_params()
    cfg = LatentTrainConfig(**{**params["latentmrcnn_train"], "steps": steps, "beta": beta, "prior_beta": prior_beta})
    data = LatentDataConfig(**params["latentmrcnn_data"])
    ds = training_set(Path(datasets), set_name)
    val = training_set(Path(datasets), set_name, "val").head(n_val)
    seed = derive_seed(params["seed"], "latentmrcnn_train", set_name, 0)  # as latentmrcnn.sweep.train_all's seed 0
    torch.manual_seed(seed)
    model = build("latent", model_settings(cfg, data, ds.num_classes))
    load_backbone(model, backbone)
    if injection_init == "identity":
        identity_injection(model)
    out: list[dict] = []
    hist = train(model, ds, train_settings(cfg, seed), live=_Probe(model, val, every, k, out, last=steps))
    for row in out:
        window = [h for h in hist if row["step"] - every < h["step"] <= row["step"]]
        for key in ("loss", "kl", "logvar_p", "logvar_q"):
            vals = [h[key] for h in window if key in h]
            row[key] = float(np.mean(vals)) if vals else float("nan")
        row["beta_on"] = bool(any(h["beta"] > 0 for h in window))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", help="the datasets folder (e.g. artifacts/datasets)")
    ap.add_argument("backbone", help="the stand-in backbone (artifacts/models/pretrain/backbone.pt)")
    ap.add_argument("--set", default="apparel", choices=("apparel", "catalog", "street"))
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--every", type=int, default=200)
    ap.add_argument("--beta", type=float, default=1e-5)
    ap.add_argument("--prior-beta", type=float, default=0.1)
    ap.add_argument("--val", type=int, default=10)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--injection-init", default="default", choices=("default", "identity"))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    for r in probe(a.datasets, a.backbone, a.set, a.steps, a.every, a.beta, a.prior_beta, a.val, a.k,
                   injection_init=a.injection_init):
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()), flush=True)


if __name__ == "__main__":
    main()
