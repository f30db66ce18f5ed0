"""§III-B.1 crop collection: what is kept, what a crop holds, how it reads back."""

import json

import numpy as np
import pytest
import torch

from robopercept import paths
from robopercept.formats import coco
from robopercept.formats.grasp_pairs import iter_grasp_folders, read_png, read_sample
from robopercept.graspseg import baselines
from robopercept.graspseg.config import GraspDataConfig
from robopercept.graspseg.crop_collection import collect_mask_crops, collect_model_crops, successful_grasps
from robopercept.graspseg.crops import (collect_train_object_crops, load_crops, load_grasp_masks, read_crop, read_index,
                                        write_crop)
from robopercept.graspseg.filters import FilterConfig
from robopercept.graspseg.grasp_collection import generate
from robopercept.graspseg.model import GraspSegmentationModel
from robopercept.graspseg.paste import Crop
from robopercept.graspseg.train import TrainSettings, save_checkpoint

CFG = GraspDataConfig(height=64, width=96, n_unlabeled=4, n_labeled_train=3, n_labeled_test=2,
                      n_train_objects=20, n_test_objects=10, min_objects_per_bin=3, max_objects_per_bin=5,
                      settle_steps=60, shard_size=2, workers=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("grasps") / "ds"
    generate(CFG, 5, paths.data_dir(), out, progress=False)
    return out


def _constant_model(tmp_path, visible_logit: float, amodal_logit: float):
    """A checkpoint whose prediction is a constant probability everywhere (head weights zero, biases set)."""
    torch.manual_seed(0)
    m = GraspSegmentationModel("resnet18", (16, 8, 4))
    torch.nn.init.zeros_(m.head.weight)
    m.head.bias.data = torch.tensor([visible_logit, amodal_logit])
    s = TrainSettings(head_channels=(16, 8, 4))
    return save_checkpoint(m.eval(), tmp_path / "model.pt", settings=s, variant="Grasp-100", history=[], init=None)


def test_crop_png_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    mask = np.zeros((20, 30), bool)
    mask[3:9, 4:20] = True
    mask[9, 10] = True
    c = Crop.cut(img, mask, "x")
    assert c.mask.shape == (7, 16) and c.area == mask.sum()
    write_crop(tmp_path / "c.png", c)
    back = read_crop(tmp_path / "c.png")
    assert np.array_equal(back.mask, c.mask) and np.array_equal(back.rgb, c.rgb)
    assert np.array_equal(back.rgb[back.mask], img[mask])
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png.*graspseg_crops"):
        read_crop(tmp_path / "bad.png")


def test_model_crops_cut_the_before_image_and_record_verdicts(dataset, tmp_path):
    folders = successful_grasps(dataset)
    assert len(folders) == CFG.n_unlabeled
    # p = 1 everywhere: the whole before image is the crop, and every filter passes
    ckpt = _constant_model(tmp_path, 50.0, 50.0)
    index = collect_model_crops(ckpt, dataset, folders, tmp_path / "all", FilterConfig(), batch_size=3)
    assert index["considered"] == index["nonempty"] == index["kept"] == len(folders)
    assert len(index["checkpoint_md5"]) == 32 and index["method"] == "Grasp-100"
    crops = load_crops(tmp_path / "all", filtered=True)
    for c, f in zip(crops, folders):
        assert np.array_equal(c.rgb, read_sample(f).before) and c.mask.all()
        assert c.source == str(f.relative_to(dataset))
    full = load_grasp_masks(tmp_path / "all", dataset, filtered=True)
    assert [p for p, _ in full] == [f / "before.png" for f in folders] and all(m.all() for _, m in full)
    # amodal p = 1 but visible p = 0.6: occlusion ratio 0.6 < t_occ -> every crop rejected, still stored
    ckpt = _constant_model(tmp_path, float(np.log(0.6 / 0.4)), 50.0)
    index = collect_model_crops(ckpt, dataset, folders, tmp_path / "occluded", FilterConfig())
    assert index["kept"] == 0 and index["nonempty"] == len(folders)
    assert all(not r["verdicts"]["occlusion"] for r in index["records"])
    assert len(load_crops(tmp_path / "occluded", filtered=False)) == len(folders)
    with pytest.raises(ValueError, match="no kept crops"):
        load_crops(tmp_path / "occluded", filtered=True)
    # p = 0: nothing predicted, no file
    ckpt = _constant_model(tmp_path, -50.0, -50.0)
    index = collect_model_crops(ckpt, dataset, folders, tmp_path / "empty", FilterConfig())
    assert index["nonempty"] == 0 and all(r["file"] is None for r in index["records"])
    assert not list((tmp_path / "empty").glob("*.png"))


def test_subtract_crops_use_the_contour_filter(dataset, tmp_path):
    folders = successful_grasps(dataset)
    index = collect_mask_crops("Subtract-Filter", lambda s: baselines.subtract(s.before, s.after, 15.0, 5),
                               dataset, folders, tmp_path / "sub", FilterConfig(), {"threshold": 15.0, "ksize": 5})
    assert index["considered"] == len(folders) and index["parameters"] == {"threshold": 15.0, "ksize": 5}
    for r in index["records"]:
        assert r["kept"] == (r["verdicts"]["nonempty"] and r["verdicts"]["contours"])
        if r["file"]:
            s = read_sample(dataset / r["grasp"])
            m = baselines.subtract(s.before, s.after, 15.0, 5)
            assert read_crop(tmp_path / "sub" / r["file"]).area == m.sum() == r["area"]
    # every non-empty mask comes back in place, at full size
    placed = load_grasp_masks(tmp_path / "sub", dataset, filtered=False)
    for (before, m), r in zip(placed, [r for r in index["records"] if r["file"]]):
        s = read_sample(dataset / r["grasp"])
        assert np.array_equal(m, baselines.subtract(s.before, s.after, 15.0, 5))


def test_train_object_crops_keep_unoccluded_instances(dataset, tmp_path):
    ann = json.loads((dataset / "labeled_train" / "annotations.coco.json").read_text())
    files = [im["file_name"] for im in ann["images"]]
    index = collect_train_object_crops(dataset, files, tmp_path / "train", t_occ=0.95)
    assert index["considered"] == len(ann["annotations"])
    n_kept = 0
    for a in ann["annotations"]:
        ratio = coco.decode(a["segmentation"]).sum() / coco.decode(a["amodal_segmentation"]).sum()
        n_kept += ratio > 0.95
    assert index["kept"] == n_kept > 0
    # every kept crop's pixels are the labeled image's pixels under that instance
    crops = load_crops(tmp_path / "train", filtered=True)
    assert len(crops) == n_kept
    img = read_png(dataset / "labeled_train" / files[0], rgb=True)
    first = [a for a in ann["annotations"] if a["image_id"] == ann["images"][0]["id"]]
    kept_first = [a for a in sorted(first, key=lambda a: a["id"])
                  if coco.decode(a["segmentation"]).sum() / coco.decode(a["amodal_segmentation"]).sum() > 0.95]
    if kept_first:
        m = coco.decode(kept_first[0]["segmentation"])
        assert np.array_equal(crops[0].rgb[crops[0].mask], img[m])
    with pytest.raises(ValueError, match="has no image"):
        collect_train_object_crops(dataset, ["shard_99999/000000/before.png"], tmp_path / "x")


def test_missing_or_corrupt_index_is_named(tmp_path, dataset):
    with pytest.raises(FileNotFoundError, match="graspseg_crops"):
        read_index(tmp_path)
    (tmp_path / "index.json").write_text("{")
    with pytest.raises(ValueError, match=r"cannot read crop index .*index\.json.*truncated or corrupt.*graspseg_crops"):
        read_index(tmp_path)
    (tmp_path / "index.json").write_text('{"method": "Grasp-100"}')  # written by other code or cut short
    with pytest.raises(ValueError, match=r"not a crop index \(no 'records'\).*dvc repro -f -s graspseg_crops"):
        read_index(tmp_path)
    assert len(list(iter_grasp_folders(dataset, "unlabeled"))) == CFG.n_unlabeled
