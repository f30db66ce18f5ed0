"""The posed wrist camera renders geometry that its K and pose explain: floor pixels back-project onto the table,
and correspondences between two views of the arc land on the same object."""

import numpy as np

from robopercept import paths
from robopercept.don.correspondence import backproject, find_matches
from robopercept.world.catalog import load_catalog
from robopercept.world.scene import BinScene
from robopercept.world.wrist_camera import PosedCamera, arc_trajectory, look_at, rotation_angle_deg, subsample

H, W = 60, 80


def test_arc_is_fixed_looks_at_the_centre_and_subsampling_respects_both_thresholds():
    poses = arc_trajectory(300)
    assert np.allclose(poses, arc_trajectory(300))
    for T in poses[::50]:
        to_centre = np.array([0, 0, 0.02]) - T[:3, 3]
        assert np.allclose(T[:3, 2], to_centre / np.linalg.norm(to_centre))
    kept = subsample(poses)
    assert 10 < len(kept) < 300
    for a, b in zip(kept, kept[1:]):
        assert rotation_angle_deg(poses[a][:3, :3], poses[b][:3, :3]) >= 5
        assert np.linalg.norm(poses[b][:3, 3] - poses[a][:3, 3]) >= 0.02


def test_rendered_depth_matches_pose_and_intrinsics_and_views_correspond():
    catalog = load_catalog(paths.data_dir())
    obj = next(o for o in catalog.objects("test") if o.shape == "box")
    poses = [look_at(np.array([0.3, 0.0, 0.45]), np.array([0, 0, 0.02])),
             look_at(np.array([0.0, 0.3, 0.45]), np.array([0, 0, 0.02]))]
    cams = [PosedCamera.at(T, H, W) for T in poses]
    frames = []
    with BinScene(catalog, cams[0], tote=False) as scene:
        inst = scene.spawn(obj, (0, 0, obj.extents[2] / 2 + 0.001), (0, 0, 0, 1))
        scene.settle(60)
        for cam in cams:
            frames.append(scene.render(camera=cam))
    for cam, f in zip(cams, frames):
        pts = backproject(f.depth, cam.K, cam.pose)
        floor = f.ids == 0
        assert np.abs(pts[floor][:, 2]).max() < 0.004  # floor pixels lie on the table plane z = 0
        top = pts[f.ids == inst][:, 2]
        assert top.max() < obj.extents[2] + 0.005 and (f.ids == inst).sum() > 20
    m = find_matches(frames[0].depth, cams[0].pose, frames[1].depth, cams[1].pose, cams[0].K, depth_tolerance=0.005)
    ids_a = frames[0].ids[m.uv_a[:, 1], m.uv_a[:, 0]]
    ids_b = frames[1].ids[m.uv_b[:, 1], m.uv_b[:, 0]]
    assert len(m) > 1000 and (ids_a == ids_b).mean() > 0.99
