"""Dense Object Net scene logs in the on-disk layout of the reference code (RobotLocomotion/pytorch-dense-correspondence,
read at 76bf649: ``dense_correspondence/dataset/spartan_dataset_masked.py``, ``scene_structure.py``,
``modules/dense_correspondence_manipulation/utils/utils.py``)::

    <root>/logs/<scene>/processed/images/NNNNNN_rgb.png            RGB, 8 bit
    <root>/logs/<scene>/processed/rendered_images/NNNNNN_depth.png  uint16 depth in millimetres (0: no reading)
    <root>/logs/<scene>/processed/image_masks/NNNNNN_mask.png       uint8, non-zero on the object(s)
    <root>/logs/<scene>/processed/images/pose_data.yaml             index -> camera_to_world {translation {x,y,z},
                                                                     quaternion {w,x,y,z}} (the optical frame:
                                                                     x right, y down, z forward)
    <root>/logs/<scene>/processed/images/camera_info.yaml           image_width, image_height, camera_matrix
                                                                     {rows, cols, data: row-major K}
    <root>/config/single_object/<object>.yaml                       logs_root_path, object_id, train, test,
                                                                     evaluation_labeled_data_path
    <root>/config/multi_object/<name>.yaml                          the same with object_id_list
    <root>/config/composite/<name>.yaml                             logs_root_path, single_object_scenes_config_files,
                                                                     multi_object_scenes_config_files

Indices are zero-padded to 6 digits and need not be contiguous; a scene's frames are the keys of its
``pose_data.yaml``. Ours adds one file the reference code does not read: ``image_masks/NNNNNN_instances.png`` (uint16
per-object ids, 0 = background; the object ids are listed in ``processed/objects.yaml``), which the test scenes need
for per-object evaluation. ``K`` is written in the reference code's pixel-*index* convention (a pixel's ray is
``K⁻¹ [u, v, 1]``). Note: the reference training loader does not pass ``camera_info``'s K to its correspondence
finder — it uses its own 640 x 480 default (fx 533.6, fy 534.8, cx 319.4, cy 236.4); our paper-profile camera is
640 x 480 with square pixels (fx = fy), so its K differs from that default by well under a pixel at the image edge,
and our reader uses ``camera_info.yaml``.

**Original DON data.** The reference code keeps its configs in its source tree
(``config/dense_correspondence/dataset/{composite,single_object,multi_object}``) and its logs in a data volume: a
composite's ``logs_root_path`` (``logs_proto`` in the released configs; older ones wrote
``code/data_volume/pdc/logs_proto``) is taken relative to the data directory (its ``DC_DATA_DIR``, the data volume's
``pdc`` folder) unless absolute, and the older prefix is dropped when the path does not exist with it
(``utils.convert_data_relative_path_to_absolute_path``).
``DonLogs(data_dir, composite, config_dir=...)`` resolves it the same way, so a released log folder is read where it
lies; its pose entries' extra keys (``timestamp``, ``body_to_world``, ...) and ``camera_info``'s distortion fields are
ignored, and a scene without ``objects.yaml`` simply has no per-object ids.

The reader (:class:`DonLogs`) refuses a malformed folder — a missing file, a PNG that does not decode, an image of
the wrong size, a pose without its keys, an RGB image on disk without a pose (a ``pose_data.yaml`` cut short), a pose
naming another image file, a config naming an unknown scene or object — with a :class:`DonLogError` naming the file
and the problem, from :meth:`DonLogs.check`, before anything trains.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Mapping

import cv2
import numpy as np


class DonLogError(ValueError):
    """A DON log folder that cannot be read as one: the message names the file and what is wrong."""


def _quat_to_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    q = np.array([w, x, y, z], float)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _matrix_to_quat(R: np.ndarray) -> tuple[float, float, float, float]:
    """Scalar-first unit quaternion (w, x, y, z) of a rotation matrix, w >= 0."""
    m = np.asarray(R, float)
    t = np.trace(m)
    if t > 0:
        s = 2 * np.sqrt(t + 1)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2 * np.sqrt(1 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0] * 4
        q[0] = (m[k, j] - m[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (m[j, i] + m[i, j]) / s
        q[1 + k] = (m[k, i] + m[i, k]) / s
    q = np.array(q)
    q /= np.linalg.norm(q)
    if q[0] < 0:
        q = -q
    return tuple(float(v) for v in q)


def _yaml_dump(obj, path: Path) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(obj, sort_keys=True, default_flow_style=False))


def _yaml_load(path: Path, what: str):
    import yaml

    if not path.exists():
        raise DonLogError(f"{path}: missing {what}")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise DonLogError(f"{path}: {what} is not valid YAML ({str(e).splitlines()[0]})") from None


def _png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f"could not write {path}")


class SceneWriter:
    """Write one scene's frames; :meth:`close` writes ``pose_data.yaml``, ``camera_info.yaml`` and ``objects.yaml``."""

    def __init__(self, root: str | Path, scene: str, K: np.ndarray, height: int, width: int,
                 objects: Mapping[int, str] | None = None, *, processed_dir: str | Path | None = None):
        """Frames go to ``<root>/logs/<scene>/processed/``, or to ``processed_dir`` when given (a shard runner's
        scene folder)."""
        self.dir = Path(processed_dir) if processed_dir is not None else Path(root) / "logs" / scene / "processed"
        self.K, self.h, self.w = np.asarray(K, float), height, width
        self.poses: dict[int, dict] = {}
        self.objects = dict(objects or {})

    def add(self, index: int, rgb: np.ndarray, depth_m: np.ndarray, T_wc: np.ndarray, mask: np.ndarray | None = None,
            instances: np.ndarray | None = None) -> None:
        if rgb.shape != (self.h, self.w, 3) or depth_m.shape != (self.h, self.w):
            raise ValueError(f"frame {index}: image {rgb.shape} / depth {depth_m.shape}, the scene is {self.w}x{self.h}")
        n = f"{index:06d}"
        _png(self.dir / "images" / f"{n}_rgb.png", np.ascontiguousarray(rgb[..., ::-1]))
        _png(self.dir / "rendered_images" / f"{n}_depth.png",
             np.clip(np.round(np.asarray(depth_m) * 1000), 0, 65535).astype(np.uint16))
        if mask is not None:
            _png(self.dir / "image_masks" / f"{n}_mask.png", np.asarray(mask, bool).astype(np.uint8))
        if instances is not None:
            _png(self.dir / "image_masks" / f"{n}_instances.png", np.asarray(instances).astype(np.uint16))
        T = np.asarray(T_wc, float)
        w, x, y, z = _matrix_to_quat(T[:3, :3])
        self.poses[int(index)] = {"camera_to_world": {
            "translation": {"x": float(T[0, 3]), "y": float(T[1, 3]), "z": float(T[2, 3])},
            "quaternion": {"w": w, "x": x, "y": y, "z": z}},
            "rgb_image_filename": f"{n}_rgb.png", "depth_image_filename": f"{n}_depth.png"}

    def close(self) -> Path:
        _yaml_dump(self.poses, self.dir / "images" / "pose_data.yaml")
        _yaml_dump({"image_width": self.w, "image_height": self.h,
                    "camera_matrix": {"rows": 3, "cols": 3, "data": [float(v) for v in self.K.ravel()]}},
                   self.dir / "images" / "camera_info.yaml")
        _yaml_dump({int(k): v for k, v in self.objects.items()}, self.dir / "objects.yaml")
        return self.dir


def write_configs(root: str | Path, name: str, single: Mapping[str, Mapping[str, list[str]]],
                  multi: Mapping[str, Mapping[str, object]]) -> Path:
    """The reference code's dataset configs: ``single`` maps object -> {"train": scenes, "test": scenes}, ``multi``
    maps a config name -> {"object_id_list": [...], "train": scenes, "test": scenes}; returns the composite file."""
    root = Path(root)
    for obj, spl in single.items():
        _yaml_dump({"logs_root_path": "logs", "object_id": obj, "train": list(spl.get("train", [])),
                    "test": list(spl.get("test", [])), "evaluation_labeled_data_path": []},
                   root / "config" / "single_object" / f"{obj}.yaml")
    for cname, spec in multi.items():
        _yaml_dump({"logs_root_path": "logs", "object_id_list": list(spec["object_id_list"]),
                    "train": list(spec.get("train", [])), "test": list(spec.get("test", [])),
                    "evaluation_labeled_data_path": []}, root / "config" / "multi_object" / f"{cname}.yaml")
    comp = root / "config" / "composite" / f"{name}.yaml"
    _yaml_dump({"logs_root_path": "logs", "single_object_scenes_config_files": [f"{o}.yaml" for o in single],
                "multi_object_scenes_config_files": [f"{c}.yaml" for c in multi]}, comp)
    return comp


def _read_png(path: Path, flags: int, what: str) -> np.ndarray:
    if not path.exists():
        raise DonLogError(f"{path}: missing {what}")
    img = cv2.imread(str(path), flags)
    if img is None:
        raise DonLogError(f"{path}: {what} does not decode (truncated or not a PNG)")
    return img


@dataclasses.dataclass
class Scene:
    name: str
    dir: Path
    K: np.ndarray
    height: int
    width: int
    poses: dict[int, np.ndarray]
    objects: dict[int, str]

    @property
    def indices(self) -> list[int]:
        return sorted(self.poses)

    def pose(self, index: int) -> np.ndarray:
        """Camera-to-world 4 x 4 (optical frame)."""
        if index not in self.poses:
            raise DonLogError(f"{self.dir / 'images' / 'pose_data.yaml'}: no frame {index}")
        return self.poses[index]

    def _f(self, sub: str, index: int, suffix: str) -> Path:
        return self.dir / sub / f"{index:06d}_{suffix}.png"

    def rgb(self, index: int) -> np.ndarray:
        img = _read_png(self._f("images", index, "rgb"), cv2.IMREAD_COLOR, "RGB image")[..., ::-1].copy()
        self._size(img, self._f("images", index, "rgb"))
        return img

    def depth(self, index: int) -> np.ndarray:
        """Metres (0: no reading)."""
        d = _read_png(self._f("rendered_images", index, "depth"), cv2.IMREAD_UNCHANGED, "depth image")
        if d.dtype != np.uint16 or d.ndim != 2:
            raise DonLogError(f"{self._f('rendered_images', index, 'depth')}: depth must be single-channel uint16 mm")
        self._size(d, self._f("rendered_images", index, "depth"))
        return d.astype(np.float64) / 1000.0

    def mask(self, index: int) -> np.ndarray:
        m = _read_png(self._f("image_masks", index, "mask"), cv2.IMREAD_UNCHANGED, "object mask")
        self._size(m, self._f("image_masks", index, "mask"))
        return m > 0

    def instances(self, index: int) -> np.ndarray:
        p = self._f("image_masks", index, "instances")
        m = _read_png(p, cv2.IMREAD_UNCHANGED, "per-object mask").astype(np.int64)
        self._size(m, p)
        unknown = sorted(set(np.unique(m).tolist()) - {0} - set(self.objects))
        if unknown:
            raise DonLogError(f"{p}: object ids {unknown[:5]} not listed in {self.dir / 'objects.yaml'}")
        return m

    def has_masks(self) -> bool:
        return (self.dir / "image_masks").is_dir()

    def _size(self, img: np.ndarray, path: Path) -> None:
        if img.shape[:2] != (self.height, self.width):
            raise DonLogError(f"{path}: {img.shape[1]}x{img.shape[0]}, camera_info says {self.width}x{self.height}")

    def check(self) -> None:
        """Read every frame's files once (the masks where the scene has them); every RGB image on disk has a pose."""
        on_disk = sorted(int(p.name[:6]) for p in (self.dir / "images").glob("[0-9]" * 6 + "_rgb.png"))
        unposed = sorted(set(on_disk) - set(self.poses))
        if unposed:
            raise DonLogError(f"{self.dir / 'images' / 'pose_data.yaml'}: no pose for {len(unposed)} of the "
                              f"{len(on_disk)} RGB images on disk (frames {unposed[:5]}{' ...' if len(unposed) > 5 else ''}"
                              "): a pose_data.yaml cut short?")
        for i in self.indices:
            self.rgb(i)
            self.depth(i)
            if self.has_masks():
                self.mask(i)
                if self._f("image_masks", i, "instances").exists() or self.objects:
                    self.instances(i)


def read_scene(root: str | Path, name: str, *, logs_dir: str | Path | None = None) -> Scene:
    """Scene ``name`` of the logs under ``<root>/logs``, or under ``logs_dir`` when given (a composite's resolved
    ``logs_root_path``, :class:`DonLogs`)."""
    d = (Path(logs_dir) if logs_dir is not None else Path(root) / "logs") / name / "processed"
    if not d.is_dir():
        raise DonLogError(f"{d}: missing scene folder (scene {name!r})")
    info = _yaml_load(d / "images" / "camera_info.yaml", "camera_info.yaml")
    try:
        K = np.array(info["camera_matrix"]["data"], float).reshape(3, 3)
        h, w = int(info["image_height"]), int(info["image_width"])
    except (KeyError, TypeError, ValueError) as e:
        raise DonLogError(f"{d / 'images' / 'camera_info.yaml'}: needs image_width, image_height and a 3x3 "
                          f"camera_matrix.data ({type(e).__name__}: {e})") from None
    raw = _yaml_load(d / "images" / "pose_data.yaml", "pose_data.yaml")
    if not isinstance(raw, dict) or not raw:
        raise DonLogError(f"{d / 'images' / 'pose_data.yaml'}: no poses (an empty scene)")
    poses = {}
    for k, v in raw.items():
        try:
            c = v["camera_to_world"]
            q = c.get("quaternion") or c.get("orientation") or c.get("rotation")
            T = np.eye(4)
            T[:3, :3] = _quat_to_matrix(q["w"], q["x"], q["y"], q["z"])
            T[:3, 3] = [c["translation"]["x"], c["translation"]["y"], c["translation"]["z"]]
            name_rgb = v.get("rgb_image_filename", f"{int(k):06d}_rgb.png")
            if name_rgb != f"{int(k):06d}_rgb.png":
                raise DonLogError(f"{d / 'images' / 'pose_data.yaml'}: pose {k!r} names {name_rgb!r}, the layout "
                                  f"expects {int(k):06d}_rgb.png")
            poses[int(k)] = T
        except (KeyError, TypeError, ValueError) as e:
            raise DonLogError(f"{d / 'images' / 'pose_data.yaml'}: pose {k!r} needs camera_to_world with translation "
                              f"{{x,y,z}} and quaternion {{w,x,y,z}} ({type(e).__name__}: {e})") from None
    objs = _yaml_load(d / "objects.yaml", "objects.yaml") if (d / "objects.yaml").exists() else {}
    return Scene(name, d, K, h, w, poses, {int(k): str(v) for k, v in (objs or {}).items()})


REFERENCE_PREFIX = "code/data_volume/pdc"  # the reference code's older, data-volume-relative logs_root_path


def resolve_logs_root(value: str | None, data_dir: str | Path, composite_file: Path) -> Path:
    """A composite's ``logs_root_path`` as the reference code resolves it: absolute as it is, else relative to the data
    directory, dropping the older ``code/data_volume/pdc/`` prefix when the path does not exist with it."""
    import os

    value = value or "logs"
    p = Path(value)
    tried = [p] if p.is_absolute() else [Path(data_dir) / p]
    if not p.is_absolute() and not tried[0].is_dir():
        rel = os.path.relpath(value, REFERENCE_PREFIX)
        if not rel.startswith(".."):
            tried.append(Path(data_dir) / rel)
    for t in tried:
        if t.is_dir():
            return t
    raise DonLogError(f"{composite_file}: logs_root_path {value!r} is not a folder (tried "
                      f"{', '.join(str(t) for t in tried)}; relative paths are taken from the data directory)")


class DonLogs:
    """A DON log folder, read through its composite config (ours or the reference code's).

    ``root``: the data directory (ours: the dataset folder, holding ``config/`` and ``logs/``); ``config_dir``: where
    the ``composite`` / ``single_object`` / ``multi_object`` configs are (default ``<root>/config``; the reference
    code's ``config/dense_correspondence/dataset``); the logs are the composite's ``logs_root_path``
    (:func:`resolve_logs_root`)."""

    def __init__(self, root: str | Path, composite: str, *, config_dir: str | Path | None = None):
        self.root = Path(root)
        self.config_dir = Path(config_dir) if config_dir is not None else self.root / "config"
        self._scenes: dict[str, Scene] = {}
        comp_file = self.config_dir / "composite" / f"{composite}.yaml"
        comp = _yaml_load(comp_file, "composite dataset config")
        if not isinstance(comp, dict):
            raise DonLogError(f"{comp_file}: composite dataset config is not a mapping")
        self.logs_dir = resolve_logs_root(comp.get("logs_root_path"), self.root, comp_file)
        self.single: dict[str, dict] = {}
        self.multi: dict[str, dict] = {}
        for key, sub, out in (("single_object_scenes_config_files", "single_object", self.single),
                              ("multi_object_scenes_config_files", "multi_object", self.multi)):
            for fn in comp.get(key) or []:
                cfg = _yaml_load(self.config_dir / sub / fn, f"{sub} config")
                for field in ("train", "test"):
                    if not isinstance(cfg, dict) or field not in cfg:
                        raise DonLogError(f"{self.config_dir / sub / fn}: missing key {field!r}")
                out[Path(fn).stem] = cfg

    def scenes(self, split: str, kind: str = "all") -> list[str]:
        """Scene names of ``split`` ("train" / "test") from the single-object, multi-object or all configs."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        groups = {"single": [self.single], "multi": [self.multi], "all": [self.single, self.multi]}[kind]
        return sorted({s for g in groups for cfg in g.values() for s in cfg[split]})

    def scene(self, name: str) -> Scene:
        """The scene's metadata (poses, intrinsics, objects), read once; frames are read when asked for."""
        if name not in self._scenes:
            self._scenes[name] = read_scene(self.root, name, logs_dir=self.logs_dir)
        return self._scenes[name]

    def check(self, splits: Iterable[str] = ("train", "test")) -> None:
        """Every scene a config names exists and reads; raise naming the first bad file."""
        for split in splits:
            for name in self.scenes(split):
                self.scene(name).check()
