"""Each paper's networks at a profile's sizes on one device: ``python -m robopercept.device_bench``.

    python -m robopercept.device_bench [--profile paper] [--device cuda] [--steps 10] [--only graspseg_table1 ...]
                                       [--cudnn benchmark|default|deterministic]
                                       [--json reports/timings/device/paper_h100.json]

The stages train on the CPU (no stage moves a model to an accelerator), so the ``paper`` profile — the papers' own
sizes — cannot run as a whole on this project's 2-core machines, and nothing in the pipeline says what it would
cost on a GPU. This measures the part that scales with the profile: for every trained network, a training step
(forward pass, the stage's own loss, backward pass, optimizer step) at the profile's resolution and batch size, and
the inference passes whose speed a paper reports (latentmrcnn §V-A, mlgsl's CTPG, fastseg's CNN column of Table I),
with random weights and synthetic inputs and targets (the cost of a pass does not depend on what the weights are;
where it depends on the targets — instances per image — the synthetic scene says how many). It leaves out what
runs on the CPU beside the network (data generation in pybullet, loading, augmentation, post-processing), so a
stage's time on a GPU machine is at least ``max_steps x step``, never less.

``--cudnn`` sets how the GPU picks its kernels: ``benchmark`` (the default, and every committed record's: cuDNN times
its convolution algorithms and keeps the fastest, workspace and all), ``default`` (cuDNN's heuristics, no timing) or
``deterministic`` (``torch.use_deterministic_algorithms`` with cuDNN's deterministic algorithms and a fixed cuBLAS
workspace: what a byte-reproducible GPU training run would need). In ``deterministic`` mode torch is told to warn,
not fail, on an operation that has no deterministic implementation; each section records those operations
(``nondeterministic_ops``; a warning torch issues once per process is heard by the first section that triggers it
only), so the record says which networks could train reproducibly on a GPU and what it costs. graspseg's two
sections also train a fresh model twice for 3 steps and compare the states (``repeatability``; in one process, so run
the command twice to compare processes by ``state_md5``). Peaks are read from a counter reset before the warm-up
calls: in ``benchmark`` mode they include the autotuner's trials.

Each section runs on its own; one that fails records its error and the others still run. ``torch.cuda``
synchronisation brackets every timed call on a GPU. Wall-clock records go to ``reports/timings/`` and never into a
DVC output.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np

CUDNN_MODES = ("benchmark", "default", "deterministic")
SECTIONS = ("pretrain", "graspseg_table1", "graspseg_inpaint", "graspseg_table2", "latentmrcnn", "mlgsl", "fastseg",
            "don")


class Timer:
    """Median seconds of ``fn()`` over ``reps`` calls after ``warmup`` calls, synchronising a GPU around each."""

    def __init__(self, device, warmup: int = 2, reps: int = 10):
        import torch

        self.device, self.warmup, self.reps = torch.device(device), warmup, reps
        self._sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)

    def __call__(self, fn: Callable[[], object]) -> float:
        for _ in range(self.warmup):
            fn()
        times = []
        for _ in range(self.reps):
            self._sync()
            t = time.perf_counter()
            fn()
            self._sync()
            times.append(time.perf_counter() - t)
        return float(np.median(times))


def _boxes(rng, n: int, h: int, w: int) -> np.ndarray:
    """``n`` boxes (x0, y0, x1, y1) of 1/12-1/4 of the image side, anywhere in it."""
    bw = rng.integers(w // 12, w // 4, n)
    bh = rng.integers(h // 12, h // 4, n)
    x0, y0 = rng.integers(0, w - bw), rng.integers(0, h - bh)
    return np.stack([x0, y0, x0 + bw, y0 + bh], 1)


def _instances(rng, n: int, h: int, w: int) -> np.ndarray:
    """An instance-id map (1..n, later boxes on top; 0 background) of ``n`` boxes."""
    ids = np.zeros((h, w), np.int64)
    for i, (x0, y0, x1, y1) in enumerate(_boxes(rng, n, h, w), 1):
        ids[y0:y1, x0:x1] = i
    return ids


def _step(model, opt, loss_fn) -> Callable[[], None]:
    def run():
        loss = loss_fn()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return run


def _reset(device) -> None:
    """Start a peak-memory reading (GPU only)."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def _memory(device) -> dict:
    """The peak GPU memory allocated since the last :func:`_reset` (nothing on a CPU)."""
    import torch

    if torch.device(device).type != "cuda":
        return {}
    return {"peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}


def _repeatability(build: Callable[[], tuple[object, Callable[[], None]]], steps: int = 3) -> dict:
    """Train twice from the same seed and inputs for ``steps`` steps: is the model's state the same bytes?

    ``build()`` returns ``(model, step)``; it is called under ``torch.manual_seed(0)`` each time, so both runs start
    from the same weights. Compares the whole ``state_dict`` (parameters and buffers such as BatchNorm's running
    statistics; not the optimizer's state). Both runs share one process, after the section's timed calls: in
    ``benchmark`` mode they reuse the kernels the autotuner already chose, so a same-bytes answer here says nothing
    about another process; ``state_md5`` (the first run's digest) lets two processes be compared.
    """
    import hashlib

    import torch

    def once():
        torch.manual_seed(0)
        model, step = build()
        for _ in range(steps):
            step()
        return [q.detach().float().cpu() for q in model.state_dict().values()]

    a, b = once(), once()
    md5 = lambda ps: hashlib.md5(b"".join(q.numpy().tobytes() for q in ps)).hexdigest()  # noqa: E731
    diff = max(float((x - y).abs().max()) if x.numel() else 0.0 for x, y in zip(a, b))
    return {"steps": steps, "identical": md5(a) == md5(b), "max_abs_state_diff": diff, "state_md5": md5(a)}


def _estimate(parts: list[tuple[int, float, int]], note: str = "") -> dict:
    """Network compute of a stage's training at the profile: ``parts`` = (steps per model, seconds per step, models)
    for each kind of model the stage trains (a row, a loss, a dataset size)."""
    hours = [steps * s / 3600 for steps, s, _ in parts]
    out = {"models": sum(m for *_, m in parts), "max_steps_per_model": sorted({steps for steps, *_ in parts}),
           "hours_per_model_at_max_steps": sorted({round(h, 2) for h in hours}),
           "hours_all_models_at_max_steps": round(sum(h * m for h, (*_, m) in zip(hours, parts)), 1)}
    if note:
        out["note"] = note
    return out


def graspseg_table1(cfg: dict, device, timer: Timer) -> dict:
    """graspseg §III-A: ResNet-FPN + gated heads on [i_b, i_a, i_b - i_a, g], eq. (2) on both outputs."""
    import torch

    from .graspseg.loss import grasp_segmentation_loss, scaled_kernels
    from .graspseg.model import GraspSegmentationModel

    m, d = cfg["graspseg_model"], cfg["graspseg_data"]
    h, w, b = d.height, d.width, m.batch_size
    model = GraspSegmentationModel(m.backbone, m.head_channels).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=m.lr)
    rng = np.random.default_rng(0)
    x = torch.rand(b, 10, h, w, device=device)
    vis = torch.from_numpy(np.stack([_instances(rng, 1, h, w)[None] > 0 for _ in range(b)])).float().to(device)
    amo = vis.clone()
    kernels = scaled_kernels(h)
    _reset(device)
    step = timer(_step(model, opt, lambda: grasp_segmentation_loss(model(x), vis, amo, kernels)))
    mem = _memory(device)
    models = 3 * m.n_seeds + 2 * m.ablation_seeds  # Grasp-100, Grasp-200, Grasp-100-NoAug x seeds; Scratch, LiteralLoss
    del model, opt

    def build():
        net = GraspSegmentationModel(m.backbone, m.head_channels).to(device).train()
        o = torch.optim.Adam(net.parameters(), lr=m.lr)
        return net, _step(net, o, lambda: grasp_segmentation_loss(net(x), vis, amo, kernels))

    return {"backbone": m.backbone, "head_channels": list(m.head_channels), "image": [h, w], "batch": b,
            "train_s_per_step": round(step, 4), "train_images_per_s": round(b / step, 1), **mem,
            "estimate": _estimate([(m.max_steps, step, models)], "early stopping (patience) ends most models earlier"),
            "repeatability": _repeatability(build)}


def pretrain(cfg: dict, device, timer: Timer) -> dict:
    """The shared stand-in backbone (``pretrained_backbone``): the dense pretext network (ResNet-FPN, per-pixel
    category + boundary heads) with its own two losses, at the profile's bins and batch."""
    import torch
    import torch.nn.functional as F

    from .common.pretrain import DenseDetectorPretext, PretrainSettings

    p = cfg["pretrain"]
    h, w, b = p.height, p.width, p.batch_size
    s = PretrainSettings(backbone=p.backbone, batch_size=b, lr=p.lr, steps=p.steps)
    torch.manual_seed(0)
    model = DenseDetectorPretext(s.backbone, s.num_classes).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    rng = np.random.default_rng(0)
    x = torch.rand(b, 3, h, w, device=device)
    ids = np.stack([_instances(rng, 10, h, w) for _ in range(b)])  # ~10 objects a bin
    cat = torch.from_numpy(ids % s.num_classes).to(device)  # categories 0..5 (0: background)
    edge = torch.from_numpy((np.abs(np.diff(ids, axis=-1, prepend=0)) > 0).astype(np.float32)).to(device)
    pos = torch.tensor(5.0, device=device)

    def loss():
        out = model(x)
        return F.cross_entropy(out[:, :-1], cat) + F.binary_cross_entropy_with_logits(out[:, -1], edge, pos_weight=pos)

    _reset(device)
    step = timer(_step(model, opt, loss))
    return {"backbone": p.backbone, "image": [h, w], "batch": b, "train_s_per_step": round(step, 4),
            "train_images_per_s": round(b / step, 1), **_memory(device),
            "estimate": _estimate([(p.steps, step, 1)], "one model, every step (no early stopping)")}


def graspseg_inpaint(cfg: dict, device, timer: Timer) -> dict:
    """graspseg §III-B.3, our default inpainter: a training step of the conditional UNet (diffusers ``UNet2DModel``,
    DDPM loss on the masked pixels) on boundary patches, and the network part of inpainting one whole frame
    (``sample_steps`` UNet passes of the DDIM sampler at the frame size, as ``BoundaryInpainter`` runs them)."""
    import torch
    from diffusers import DDIMScheduler, DDPMScheduler

    from .graspseg.inpaint import BoundaryInpaintSettings, build_unet, masked_diffusion_loss

    c, d = cfg["graspseg_inpaint"], cfg["graspseg_data"]
    s = BoundaryInpaintSettings(channels=tuple(c.channels), layers_per_block=c.layers_per_block, patch=c.patch,
                                steps=c.steps, batch_size=c.batch_size, lr=c.lr, sample_steps=c.sample_steps)
    torch.manual_seed(0)
    unet = build_unet(s).to(device).train()
    opt = torch.optim.AdamW(unet.parameters(), lr=s.lr)
    sched = DDPMScheduler(num_train_timesteps=s.train_timesteps, prediction_type=s.prediction_type)
    b, p = s.batch_size, s.patch
    x0 = torch.rand(b, 3, p, p, device=device) * 2 - 1
    m = (torch.rand(b, 1, p, p, device=device) < 0.2).float()
    noise = torch.randn_like(x0)
    t = torch.randint(0, s.train_timesteps, (b,), device=device)

    def loss():
        return masked_diffusion_loss(unet, sched, x0, m, noise, t)

    _reset(device)
    step = timer(_step(unet, opt, loss))
    mem = _memory(device)
    f = 2 ** (len(s.channels) - 1)
    h, w = (d.height + f - 1) // f * f, (d.width + f - 1) // f * f  # padded as BoundaryInpainter pads
    unet.eval()
    ddim = DDIMScheduler(num_train_timesteps=s.train_timesteps, timestep_spacing="trailing",
                         prediction_type=s.prediction_type)
    cond = torch.cat([torch.rand(1, 3, h, w, device=device), torch.zeros(1, 1, h, w, device=device)], 1)

    def sample():
        ddim.set_timesteps(s.sample_steps)
        x = torch.randn(1, 3, h, w, device=device)
        with torch.no_grad():
            for ts in ddim.timesteps:
                x = ddim.step(unet(torch.cat([x, cond], 1), ts).sample, ts, x).prev_sample
        return x

    return {"channels": list(s.channels), "patch": p, "batch": b, "train_s_per_step": round(step, 5),
            "train_patches_per_s": round(b / step, 1), **mem, "frame": [h, w], "sample_steps": s.sample_steps,
            "inpaint_ms_per_frame": round(1000 * timer(sample), 2),
            "estimate": _estimate([(s.steps, step, 1)], "one model, every step")}


def graspseg_table2(cfg: dict, device, timer: Timer, repeatability: bool = True) -> dict:
    """graspseg §III-B.4: Mask2Former (transformers) with Mask2Former's own criterion and with the robust set loss."""
    import torch

    from .graspseg.instance_losses import robust_criterion
    from .graspseg.instance_model import build as build_model
    from .graspseg.instance_model import targets
    from .graspseg.instance_train import InstanceTrainSettings, optimizer
    from .graspseg.table2_train import model_settings

    t2, d = cfg["graspseg_table2"], cfg["graspseg_data"]
    h, w, b = d.height, d.width, t2.batch_size
    rng = np.random.default_rng(0)
    model = build_model(model_settings(t2)).to(device).train()
    opt = optimizer(model, InstanceTrainSettings(lr=t2.lr))
    x = torch.rand(b, 3, h, w, device=device)
    masks = []
    for _ in range(b):  # a pasted training scene holds ~10-30 visible instances
        ids = _instances(rng, 16, h, w)
        masks.append(np.stack([ids == i for i in np.unique(ids) if i]))
    ml, cl = targets(masks)
    ml, cl = [m.to(device) for m in ml], [c.to(device) for c in cl]
    step_loss = lambda: model(pixel_values=x, mask_labels=ml, class_labels=cl).loss  # noqa: E731
    _reset(device)
    plain = timer(_step(model, opt, step_loss))
    mem = _memory(device)
    out = {"backbone": t2.backbone, "queries": t2.num_queries, "decoder_layers": t2.decoder_layers,
           "image": [h, w], "batch": b, "instances_per_image": [int(len(m)) for m in masks][:1],
           "train_s_per_step": round(plain, 4), "train_images_per_s": round(b / plain, 1), **mem}
    model.eval()
    xi = x[:1]
    with torch.no_grad():
        out["infer_ms_per_image"] = round(1000 * timer(lambda: model(pixel_values=xi)), 2)
    model.train()
    if repeatability:  # before the robust criterion replaces the model's own

        def build():
            net = build_model(model_settings(t2)).to(device).train()
            o = optimizer(net, InstanceTrainSettings(lr=t2.lr))
            return net, _step(net, o, lambda: net(pixel_values=x, mask_labels=ml, class_labels=cl).loss)

        out["repeatability"] = _repeatability(build)
    try:
        robust_criterion(model, t2.robust_iou)
        robust = timer(_step(model, opt, step_loss))
        out["train_s_per_step_robust_set_loss"] = round(robust, 4)
    except Exception as e:  # recorded, not hidden: the robust loss may keep CPU-only pieces
        out["robust_set_loss_error"] = f"{type(e).__name__}: {e}"
    from .graspseg.table2_train import ROWS

    robust = out.get("train_s_per_step_robust_set_loss", float("nan"))
    out["estimate"] = _estimate([(t2.max_steps * (2 if ROWS[r].single_object else 1),  # as table2_train._train_shard
                                  robust if ROWS[r].robust else plain, t2.n_seeds) for r in t2.rows],
                                "Single-Object-100 trains twice the steps, the -Robust rows at the robust set loss's "
                                "step; early stopping (patience, after min_steps) ends most models earlier")
    return out


def latentmrcnn(cfg: dict, device, timer: Timer) -> dict:
    """latentmrcnn: torchvision Mask R-CNN and Latent-MaskRCNN, a training step each and §V-A's inference times."""
    import torch

    from .latentmrcnn.model import LatentMaskRCNN, build_maskrcnn
    from .latentmrcnn.sweep import model_settings

    tc, d, ec = cfg["latentmrcnn_train"], cfg["latentmrcnn_data"], cfg["latentmrcnn_eval"]
    h, w, b = d.height, d.width, tc.batch_size
    s = model_settings(tc, d, 2)
    rng = np.random.default_rng(0)
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(3, h, w, generator=g).to(device) for _ in range(b)]
    tgts = []
    for _ in range(b):  # ~10 garments / objects a bin
        boxes = _boxes(rng, 10, h, w)
        masks = np.zeros((len(boxes), h, w), np.uint8)
        for i, (x0, y0, x1, y1) in enumerate(boxes):
            masks[i, y0:y1, x0:x1] = 1
        tgts.append({"boxes": torch.tensor(boxes, dtype=torch.float32, device=device),
                     "labels": torch.ones(len(boxes), dtype=torch.int64, device=device),
                     "masks": torch.from_numpy(masks).to(device)})
    out = {"backbone": tc.backbone, "image": [h, w], "batch": b, "k": ec.k}
    torch.manual_seed(0)
    for name, model in (("maskrcnn", build_maskrcnn(s)), ("latent", LatentMaskRCNN(s))):
        model = model.to(device).train()
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=tc.lr, momentum=0.9)
        _reset(device)
        out[f"{name}_train_s_per_step"] = round(timer(_step(model, opt, lambda: sum(model(images, tgts).values()))), 4)
        out.update({f"{name}_{k}": v for k, v in _memory(device).items()})
        # inference at the stage's box-score threshold and at 0 (every detection the heads keep): with random
        # weights few boxes pass a threshold, and the cost after the backbone grows with the detections
        for tag, thresh in (("", s.box_score_thresh), ("_score0", 0.0)):
            model.eval()
            model.roi_heads.score_thresh = thresh
            with torch.no_grad():
                out[f"{name}_infer_ms{tag}"] = round(1000 * timer(lambda: model(images[:1])), 2)
                out[f"{name}_detections{tag}"] = int(len(model(images[:1])[0]["boxes"]))
                if name == "latent":
                    out[f"latent_{ec.k}_samples_ms{tag}"] = round(1000 * timer(
                        lambda: model.sample(images[:1], ec.k, generator=torch.Generator().manual_seed(1))), 2)
    n = len(tc.sets) * tc.seeds
    out["estimate"] = _estimate([(tc.steps, out["maskrcnn_train_s_per_step"], n),
                                 (tc.steps, out["latent_train_s_per_step"], n)], "the whole schedule, no early stopping")
    return out


def mlgsl(cfg: dict, device, timer: Timer) -> dict:
    """mlgsl: the grasp FCN, an MLGSL training step at the profile's batch and image size, and CTPG's network part."""
    import torch

    from .mlgsl.loss import mlgsl_loss
    from .mlgsl.model import GraspFCN
    from .mlgsl.train import RUNS

    tc = cfg["mlgsl_train"]
    n, b, k = tc.image_size, tc.batch_size, 16
    model = GraspFCN().to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    x = torch.rand(b, 1, n, n, device=device)
    labels = {"rows": torch.randint(0, n, (b, k), device=device), "cols": torch.randint(0, n, (b, k), device=device),
              "cos": torch.rand(b, k, device=device), "sin": torch.rand(b, k, device=device),
              "width": torch.rand(b, k, device=device), "valid": torch.ones(b, k, device=device)}
    _reset(device)
    step = timer(_step(model, opt, lambda: mlgsl_loss(model(x), labels)))
    model.eval()
    with torch.no_grad():
        fwd = timer(lambda: model(x[:1]))
    mem = _memory(device)
    steps = {"none": step}
    for a in sorted({r.attention for r in RUNS} - {"none"}):  # the SAM variants (§IV-C.4), each its own network
        m_a = GraspFCN(a).to(device).train()
        opt_a = torch.optim.Adam(m_a.parameters(), lr=tc.lr)
        steps[a] = timer(_step(m_a, opt_a, lambda: mlgsl_loss(m_a(x), labels)))
    n_val = tc.n_val
    images = {"full": cfg["mlgsl_data"].n_train - n_val, "small": tc.n_small,  # as mlgsl.train._datasets
              "clutter": cfg["mlgsl_clutter"].n_train - n_val}
    parts = [(-(-images[r.data] // b) * tc.epochs, steps[r.attention], tc.n_seeds) for r in RUNS]
    return {"image": [n, n], "batch": b, "train_s_per_step": round(step, 5),
            "train_s_per_step_attention": {a: round(v, 5) for a, v in steps.items() if a != "none"},
            "network_forward_ms_batch1": round(1000 * fwd, 3), **mem,
            "estimate": _estimate(parts, "every epoch runs (the best epoch is kept); each attention variant "
                                         "at its own step; ImgMSE's and PixMSE's losses at MLGSL's step")}


def fastseg(cfg: dict, device, timer: Timer) -> dict:
    """fastseg §III-A: each Table I network (encoder x decoder stride), the three-head loss, and its CNN time."""
    import torch

    from .fastseg.losses import total_loss
    from .fastseg.model import FastSeg, ModelSettings
    from .fastseg.sweep import parse_row

    tc, d = cfg["fastseg_train"], cfg["fastseg_data"]
    h, w, b = d.height, d.width, tc.batch_size
    rng = np.random.default_rng(0)
    rows = {}
    for row in tc.models:
        encoder, dec_os = parse_row(row, 4)  # Table I's OSk: the paper's superpixel size k = 4
        model = FastSeg(ModelSettings(encoder=encoder, dec_os=dec_os, decoder_width=tc.decoder_width)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
        gh, gw = h // dec_os, w // dec_os
        inst = np.stack([_instances(rng, 20, gh, gw) for _ in range(b)])  # a street frame: ~20 instances
        centre = np.zeros_like(inst, dtype=np.float32)
        for j in range(b):
            for i in np.unique(inst[j])[1:]:
                ys, xs = np.nonzero(inst[j] == i)
                centre[j, ys[len(ys) // 2], xs[len(xs) // 2]] = 1
        sem = torch.from_numpy(np.where(inst > 0, inst % 8 + 1, 0)).to(device)
        inst_t, centre_t = torch.from_numpy(inst).to(device), torch.from_numpy(centre).to(device)
        weights = torch.ones(9, device=device)
        x = torch.rand(b, 3, h, w, device=device)
        model.train()
        _reset(device)
        step = timer(_step(model, opt, lambda: total_loss(model(x), sem, inst_t, centre_t, weights)["total"]))
        model.eval()
        with torch.no_grad():
            cnn = timer(lambda: model(x[:1]))
        rows[row] = {"dec_os": dec_os, "train_s_per_step": round(step, 4), "cnn_ms_batch1": round(1000 * cnn, 2),
                     **_memory(device), "_part": (tc.steps, step, tc.seeds)}
    est = _estimate([r.pop("_part") for r in rows.values()], "the whole schedule, no early stopping")
    return {"image": [h, w], "batch": b, "decoder_width": tc.decoder_width, "instances_per_frame": 20, "rows": rows,
            "estimate": est}


def don(cfg: dict, device, timer: Timer) -> dict:
    """don §IV-C: the descriptor network at the profile's frame size, a training step of every configuration the sweep
    trains (its loss, batch size, descriptor size and correspondence / non-match counts as the stage scales them,
    matches at random pixels: the cost does not depend on which), and a forward pass."""
    import torch

    from .don import losses as L
    from .don.experiments import unique_variants
    from .don.model import DenseDescriptorNet
    from .don.sweep import settings, steps_for

    tc, d = cfg["don_train"], cfg["don_data"]
    h, w = d.height, d.width
    g = torch.Generator().manual_seed(0)

    def uv(n: int) -> torch.Tensor:
        return torch.stack([torch.randint(0, w, (n,), generator=g), torch.randint(0, h, (n,), generator=g)], -1).to(device)

    def indices(v, s) -> list[dict]:
        """Each pair's pixels, drawn once before the timing (the stage samples them on the CPU, beside the step)."""
        n, k_on = s.correspondences, s.non_matches // 2  # pairs.training_pair: half the non-matches on the mask
        return [{"a": uv(n), "b": uv(n), "on": uv(n * k_on), "off": uv(n * (s.non_matches - k_on)), "c": uv(n),
                 "k": (k_on, s.non_matches - k_on)} if v.loss != "ntxent" else {"a": uv(n), "b": uv(n)}
                for _ in range(v.batch_size)]

    def step_loss(model, v, s, x, idx):
        desc = model(x)
        b = v.batch_size
        if v.loss == "ntxent":  # as don.train._step_loss: one NT-Xent over every pair's matches
            da = torch.cat([L.pick(desc[2 * i], p["a"]) for i, p in enumerate(idx)])
            db = torch.cat([L.pick(desc[2 * i + 1], p["b"]) for i, p in enumerate(idx)])
            return L.nt_xent(da, db, s.temperature)
        total = desc.new_zeros(())
        for i, p in enumerate(idx):
            a, bb = desc[2 * i], desc[2 * i + 1]
            da, db = L.pick(a, p["a"]), L.pick(bb, p["b"])
            non = [(da.repeat_interleave(k, 0), L.pick(bb, p[key])) for k, key in zip(p["k"], ("on", "off"))]
            total = total + L.pixelwise_contrastive(da, db, non[0], non[1])["total"]
            if v.loss == "pixelwise_cross_object":  # a third image, of another object
                dc = model(x[:1])[0]
                total = total + L.cross_object(da, L.pick(dc, p["c"]))
        return total / b

    rows, parts, models = [], [], {}
    for v in unique_variants(tc, d.multi_train):
        s = settings(v, tc, h, w, 0)
        if v.descriptor_dim not in models:
            models[v.descriptor_dim] = DenseDescriptorNet(v.descriptor_dim, tc.backbone).to(device).train()
        model = models[v.descriptor_dim]
        opt = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        x = torch.rand(2 * v.batch_size, 3, h, w, device=device)  # images A then B of each pair
        idx = indices(v, s)
        _reset(device)
        step = timer(_step(model, opt, lambda: step_loss(model, v, s, x, idx)))
        rows.append({"configuration": v.key(), "loss": v.loss, "batch_size": v.batch_size, "D": v.descriptor_dim,
                     "correspondences": s.correspondences, "non_matches": s.non_matches, "steps": steps_for(v, tc),
                     "train_s_per_step": round(step, 4), **_memory(device)})
        parts.append((steps_for(v, tc), step, tc.seeds))
    ntx = [r for r in rows if r["loss"] == "ntxent" and r["batch_size"] == tc.ntxent_batch_size
           and r["D"] == tc.descriptor_dim]
    default = next((r for r in ntx if "augall" in r["configuration"]), ntx[0])  # don_temperature's configuration
    tcfg = cfg["don_temperature"]
    parts.append((default["steps"], default["train_s_per_step"], len(tcfg.temperatures) * tcfg.seeds))
    model = models[tc.descriptor_dim].eval()
    with torch.no_grad():
        fwd = timer(lambda: model(torch.rand(1, 3, h, w, device=device)))
    return {"backbone": tc.backbone, "image": [h, w], "configurations": len(rows), "seeds": tc.seeds,
            "default_configuration": default, "forward_ms_batch1": round(1000 * fwd, 2), "steps": rows,
            "estimate": _estimate(parts, "every configuration of don_train x seeds, and don_temperature's "
                                         "temperatures x seeds at the default configuration's step; the whole "
                                         "schedule (the best validated state is kept)")}


def run(profile: str = "paper", device: str = "cuda", steps: int = 10, only: tuple[str, ...] = SECTIONS,
        log=print, cudnn: str = "benchmark") -> dict:
    import os

    if cudnn not in CUDNN_MODES:
        raise ValueError(f"unknown --cudnn mode {cudnn!r}; choose from {list(CUDNN_MODES)}")
    cublas_set = cudnn == "deterministic" and "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    if cublas_set:  # cuBLAS reads this when it makes its first handle: before any CUDA work
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
    import torch

    from .config import load_profile, validate_params

    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: no CUDA device is visible to torch here")
    cfg = validate_params(load_profile(profile))  # an unknown profile or a bad value fails here, before any model
    timer = Timer(dev, warmup=2, reps=steps)
    rec = {"profile": profile, "device": str(dev), "torch": torch.__version__, "timed_calls": steps,
           "machine": platform.processor() or platform.machine()}
    if dev.type == "cuda":
        rec["gpu"] = torch.cuda.get_device_name(dev)
    rec["cudnn"] = cudnn
    saved = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
             torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    torch.backends.cudnn.benchmark = cudnn == "benchmark"
    torch.backends.cudnn.deterministic = cudnn == "deterministic"
    # set in every mode: a caller may have switched deterministic algorithms on (seed.seed_everything does)
    torch.use_deterministic_algorithms(cudnn == "deterministic", warn_only=True)
    seen: set[str] = set()
    try:
        for name in only:
            _section(rec, name, cfg, dev, timer, log, seen)
    finally:  # a caller in the same process (a test) gets torch's settings back
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[:2]
        torch.use_deterministic_algorithms(saved[2], warn_only=saved[3])
        if cublas_set:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    return rec


def _nondeterministic_op(message: str) -> str | None:
    """The operation a torch determinism warning names, or None for another warning."""
    for marker in (" does not have a deterministic", " defaults to a non-deterministic"):
        if marker in message:
            return message.split(marker)[0].strip()
    return None


def _section(rec: dict, name: str, cfg: dict, dev, timer: Timer, log, seen: set[str]) -> None:
    """Run one section into ``rec[name]``, recording its error and, with deterministic algorithms on, the
    operations torch warned have no deterministic kernel. Some of torch's warnings are issued once per process
    (memory-efficient attention's), so ``seen`` carries what earlier sections heard: ``nondeterministic_ops`` lists
    this section's new ones, ``nondeterministic_ops_so_far`` every one heard in this process until now."""
    import warnings

    import torch

    t0 = time.perf_counter()
    torch.manual_seed(0)  # the section's synthetic inputs are the same in every process (state_md5 compares them)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rec[name] = globals()[name](cfg, dev, timer)
        except Exception as e:  # one section's failure is recorded and the others still run
            rec[name] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-2000:]}
    if torch.are_deterministic_algorithms_enabled():
        ops = {op for w in caught if (op := _nondeterministic_op(str(w.message)))}
        rec[name]["nondeterministic_ops"] = sorted(ops - seen)
        seen |= ops
        rec[name]["nondeterministic_ops_so_far"] = sorted(seen)
    rec[name]["section_s"] = round(time.perf_counter() - t0, 1)
    log(f"{name}: {json.dumps({k: v for k, v in rec[name].items() if k != 'traceback'})}")
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robopercept.device_bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="paper")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=10, help="timed calls per measurement (after 2 warm-ups)")
    ap.add_argument("--only", nargs="+", default=list(SECTIONS), help=f"sections, of {list(SECTIONS)}")
    ap.add_argument("--cudnn", default="benchmark", choices=CUDNN_MODES,
                    help="how the GPU picks kernels (see above); every committed record used benchmark")
    ap.add_argument("--json", type=Path, default=None, help="also write the record here")
    args = ap.parse_args(argv)
    if args.steps < 1:
        ap.error("--steps must be >= 1")
    rec = run(args.profile, args.device, args.steps, tuple(args.only), cudnn=args.cudnn)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rec, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
