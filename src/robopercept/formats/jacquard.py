"""The Jacquard grasping dataset on disk (Depierre et al., IROS 2018), read and written.

Jacquard stores one sample (one object on a plane seen from above, a scene *id*) as five files::

    <id>_RGB.png              colour image (Jacquard: 1024 x 1024)
    <id>_perfect_depth.tiff   float32 depth of the renderer, metres
    <id>_stereo_depth.tiff    float32 depth of a simulated stereo camera (noise, holes as 0)
    <id>_mask.png             object mask, 0 / 255
    <id>_grasps.txt           one successful grasp per line: ``x;y;theta;opening;jaw size``

Conventions of the grasp lines (the same for the real Jacquard and for our simulated copy):

* ``x`` is the **column** and ``y`` the **row** of the grasp centre, in pixels of the stored image,
  with pixel ``(row r, column c)`` at ``x = c, y = r`` (array-index convention);
* ``theta`` is in **degrees**, the angle of the jaws' closing direction from the image's x axis,
  measured with the image's y axis pointing *down* (so a positive theta turns clockwise on
  screen). Our in-memory angle :attr:`GraspRect.angle` is counter-clockwise in radians, i.e.
  ``angle = -radians(theta)`` (the sign flip every Jacquard loader applies);
* ``opening`` is the distance between the jaws (the rectangle's length along the closing
  direction) and ``jaw size`` the width of a jaw (the rectangle's other side), both in pixels.

Our simulated samples add a sidecar ``<id>_scene.json`` (object id, pose, camera) that the real
dataset lacks; the reader ignores it, and only the simulated trials of ``robopercept.mlgsl`` use
it. Composed cluttered samples (mlgsl §III-D) add ``<id>_instances.png`` (uint8 object index per
pixel, 0 = table). :func:`read_sample` raises :class:`JacquardFormatError` naming the file (and line) for a
missing file or a malformed grasp line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

SUFFIXES = {"rgb": "_RGB.png", "perfect_depth": "_perfect_depth.tiff", "stereo_depth": "_stereo_depth.tiff",
            "mask": "_mask.png", "grasps": "_grasps.txt"}
SCENE_SUFFIX = "_scene.json"
INSTANCES_SUFFIX = "_instances.png"


class JacquardFormatError(ValueError):
    """A Jacquard file is missing, unreadable or malformed (the message names the file / line)."""


@dataclasses.dataclass(frozen=True)
class GraspRect:
    """A planar parallel-jaw grasp as an image rectangle.

    ``row``, ``col``: centre (pixels, continuous); ``angle``: closing direction, radians,
    counter-clockwise on screen; ``opening``: jaw distance (pixels); ``jaw``: jaw width (pixels).
    """

    row: float
    col: float
    angle: float
    opening: float
    jaw: float

    def corners(self) -> np.ndarray:
        """4 x 2 corners as (col, row), in order around the rectangle."""
        # closing direction on screen (y down): (cos a, -sin a) for a counter-clockwise angle a
        d = np.array([math.cos(self.angle), -math.sin(self.angle)])  # (dx, dy)
        n = np.array([-d[1], d[0]])
        c = np.array([self.col, self.row])
        a, b = d * self.opening / 2, n * self.jaw / 2
        return np.array([c - a - b, c + a - b, c + a + b, c - a + b])

    def scaled(self, s: float) -> "GraspRect":
        return GraspRect(self.row * s, self.col * s, self.angle, self.opening * s, self.jaw * s)

    def to_line(self) -> str:
        """Jacquard's ``x;y;theta;opening;jaw size`` (theta in degrees, clockwise on screen)."""
        theta = -math.degrees(self.angle)
        return f"{self.col:.2f};{self.row:.2f};{theta:.2f};{self.opening:.2f};{self.jaw:.2f}"

    @classmethod
    def from_line(cls, line: str, where: str = "") -> "GraspRect":
        parts = line.strip().split(";")
        if len(parts) != 5:
            raise JacquardFormatError(f"{where}: expected 5 fields 'x;y;theta;opening;jaw size', got {line.strip()!r}")
        try:
            x, y, theta, opening, jaw = (float(v) for v in parts)
        except ValueError:
            raise JacquardFormatError(f"{where}: non-numeric field in {line.strip()!r}") from None
        if not all(math.isfinite(v) for v in (x, y, theta, opening, jaw)):
            raise JacquardFormatError(f"{where}: non-finite value in {line.strip()!r}")
        if opening <= 0 or jaw <= 0:
            raise JacquardFormatError(f"{where}: opening and jaw size must be > 0 in {line.strip()!r}")
        return cls(row=y, col=x, angle=-math.radians(theta), opening=opening, jaw=jaw)


@dataclasses.dataclass
class JacquardSample:
    id: str
    rgb: np.ndarray  # H x W x 3 uint8
    perfect_depth: np.ndarray  # H x W float32, metres
    stereo_depth: np.ndarray  # H x W float32, metres (0 = no measurement)
    mask: np.ndarray  # H x W bool
    grasps: list[GraspRect]
    scene: dict | None = None  # simulated samples only
    instances: np.ndarray | None = None  # composed cluttered samples only


def write_grasps(path: Path, grasps: Iterable[GraspRect]) -> None:
    Path(path).write_text("".join(g.to_line() + "\n" for g in grasps))


def read_grasps(path: str | Path) -> list[GraspRect]:
    path = Path(path)
    if not path.exists():
        raise JacquardFormatError(f"{path}: grasp file missing")
    out = []
    for k, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            out.append(GraspRect.from_line(line, where=f"{path}:{k}"))
    return out


def _write_tiff(path: Path, depth: np.ndarray) -> None:
    import tifffile

    tifffile.imwrite(path, np.asarray(depth, np.float32))


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    if not path.exists():
        raise JacquardFormatError(f"{path}: depth image missing")
    try:
        return np.asarray(tifffile.imread(path), np.float32)
    except Exception as e:  # tifffile raises several types for corrupt files
        raise JacquardFormatError(f"{path}: unreadable TIFF ({e})") from None


def write_sample(folder: str | Path, sample: JacquardSample) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / sample.id
    if not cv2.imwrite(str(stem) + SUFFIXES["rgb"], sample.rgb[..., ::-1]):
        raise OSError(f"could not write {stem}{SUFFIXES['rgb']}")
    _write_tiff(Path(str(stem) + SUFFIXES["perfect_depth"]), sample.perfect_depth)
    _write_tiff(Path(str(stem) + SUFFIXES["stereo_depth"]), sample.stereo_depth)
    cv2.imwrite(str(stem) + SUFFIXES["mask"], sample.mask.astype(np.uint8) * 255)
    write_grasps(Path(str(stem) + SUFFIXES["grasps"]), sample.grasps)
    if sample.scene is not None:
        Path(str(stem) + SCENE_SUFFIX).write_text(json.dumps(sample.scene, sort_keys=True) + "\n")
    if sample.instances is not None:
        cv2.imwrite(str(stem) + INSTANCES_SUFFIX, sample.instances.astype(np.uint8))


def _read_png(path: Path, flags: int) -> np.ndarray:
    if not path.exists():
        raise JacquardFormatError(f"{path}: image missing")
    img = cv2.imread(str(path), flags)
    if img is None:
        raise JacquardFormatError(f"{path}: unreadable image")
    return img


def read_sample(folder: str | Path, sample_id: str, *, depth_only: bool = False) -> JacquardSample:
    """Load one sample; ``depth_only`` skips the RGB image (the models read depth)."""
    stem = Path(folder) / sample_id
    rgb = (np.zeros((0, 0, 3), np.uint8) if depth_only
           else _read_png(Path(str(stem) + SUFFIXES["rgb"]), cv2.IMREAD_COLOR)[..., ::-1].copy())
    perfect = _read_tiff(Path(str(stem) + SUFFIXES["perfect_depth"]))
    stereo = _read_tiff(Path(str(stem) + SUFFIXES["stereo_depth"]))
    mask = _read_png(Path(str(stem) + SUFFIXES["mask"]), cv2.IMREAD_GRAYSCALE) > 127
    if perfect.shape != mask.shape or stereo.shape != mask.shape:
        raise JacquardFormatError(f"{stem}: image sizes disagree (depth {perfect.shape}, stereo {stereo.shape}, "
                                  f"mask {mask.shape})")
    grasps = read_grasps(Path(str(stem) + SUFFIXES["grasps"]))
    scene_fn = Path(str(stem) + SCENE_SUFFIX)
    scene = json.loads(scene_fn.read_text()) if scene_fn.exists() else None
    inst_fn = Path(str(stem) + INSTANCES_SUFFIX)
    instances = _read_png(inst_fn, cv2.IMREAD_UNCHANGED) if inst_fn.exists() else None
    return JacquardSample(sample_id, rgb, perfect, stereo, mask, grasps, scene, instances)


_ID = re.compile(r"^(.+)_grasps\.txt$")


def list_samples(root: str | Path) -> list[tuple[Path, str]]:
    """Every sample under ``root`` (any depth, as Jacquard's per-object folders), sorted:
    ``(folder, id)`` pairs, found through their ``_grasps.txt`` files."""
    root = Path(root)
    if not root.is_dir():
        raise JacquardFormatError(f"{root}: not a folder")
    out = []
    for fn in sorted(root.rglob("*_grasps.txt")):
        m = _ID.match(fn.name)
        if m:
            out.append((fn.parent, m.group(1)))
    return out


def iter_samples(root: str | Path, **kw) -> Iterator[JacquardSample]:
    for folder, sid in list_samples(root):
        yield read_sample(folder, sid, **kw)
