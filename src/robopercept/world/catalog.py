"""The object catalog the simulated world draws from (``data/catalog``, tracked by ``data.dvc``).

The papers' objects were real items in real bins. Ours are built here, deterministically, from
what installed packages ship: procedural primitives (boxes, cylinders, flat pouches, balls) and the
1000 ``random_urdfs`` meshes of ``pybullet_data``, each with a procedural texture (printed label,
stripes, smooth noise, checker, solid), a colour, mass, friction, a gloss flag, a category and a
train/test split. Train and test objects never mix: a dataset built from the train split cannot
contain a test object (``Catalog.objects(split)``).

On disk::

    data/catalog/catalog.json          objects, categories, build version
    data/catalog/meshes/<name>.obj     irregular objects (pybullet_data mesh + planar UVs)
    data/catalog/textures/<name>.png   64x64 RGB texture of every object

The builder is a pure function of the installed package versions: ``python -m robopercept.data
build`` writes the same bytes every time, so a fresh clone can rebuild ``data/`` offline and check
it against ``data.dvc``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Iterable, Literal

import numpy as np

CATALOG_VERSION = 1
CATALOG_SEED = 20261122
CATEGORIES = ("box", "cylinder", "pouch", "irregular", "ball")
# (category, number of objects, of which test) -- 220 objects, 160 train / 60 test.
CATEGORY_COUNTS = {"box": (60, 16), "cylinder": (45, 12), "pouch": (40, 11), "irregular": (60, 16), "ball": (15, 5)}
GLOSSY_RATE = {"box": 0.2, "cylinder": 0.5, "pouch": 0.6, "irregular": 0.2, "ball": 0.3}
TEXTURE_KINDS = ("label", "stripes", "noise", "checker", "solid")
TEXTURE_SIZE = 64

Split = Literal["train", "test"]


@dataclasses.dataclass(frozen=True)
class CatalogObject:
    """One object. Sizes in metres; ``extents`` is the full size along x, y, z of its own frame."""

    id: int
    name: str
    category: str
    split: str
    shape: str  # "box" | "cylinder" | "sphere" | "mesh"
    extents: tuple[float, float, float]
    mesh: str | None  # path relative to the catalog folder, for shape == "mesh"
    mesh_scale: float
    texture: str  # path relative to the catalog folder
    texture_kind: str
    color: tuple[float, float, float]
    mass: float  # kg
    friction: float
    glossy: bool
    gloss: float  # specular strength multiplier in [0, 1]

    @property
    def category_id(self) -> int:
        """1-based id (COCO reserves 0)."""
        return CATEGORIES.index(self.category) + 1


@dataclasses.dataclass(frozen=True)
class Catalog:
    root: Path
    items: tuple[CatalogObject, ...]

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError(f"catalog at {self.root} is empty")

    def objects(self, split: Split, limit: int | None = None) -> list[CatalogObject]:
        """Objects of one split, in id order. ``limit`` < the split's size takes a subset that covers
        every category: objects are taken round-robin over the categories (each in id order), so a
        small profile still sees boxes, cylinders, pouches, irregular meshes and balls. (Round-robin
        over *shapes*, before session 43, left pouches out: a pouch is a thin box, and the boxes came
        first.) A limit equal to the split's size takes the whole split, whatever the rule. Raises if
        the split is empty."""
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
        objs = [o for o in self.items if o.split == split]
        if not objs:
            raise ValueError(f"catalog split {split!r} is empty ({self.root})")
        if limit is not None:
            if limit < 1:
                raise ValueError(f"object limit must be >= 1, got {limit}")
            if limit > len(objs):
                raise ValueError(f"asked for {limit} {split} objects but the catalog has {len(objs)}")
            if limit < len(objs):
                by_category: dict[str, list[CatalogObject]] = {}
                for o in objs:
                    by_category.setdefault(o.category, []).append(o)
                chosen: list[CatalogObject] = []
                k = 0
                while len(chosen) < limit:
                    for group in by_category.values():
                        if k < len(group) and len(chosen) < limit:
                            chosen.append(group[k])
                    k += 1
                keep = {o.id for o in chosen}
                objs = [o for o in objs if o.id in keep]
        return objs

    def get(self, object_id: int) -> CatalogObject:
        for o in self.items:
            if o.id == object_id:
                return o
        raise KeyError(f"unknown object id {object_id} (catalog has ids {self.items[0].id}..{self.items[-1].id})")

    def path(self, rel: str) -> Path:
        return self.root / rel


def load_catalog(data_dir: str | Path = "data") -> Catalog:
    """Read ``<data_dir>/catalog/catalog.json`` with clear errors for a missing or corrupt file."""
    from .. import paths

    root = paths.resolve(data_dir) / "catalog"
    fn = root / "catalog.json"
    if not fn.exists():
        raise FileNotFoundError(
            f"object catalog not found at {fn}; build it with `python -m robopercept.data build` "
            "(or `make data`)"
        )
    try:
        raw = json.loads(fn.read_text(encoding="utf-8"))
        items = tuple(
            CatalogObject(**{**o, "extents": tuple(o["extents"]), "color": tuple(o["color"])})
            for o in raw["objects"]
        )
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"corrupt catalog file {fn}: {e}") from None
    for o in items:
        for rel in filter(None, (o.mesh, o.texture)):
            if not (root / rel).exists():
                raise FileNotFoundError(f"catalog object {o.name} refers to missing file {root / rel}")
    return Catalog(root=root, items=items)


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise: a coarse random grid upsampled bilinearly (periodic), values in [0, 1]."""
    grid = rng.random((cells, cells))
    x = np.arange(size) * cells / size
    i0 = np.floor(x).astype(int)
    t = x - i0
    i1 = (i0 + 1) % cells
    rows = grid[i0] * (1 - t)[:, None] + grid[i1] * t[:, None]
    return rows[:, i0] * (1 - t)[None, :] + rows[:, i1] * t[None, :]


def make_texture(kind: str, color: np.ndarray, rng: np.random.Generator, size: int = TEXTURE_SIZE) -> np.ndarray:
    """A procedural RGB texture (uint8, size x size x 3)."""
    base = np.ones((size, size, 3)) * color
    accent = 1.0 - color if rng.random() < 0.5 else rng.random(3)
    yy, xx = np.mgrid[0:size, 0:size]
    if kind == "solid":
        img = base * (0.92 + 0.08 * _smooth_noise(rng, size, 4)[..., None])
    elif kind == "stripes":
        period = int(rng.integers(6, 17))
        angle = rng.random() * math.pi
        phase = (xx * math.cos(angle) + yy * math.sin(angle)) / period
        band = (np.floor(phase) % 2).astype(float)[..., None]
        img = base * (1 - band) + accent * band
    elif kind == "checker":
        cell = int(rng.choice([8, 16]))
        band = (((xx // cell) + (yy // cell)) % 2).astype(float)[..., None]
        img = base * (1 - band) + accent * band
    elif kind == "noise":
        n = _smooth_noise(rng, size, int(rng.integers(4, 9)))[..., None]
        img = base * (0.55 + 0.45 * n) + accent * 0.25 * (1 - n)
    elif kind == "label":
        # a printed label: a contrasting band with rows of dark "text" bars
        img = base.copy()
        y0, y1 = sorted(rng.integers(size // 5, 4 * size // 5, size=2))
        y1 = max(y1, y0 + size // 4)
        img[y0:y1] = np.array([0.95, 0.95, 0.92])
        ink = rng.random(3) * 0.3
        for row in range(y0 + 3, y1 - 3, 5):
            x = 4
            while x < size - 6:
                w = int(rng.integers(2, 9))
                img[row : row + 2, x : min(x + w, size - 4)] = ink
                x += w + int(rng.integers(1, 4))
    else:
        raise ValueError(f"unknown texture kind {kind!r}")
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def _read_obj_vertices_faces(path: Path) -> tuple[np.ndarray, list[list[int]]]:
    verts, faces = [], []
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("f "):
            faces.append([int(tok.split("/")[0]) for tok in line.split()[1:]])
    if not verts or not faces:
        raise ValueError(f"mesh {path} has no vertices or faces")
    return np.asarray(verts), faces


def write_uv_obj(src: Path, dst: Path) -> np.ndarray:
    """Copy an OBJ mesh, centred at its bounding-box centre, with planar (top-down) UVs added
    so a texture can be applied. Returns the mesh's extents (unscaled)."""
    v, faces = _read_obj_vertices_faces(src)
    lo, hi = v.min(0), v.max(0)
    v = v - (lo + hi) / 2
    ext = hi - lo
    uv = (v[:, :2] / max(ext[0], ext[1], 1e-9)) + 0.5
    lines = [f"# {src.parent.name}/{src.name} from pybullet_data, centred, planar UVs"]
    lines += [f"v {a:.6f} {b:.6f} {c:.6f}" for a, b, c in v]
    lines += [f"vt {a:.6f} {b:.6f}" for a, b in uv]
    lines += ["f " + " ".join(f"{i}/{i}" for i in f) for f in faces]
    dst.write_text("\n".join(lines) + "\n")
    return ext


def _random_urdf_dir() -> Path:
    import pybullet_data

    d = Path(pybullet_data.getDataPath()) / "random_urdfs"
    if not d.is_dir():
        raise FileNotFoundError(f"pybullet_data has no random_urdfs folder at {d}")
    return d


def build_catalog(out_dir: str | Path) -> Path:
    """Build the catalog into ``<out_dir>/catalog`` deterministically; return that folder.

    Writes to a temporary sibling first and swaps it in, so an interrupted build never leaves a
    half-written catalog behind.
    """
    from PIL import Image

    out = Path(out_dir) / "catalog"
    tmp = Path(out_dir) / ".catalog.tmp"
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    (tmp / "meshes").mkdir(parents=True)
    (tmp / "textures").mkdir()
    rng = np.random.default_rng(CATALOG_SEED)
    mesh_pool = sorted(p.name for p in _random_urdf_dir().iterdir() if p.is_dir())
    mesh_pick = iter(rng.permutation(mesh_pool).tolist())

    objects: list[dict] = []
    oid = 0
    for category, (count, n_test) in CATEGORY_COUNTS.items():
        test_idx = set(rng.choice(count, size=n_test, replace=False).tolist())
        for k in range(count):
            oid += 1
            name = f"{category}_{k:03d}"
            color = rng.random(3) * 0.8 + 0.1
            kind = str(rng.choice(TEXTURE_KINDS, p=[0.3, 0.2, 0.2, 0.1, 0.2]))
            glossy = bool(rng.random() < GLOSSY_RATE[category])
            mesh, mesh_scale = None, 1.0
            if category == "box":
                shape = "box"
                ext = np.sort(rng.uniform(0.035, 0.11, size=3))[::-1]
                ext[2] = rng.uniform(0.025, 0.07)
            elif category == "cylinder":
                shape = "cylinder"
                r = rng.uniform(0.018, 0.035)
                ext = np.array([2 * r, 2 * r, rng.uniform(0.05, 0.12)])
            elif category == "pouch":
                shape = "box"
                ext = np.array([rng.uniform(0.07, 0.14), rng.uniform(0.05, 0.10), rng.uniform(0.006, 0.014)])
            elif category == "ball":
                shape = "sphere"
                r = rng.uniform(0.02, 0.037)
                ext = np.array([2 * r] * 3)
            else:
                shape = "mesh"
                while True:  # skip the few pybullet_data meshes with degenerate or NaN vertices
                    src_name = next(mesh_pick)
                    src = _random_urdf_dir() / src_name / f"{src_name}.obj"
                    raw_ext = write_uv_obj(src, tmp / "meshes" / f"{name}.obj")
                    if np.all(np.isfinite(raw_ext)) and raw_ext.min() > 1e-6:
                        break
                target = rng.uniform(0.05, 0.10)
                mesh_scale = float(target / raw_ext.max())
                ext = raw_ext * mesh_scale
                mesh = f"meshes/{name}.obj"
            if shape == "box":
                volume = float(np.prod(ext))
            elif shape == "cylinder":
                volume = math.pi * (ext[0] / 2) ** 2 * ext[2]
            elif shape == "sphere":
                volume = 4 / 3 * math.pi * (ext[0] / 2) ** 3
            else:
                volume = float(np.prod(ext)) * 0.5
            density = rng.uniform(150, 700)
            tex = make_texture(kind, color, rng)
            Image.fromarray(tex).save(tmp / "textures" / f"{name}.png", optimize=False, compress_level=6)
            objects.append(
                {
                    "id": oid,
                    "name": name,
                    "category": category,
                    "split": "test" if k in test_idx else "train",
                    "shape": shape,
                    "extents": [round(float(e), 5) for e in ext],
                    "mesh": mesh,
                    "mesh_scale": round(mesh_scale, 6),
                    "texture": f"textures/{name}.png",
                    "texture_kind": kind,
                    "color": [round(float(c), 4) for c in color],
                    "mass": round(float(np.clip(volume * density, 0.02, 0.8)), 4),
                    "friction": round(float(rng.uniform(0.4, 1.0)), 3),
                    "glossy": glossy,
                    "gloss": round(float(rng.uniform(0.5, 1.0)) if glossy else 0.0, 3),
                }
            )
    doc = {
        "version": CATALOG_VERSION,
        "seed": CATALOG_SEED,
        "categories": list(CATEGORIES),
        "source": "procedural primitives + pybullet_data random_urdfs meshes (robopercept.world.catalog)",
        "objects": objects,
    }
    (tmp / "catalog.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if out.exists():
        import shutil

        shutil.rmtree(out)
    tmp.replace(out)
    return out


def summarize(objs: Iterable[CatalogObject]) -> dict[str, dict[str, int]]:
    """Counts per category and split (for the data card and the environment notebook)."""
    table: dict[str, dict[str, int]] = {}
    for o in objs:
        row = table.setdefault(o.category, {"train": 0, "test": 0, "glossy": 0})
        row[o.split] += 1
        row["glossy"] += int(o.glossy)
    return table
