"""The simulated robot world (pybullet, CPU rendering): what no paper owns.

Layers, bottom up: :mod:`.catalog` (objects in ``data/``), :mod:`.camera` (intrinsics and
extrinsics), :mod:`.scene` (a tote or table of settled objects, rendering, visible and amodal
masks), :mod:`.suction` (the 5-cup suction gripper and its gauge), :mod:`.jaw_gripper` (a
parallel-jaw gripper), :mod:`.nuisance` (lighting, specularities, sensor noise) and
:mod:`.shards` (the one sharded, resumable runner every generator and sweep uses).

Each paper's own data generator lives in its package (``graspseg.grasp_collection``,
``mlgsl.jacquard_sim``, ...). ``world`` never imports or names a paper.
"""
