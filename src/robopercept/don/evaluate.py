"""§IV-E evaluation of every trained DON: correspondence accuracy (PCK@k, its AUC) and keypoint tracking in mm.

* **Correspondence accuracy** (§IV-E.1): the test pairs of :func:`robopercept.don.pairs.evaluation_pairs` — per known
  object ``pairs_per_object`` frame pairs of the test scenes whose poses differ by ≥ 20 cm and ≥ π/12, up to
  ``queries`` query pixels on the object in A with their true match in B — drawn once from the run seed, the same
  pairs for every model (comparisons are paired by pair). A query's prediction is the best match in B (cosine for
  NT-Xent models, ℓ2 for pixelwise ones, §IV-D). Per pair we keep the AUC of PCK@k over k = 1…100 and its number
  of queries: a model's AUC weights each pair by its queries, i.e. eq. (3) over the pooled queries (a pair on a
  barely visible object, with few valid queries, weighs less), and the bootstrap resamples pairs; k is in the
  paper's pixels, scaled to our frame's diagonal (robopercept.don.metrics.pixel_scale).
* **Keypoint tracking** (§IV-E.2): per test scene and known object, ``tracking_queries`` query pixels on the object
  in one reference frame (ours: the frame where the object shows most pixels, queries drawn on its mask — the paper
  annotated them by hand), tracked through every other frame of the scene: the best match's depth and pose give a
  world point, and the error is its distance to the query's world point (the scene is static) in millimetres. A
  prediction on a pixel without a depth reading has no world point: it is counted as invalid, not as an error.

One shard per model (its descriptors computed scene by scene, each frame once) writing one ``.npy`` per array
(``np.savez`` would stamp its zip entries with the time: not byte-stable).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np

from ..common.records import read_json
from ..formats.don_logs import DonLogs
from ..world.shards import Shard, plan_identity, run_plan
from .config import DonEvalConfig
from .sweep import COMPOSITE, splits

CODE_MODULES = ("robopercept.don.evaluate", "robopercept.don.model", "robopercept.don.metrics",
                "robopercept.don.pairs", "robopercept.don.correspondence", "robopercept.formats.don_logs")
KS = np.arange(1, 101)


def draw_test_pairs(logs: DonLogs, cfg: DonEvalConfig, seed: int) -> list[dict]:
    from .pairs import evaluation_pairs

    pairs = evaluation_pairs(logs, splits(logs)["test"], pairs_per_object=cfg.pairs_per_object, queries=cfg.queries,
                             min_translation_m=cfg.min_translation_m, min_angle_deg=cfg.min_angle_deg, seed=seed)
    if not pairs:
        raise ValueError(f"{logs.root}: no test pair satisfies the pose filter ({cfg.min_translation_m} m, "
                         f"{cfg.min_angle_deg} deg) with a known object in view; lower don_eval.min_translation_m / "
                         "min_angle_deg or record longer arcs")
    n_test = len(splits(logs)["test"])
    known = {o for names in splits(logs).values() for s in names for o in logs.scene(s).objects.values()}
    uncovered = sorted(known - {p["object"] for p in pairs})
    if uncovered:  # the test scenes do not hold the object (too few of them), or none of its pairs passed the filter
        raise ValueError(f"{logs.root}: no test pair shows the known objects {uncovered} ({n_test} test scenes, "
                         "don_data.multi_test): every known object must be evaluated; record more test scenes "
                         "(another don_data.multi_test or seed) or relax don_eval.min_translation_m / min_angle_deg")
    return pairs


def tracking_queries(logs: DonLogs, n: int, seed: int) -> list[dict]:
    """Per test scene and known object: reference frame, ``n`` query pixels on the object with their world points."""
    from .correspondence import backproject

    rng = np.random.default_rng(seed)
    out = []
    for name in splits(logs)["test"]:
        scene = logs.scene(name)
        counts = {i: np.bincount(scene.instances(i).ravel(), minlength=max(scene.objects) + 1) for i in scene.indices}
        for obj in sorted(scene.objects):
            ref = max(scene.indices, key=lambda i: (counts[i][obj], -i))
            if counts[ref][obj] == 0:
                continue
            depth = scene.depth(ref)
            on = np.argwhere((scene.instances(ref) == obj) & (depth > 0))[:, ::-1]
            if len(on) == 0:
                continue
            uv = on[rng.choice(len(on), size=min(n, len(on)), replace=False)]
            world = backproject(depth, scene.K, scene.pose(ref))[uv[:, 1], uv[:, 0]]
            out.append({"scene": name, "object": scene.objects[obj], "frame": int(ref), "uv": uv, "world": world})
    return out


def _descriptors(model, scene, index: int):
    import torch

    img = torch.from_numpy(np.ascontiguousarray(scene.rgb(index))).permute(2, 0, 1).float() / 255
    return model(img[None])[0]


def evaluate_model(model, metric: str, logs: DonLogs, pairs: list[dict], queries: list[dict]) -> dict[str, np.ndarray]:
    """Per-pair AUC and query count, the PCK curve over all queries pooled, per tracked query and frame the error in
    mm (NaN: no depth at the prediction)."""
    import torch

    from . import losses as L
    from .correspondence import backproject
    from .metrics import best_match, pixel_scale

    auc = np.full(len(pairs), np.nan)
    n_q = np.array([len(p["uv_a"]) for p in pairs], dtype=np.int64)
    curves = np.zeros((len(pairs), len(KS)))
    errors, objects, groups = [], [], []
    model.eval()
    by_scene: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        by_scene.setdefault(p["scene"], []).append(i)
    track_by_scene: dict[str, list[tuple[int, dict]]] = {}
    for g, q in enumerate(queries):
        track_by_scene.setdefault(q["scene"], []).append((g, q))
    with torch.no_grad():
        for name in sorted(set(by_scene) | set(track_by_scene)):
            scene = logs.scene(name)
            need = {f for i in by_scene.get(name, []) for f in (pairs[i]["a"], pairs[i]["b"])}
            if name in track_by_scene:
                need |= set(scene.indices)
            desc = {f: _descriptors(model, scene, f) for f in sorted(need)}
            for i in by_scene.get(name, []):
                p = pairs[i]
                pred = best_match(L.pick(desc[p["a"]], torch.from_numpy(p["uv_a"])), desc[p["b"]], metric)
                err = np.linalg.norm(pred - p["uv_b"], axis=1)
                curves[i] = (err[:, None] <= KS[None, :] * pixel_scale(scene.height, scene.width)).mean(0)
                auc[i] = curves[i].mean()
            for g, q in track_by_scene.get(name, []):
                d_ref = L.pick(desc[q["frame"]], torch.from_numpy(q["uv"]))
                for f in scene.indices:
                    if f == q["frame"]:
                        continue
                    pred = best_match(d_ref, desc[f], metric)
                    pts = backproject(scene.depth(f), scene.K, scene.pose(f))[pred[:, 1], pred[:, 0]]
                    errors.append(1000 * np.linalg.norm(pts - q["world"], axis=1))
                    objects += [q["object"]] * len(pred)
                    groups += [g] * len(pred)
    pooled = (curves * n_q[:, None]).sum(0) / max(1, n_q.sum())  # eq. (3) over the pooled query set
    return {"pair_auc": auc, "pair_n": n_q, "pck": pooled if len(pairs) else np.zeros(len(KS)),
            "track_mm": np.concatenate(errors) if errors else np.zeros(0), "track_object": np.array(objects),
            "track_group": np.array(groups, dtype=np.int64)}


def _eval_shard(shard: Shard, folder: Path, *, logs_root: str, models_dir: str, pairs_file: str,
                queries_file: str, track: tuple[str, ...], stage: str) -> dict:
    import torch

    from .model import load_trained

    torch.set_num_threads(1)
    model, metric = load_trained(Path(models_dir) / shard.key / "model.pt")
    pairs = _read(pairs_file, stage=stage, kind="DON test pairs")
    queries = _read(queries_file, stage=stage, kind="DON tracking queries") if shard.key in track else []  # tracking: Fig. 4's models only (every frame)
    r = evaluate_model(model, metric, DonLogs(logs_root, COMPOSITE), pairs, queries)
    for k, v in r.items():
        np.save(folder / f"{k}.npy", v)
    valid = r["track_mm"][np.isfinite(r["track_mm"])]
    auc = float(np.average(r["pair_auc"], weights=r["pair_n"])) if r["pair_n"].sum() else float("nan")
    return {"model": shard.key, "auc": auc, "pck80": float(r["pck"][79]),
            "track_median_mm": float(np.median(valid)) if len(valid) else float("nan"),
            "track_invalid": int(np.isnan(r["track_mm"]).sum())}


def _write(items: list[dict], path: Path) -> None:
    def enc(x):
        return x.tolist() if isinstance(x, np.ndarray) else x

    path.write_text(json.dumps([{k: enc(v) for k, v in d.items()} for d in items], sort_keys=True) + "\n")


def _read(path: str | Path, *, stage: str, kind: str) -> list[dict]:
    """The items :func:`_write` wrote to ``path`` (in the ``stage`` that called :func:`evaluate_all`)."""
    arrays = ("uv_a", "uv_b", "uv", "world")
    return [{k: (np.asarray(v) if k in arrays else v) for k, v in d.items()}
            for d in read_json(path, stage=stage, kind=kind)]


def evaluate_all(cfg: DonEvalConfig, logs_root: Path, models_dir: Path, model_keys: list[str], out_dir: Path,
                 seed: int, *, stage: str, track_keys: list[str] | None = None, executor=None, progress: bool = True):
    """Evaluate every model of ``model_keys`` (folders of ``models_dir``) on the same test pairs, and those of
    ``track_keys`` (default: all) on the same tracking queries — tracking reads every frame of every test scene, the
    bulk of the cost; returns (summary frame, the pairs, the queries). Per-model arrays:
    ``<out_dir>/<key>/<name>.npy``. ``stage``: the DVC stage calling this (don_eval, don_temperature), which writes
    the pairs and queries beside ``out_dir`` and is named if a shard finds them missing or unreadable."""
    import pandas as pd

    from ..seed import derive_seed

    missing = [k for k in model_keys if not (Path(models_dir) / k / "model.pt").is_file()]
    if missing:
        made_by = "don_train" if stage == "don_eval" else stage  # don_temperature trains its own models
        raise FileNotFoundError(f"{models_dir}: no checkpoint for {missing[:3]} ({len(missing)} models); run the "
                                f"{made_by} stage first (dvc repro {made_by})")
    logs = DonLogs(logs_root, COMPOSITE)
    pairs = draw_test_pairs(logs, cfg, derive_seed(seed, "don_test_pairs"))
    queries = tracking_queries(logs, cfg.tracking_queries, derive_seed(seed, "don_tracking_queries"))
    out_dir = Path(out_dir)
    inputs_dir = out_dir.parent / (out_dir.name + "_inputs")
    inputs_dir.mkdir(parents=True, exist_ok=True)
    _write(pairs, inputs_dir / "pairs.json")
    _write(queries, inputs_dir / "tracking_queries.json")
    track = tuple(sorted(model_keys if track_keys is None else track_keys))
    ident = plan_identity(generator="don evaluation", config={**dataclasses.asdict(cfg), "models": sorted(model_keys),
                                                              "tracked": list(track)}, seed=seed,
                          code_modules=CODE_MODULES, inputs={"logs": logs_root, "models": models_dir,
                                                             "eval_inputs": inputs_dir})
    task = functools.partial(_eval_shard, logs_root=str(logs_root), models_dir=str(models_dir),
                             pairs_file=str(inputs_dir / "pairs.json"), queries_file=str(inputs_dir / "tracking_queries.json"),
                             track=track, stage=stage)
    shards = [Shard(k, 1, seed) for k in model_keys]
    res = run_plan(out_dir, ident, shards, task, workers=cfg.workers, executor=executor, progress=progress,
                   desc="DON evaluation", unit="model")
    return pd.DataFrame([res.stats[k] for k in model_keys]), pairs, queries


ARRAYS = ("pair_auc", "pair_n", "pck", "track_mm", "track_object", "track_group")


def load_eval(out_dir: Path, key: str) -> dict[str, np.ndarray]:
    return {k: np.load(Path(out_dir) / key / f"{k}.npy") for k in ARRAYS}
