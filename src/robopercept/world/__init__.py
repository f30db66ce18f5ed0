"""The simulated robot world (pybullet, CPU rendering).

Layers, bottom up: :mod:`.catalog` (objects in ``data/``), :mod:`.camera` (intrinsics and
extrinsics), :mod:`.scene` (a tote of settled objects, rendering, visible and amodal masks),
:mod:`.suction` (the 5-cup suction gripper and its gauge), :mod:`.policy` (the imperfect
data-collection policy), :mod:`.nuisance` (lighting, specularities, sensor noise) and
:mod:`.grasp_data` (graspseg's grasp-interaction dataset). ``world`` never imports a paper package.
"""
