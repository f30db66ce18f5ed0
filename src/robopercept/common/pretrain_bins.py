"""A generic instance-segmentation set of simulated bins, in COCO format.

graspseg initialises its backbone from a COCO-pretrained Mask R-CNN, which cannot be fetched here.
This set stands in for COCO: bins of *training* objects only (it shares no object with any test
split), under the same camera, lighting and sensor models, annotated with every visible instance.
Deterministic in ``seed``; written through ``formats.coco``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ..formats import coco
from ..formats.grasp_pairs import write_png
from ..seed import derive_seed
from .camera import BinCamera
from .catalog import CATEGORIES, load_catalog
from .nuisance import gloss_map, initial_lighting, observe
from .scene import BinScene

MIN_INSTANCE_PX = 20


def generate_bin_images(out_dir: str | Path, n_images: int, height: int, width: int, seed: int, *,
                        data_dir: str | Path = "data", n_objects: int = 160, min_objects: int = 6,
                        max_objects: int = 14, settle_steps: int = 240, specular_strength: float = 0.8,
                        rgb_noise_std: float = 3.0) -> Path:
    """Write ``n_images`` bins to ``out_dir/images`` and ``out_dir/annotations.coco.json``."""
    from .. import paths

    if n_images < 1:
        raise ValueError(f"n_images must be >= 1, got {n_images}")
    out = paths.resolve(out_dir)
    catalog = load_catalog(data_dir)
    pool = catalog.objects("train", limit=n_objects)
    spec = {"n_images": n_images, "height": height, "width": width, "seed": seed, "n_objects": n_objects,
            "objects": [min_objects, max_objects], "settle_steps": settle_steps}
    done = out / "annotations.coco.json"
    if done.exists() and (out / "spec.json").exists() and json.loads((out / "spec.json").read_text()) == spec:
        return out
    if out.exists():
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True)
    writer = coco.CocoWriter(list(CATEGORIES), description="simulated bins of training objects (COCO stand-in)")
    camera = BinCamera.for_size(height, width)
    with BinScene(catalog, camera) as scene:
        for i in range(n_images):
            rng = np.random.default_rng(derive_seed(seed, "bin_images", i))
            scene.clear()
            n = int(rng.integers(min_objects, max_objects + 1))
            scene.drop([pool[k] for k in rng.choice(len(pool), size=n)], rng, settle_steps)
            frame = scene.render(initial_lighting(rng))
            gloss = gloss_map(frame.ids, {k: pl.obj.gloss for k, pl in scene.placed.items()})
            rgb, _ = observe(frame, camera, gloss, rng, specular_strength=specular_strength,
                             rgb_noise_std=rgb_noise_std, depth_noise_std_m=0.0)
            name = f"{i:06d}.png"
            write_png(out / "images" / name, rgb)
            image_id = writer.add_image(f"images/{name}", height, width)
            for inst, pl in sorted(scene.placed.items()):
                mask = frame.ids == inst
                if mask.sum() >= MIN_INSTANCE_PX:
                    writer.add_instance(image_id, pl.obj.category_id, mask, object_id=pl.obj.id)
    (out / "spec.json").write_text(json.dumps(spec, sort_keys=True) + "\n")
    writer.write(done)
    return out
