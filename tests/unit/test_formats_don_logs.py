"""DON scene logs in the reference code's layout: round trip, poses and intrinsics, configs, and bad input."""

import numpy as np
import pytest

from robopercept.formats import don_logs as D
from robopercept.world.wrist_camera import arc_trajectory

H, W = 24, 32
K = np.array([[30.0, 0, 15.5], [0, 30.0, 11.5], [0, 0, 1]])


@pytest.fixture()
def logs(tmp_path):
    rng = np.random.default_rng(0)
    poses = arc_trajectory(5)
    frames = {}
    for scene, masks in (("2026-11-23-10-00-00", True), ("2026-11-23-11-00-00", False)):
        w = D.SceneWriter(tmp_path, scene, K, H, W, objects={1: "red_box", 2: "mug"} if masks else None)
        for i, T in zip((0, 3, 7), poses):
            rgb = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
            depth = rng.uniform(0.3, 0.8, (H, W))
            inst = np.zeros((H, W), np.int64)
            inst[5:10, 5:10], inst[12:20, 20:28] = 1, 2
            w.add(i, rgb, depth, T, mask=inst > 0 if masks else None, instances=inst if masks else None)
            frames[scene, i] = (rgb, depth, T, inst)
        w.close()
    D.write_configs(tmp_path, "all", {"red_box": {"train": ["2026-11-23-10-00-00"], "test": []}},
                    {"known": {"object_id_list": ["red_box", "mug"], "train": ["2026-11-23-11-00-00"], "test": []}})
    return tmp_path, frames


def test_round_trip_layout_poses_and_depth_in_millimetres(logs):
    root, frames = logs
    assert (root / "logs/2026-11-23-10-00-00/processed/images/000003_rgb.png").exists()
    assert (root / "logs/2026-11-23-10-00-00/processed/rendered_images/000003_depth.png").exists()
    assert (root / "logs/2026-11-23-10-00-00/processed/image_masks/000003_mask.png").exists()
    ds = D.DonLogs(root, "all")
    ds.check()
    assert ds.scenes("train") == ["2026-11-23-10-00-00", "2026-11-23-11-00-00"]
    assert ds.scenes("train", "single") == ["2026-11-23-10-00-00"]
    s = ds.scene("2026-11-23-10-00-00")
    assert s.indices == [0, 3, 7] and np.allclose(s.K, K) and s.objects == {1: "red_box", 2: "mug"}
    for i in s.indices:
        rgb, depth, T, inst = frames[s.name, i]
        assert (s.rgb(i) == rgb).all() and np.abs(s.depth(i) - depth).max() <= 0.0005  # mm resolution
        assert np.allclose(s.pose(i), T, atol=1e-9)
        assert (s.instances(i) == inst).all() and (s.mask(i) == (inst > 0)).all()


def test_quaternions_are_scalar_first_unit_and_round_trip():
    for T in arc_trajectory(20):
        q = D._matrix_to_quat(T[:3, :3])
        assert q[0] >= 0 and np.isclose(np.linalg.norm(q), 1)
        assert np.allclose(D._quat_to_matrix(*q), T[:3, :3], atol=1e-9)


def test_reader_names_missing_truncated_and_wrong_size_files(logs):
    import cv2

    root, _ = logs
    base = root / "logs/2026-11-23-10-00-00/processed"
    (base / "rendered_images/000003_depth.png").unlink()
    with pytest.raises(D.DonLogError, match="000003_depth.png: missing depth image"):
        D.DonLogs(root, "all").check()
    cv2.imwrite(str(base / "rendered_images/000003_depth.png"), np.zeros((H, W + 1), np.uint16))
    with pytest.raises(D.DonLogError, match="33x24, camera_info says 32x24"):
        D.DonLogs(root, "all").check()
    cv2.imwrite(str(base / "rendered_images/000003_depth.png"), np.zeros((H, W), np.uint16))
    p = base / "images/000007_rgb.png"
    p.write_bytes(p.read_bytes()[:30])
    with pytest.raises(D.DonLogError, match="000007_rgb.png: RGB image does not decode"):
        D.DonLogs(root, "all").check()


def test_reader_refuses_unknown_object_ids_bad_poses_and_unknown_scenes(logs):
    import cv2
    import yaml

    root, _ = logs
    base = root / "logs/2026-11-23-10-00-00/processed"
    cv2.imwrite(str(base / "image_masks/000000_instances.png"), np.full((H, W), 9, np.uint16))
    with pytest.raises(D.DonLogError, match=r"object ids \[9\] not listed"):
        D.DonLogs(root, "all").check()
    poses = yaml.safe_load((base / "images/pose_data.yaml").read_text())
    del poses[3]["camera_to_world"]["quaternion"]
    (base / "images/pose_data.yaml").write_text(yaml.safe_dump(poses))
    with pytest.raises(D.DonLogError, match="pose 3 needs camera_to_world"):
        D.read_scene(root, "2026-11-23-10-00-00")
    with pytest.raises(D.DonLogError, match="no frame 5"):
        D.read_scene(root, "2026-11-23-11-00-00").pose(5)
    with pytest.raises(D.DonLogError, match="missing scene folder"):
        D.read_scene(root, "no-such-scene")
    (root / "config/multi_object/known.yaml").write_text("object_id_list: [a]\ntrain: [x]\n")
    with pytest.raises(D.DonLogError, match="missing key 'test'"):
        D.DonLogs(root, "all")
    (root / "config/composite/all.yaml").write_text("logs_root_path: logs\nsingle_object_scenes_config_files: [")
    with pytest.raises(D.DonLogError, match="not valid YAML"):
        D.DonLogs(root, "all")


def _write_original_scene(logs_dir, scene: str, indices=(0, 4, 9)):
    """One scene written by hand as the reference code's processed logs are: extra pose keys, camera_info with its
    distortion fields, raw depth beside the RGB, no objects.yaml, no per-object masks."""
    import cv2
    import yaml

    base = logs_dir / scene / "processed"
    for sub in ("images", "rendered_images", "image_masks"):
        (base / sub).mkdir(parents=True)
    rng = np.random.default_rng(1)
    poses = {}
    for i, T in zip(indices, arc_trajectory(len(indices))):
        cv2.imwrite(str(base / f"images/{i:06d}_rgb.png"), rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
        cv2.imwrite(str(base / f"images/{i:06d}_depth.png"), np.full((H, W), 700, np.uint16))  # raw, not read
        cv2.imwrite(str(base / f"rendered_images/{i:06d}_depth.png"), np.full((H, W), 650, np.uint16))
        cv2.imwrite(str(base / f"image_masks/{i:06d}_mask.png"), np.ones((H, W), np.uint8))
        w, x, y, z = D._matrix_to_quat(T[:3, :3])
        pose = {"translation": {"x": float(T[0, 3]), "y": float(T[1, 3]), "z": float(T[2, 3])},
                "quaternion": {"w": w, "x": x, "y": y, "z": z}}
        poses[i] = {"camera_to_world": pose, "body_to_world": pose, "timestamp": 1527000000000000 + i,
                    "rgb_image_filename": f"{i:06d}_rgb.png", "depth_image_filename": f"{i:06d}_depth.png"}
    (base / "images/pose_data.yaml").write_text(yaml.safe_dump(poses))
    (base / "images/camera_info.yaml").write_text(yaml.safe_dump({
        "camera_name": "camera", "image_width": W, "image_height": H, "distortion_model": "plumb_bob",
        "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0.0] * 5},
        "camera_matrix": {"rows": 3, "cols": 3, "data": [float(v) for v in K.ravel()]}}))
    return poses


def test_original_don_logs_are_read_where_the_reference_code_keeps_them(tmp_path):
    """The reference code's layout (pytorch-dense-correspondence at 76bf649): configs in its source tree under
    config/dense_correspondence/dataset, logs in the data directory (DC_DATA_DIR, its pdc folder) at the composite's
    logs_root_path, with the older code/data_volume/pdc/ prefix dropped when the path does not exist with it."""
    import yaml

    data = tmp_path / "code/data_volume/pdc"  # the reference code's DC_DATA_DIR
    config = tmp_path / "src/config/dense_correspondence/dataset"
    poses = _write_original_scene(data / "logs_proto", "2018-04-10-16-02-59")
    for sub, name, cfg in (("single_object", "caterpillar_upright.yaml",
                            {"object_id": "caterpillar", "train": ["2018-04-10-16-02-59"], "test": []}),
                           ("composite", "caterpillar_only.yaml",
                            {"logs_root_path": "code/data_volume/pdc/logs_proto",
                             "single_object_scenes_config_files": ["caterpillar_upright.yaml"],
                             "multi_object_scenes_config_files": []})):
        (config / sub).mkdir(parents=True, exist_ok=True)
        (config / sub / name).write_text(yaml.safe_dump(cfg))
    ds = D.DonLogs(data, "caterpillar_only", config_dir=config)
    assert ds.logs_dir == data / "logs_proto"
    ds.check()
    s = ds.scene("2018-04-10-16-02-59")
    assert s.indices == [0, 4, 9] and np.allclose(s.K, K) and s.objects == {} and s.mask(4).all()
    assert np.allclose(s.depth(9), 0.65) and np.isclose(s.pose(4)[2, 3], poses[4]["camera_to_world"]["translation"]["z"])
    # the released configs' form, relative to the data directory, and an absolute path
    for value in ("logs_proto", str(data / "logs_proto")):
        (config / "composite/caterpillar_only.yaml").write_text(yaml.safe_dump({
            "logs_root_path": value, "single_object_scenes_config_files": ["caterpillar_upright.yaml"]}))
        assert D.DonLogs(data, "caterpillar_only", config_dir=config).scenes("train") == ["2018-04-10-16-02-59"]
    (config / "composite/caterpillar_only.yaml").write_text("logs_root_path: no_such_logs\n")
    with pytest.raises(D.DonLogError, match=r"caterpillar_only.yaml: logs_root_path 'no_such_logs' is not a folder"):
        D.DonLogs(data, "caterpillar_only", config_dir=config)


def test_a_pose_file_cut_short_or_naming_another_image_is_refused(logs):
    import yaml

    root, _ = logs
    base = root / "logs/2026-11-23-10-00-00/processed"
    text = (base / "images/pose_data.yaml").read_text()
    poses = yaml.safe_load(text)
    (base / "images/pose_data.yaml").write_text(yaml.safe_dump({k: poses[k] for k in (0, 3)}))  # frame 7 lost
    with pytest.raises(D.DonLogError, match=r"pose_data.yaml: no pose for 1 of the 3 RGB images on disk \(frames \[7\]"):
        D.DonLogs(root, "all").check()
    poses[3]["rgb_image_filename"] = "000004_rgb.png"
    (base / "images/pose_data.yaml").write_text(yaml.safe_dump(poses))
    with pytest.raises(D.DonLogError, match="pose 3 names '000004_rgb.png', the layout expects 000003_rgb.png"):
        D.DonLogs(root, "all").check()
