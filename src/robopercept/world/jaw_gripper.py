"""A simulated parallel-jaw gripper and its grasp trials (labels of grasp datasets, the true quality
of predicted grasps, simulated robot experiments).

The gripper is one pybullet multibody: a palm held by a fixed constraint (moved by changing the
constraint's pose) and two box fingers on prismatic joints that close towards each other under a
force limit. A trial of a planar grasp ``(x, y, angle, opening, jaw)`` in world units:

1. **reach** — the open gripper is placed with its finger tips ``depth_m`` below the surface at the
   grasp centre (ε, e.g. 1 cm), never lower than ``floor_clearance_m`` above the
   table. A jaw that would end up inside an object means the gripper cannot get there:
   the trial fails as ``collision`` (``collided_with`` says which object, the target or another);
2. **close** — both fingers close with ``grip_force_n``;
3. **lift** — the palm rises ``lift_m``, then holds; the grasp succeeds when the object under the
   centre rose with it (by at least half the lift).

Simulated grasp datasets are labeled this way (a simulated robot tries grasps; the successful
ones are the labels). Every trial starts from the same saved physics state, so a trial
is a deterministic function of the grasp and the scene.
"""

from __future__ import annotations

import dataclasses

from .scene import BinScene

FINGER_T = 0.008  # finger thickness along the closing direction (m)
FINGER_H = 0.06  # finger length below the palm (m)
PARK = [0.0, 0.0, 2.0]


@dataclasses.dataclass(frozen=True)
class GripperSpec:
    max_opening_m: float = 0.09
    grip_force_n: float = 25.0
    depth_m: float = 0.01  # epsilon: finger tips this far below the surface at the centre
    floor_clearance_m: float = 0.003
    lift_m: float = 0.10
    close_steps: int = 48
    lift_steps: int = 96
    hold_steps: int = 24
    jaw_m: float = 0.02  # width of a finger (the "jaw size" of grasp rectangles); one physical gripper, one width


@dataclasses.dataclass(frozen=True)
class PlanarGrasp:
    """A grasp in the world: centre (x, y) on the table, closing direction ``angle`` (radians,
    counter-clockwise from the world x axis, seen from above) and ``opening`` (m). The jaw width is
    the gripper's (:attr:`GripperSpec.jaw_m`)."""

    x: float
    y: float
    angle: float
    opening: float


@dataclasses.dataclass(frozen=True)
class TrialResult:
    success: bool
    outcome: str  # "lifted" | "collision" | "dropped" | "missed" | "too_wide"
    target: int | None  # instance under the grasp centre (None: table)
    collided_with: int | None = None
    lift_m: float = 0.0


class JawGripper:
    """The gripper inside a :class:`~robopercept.world.scene.BinScene` (usually built with
    ``tote=False``: a table plane). Create it once per scene, then call :meth:`save` after the
    objects settled and :meth:`trial` for each grasp."""

    def __init__(self, scene: BinScene, spec: GripperSpec = GripperSpec()):
        p, c = scene.p, scene.cid
        self.scene, self.spec, self.p, self.c = scene, spec, p, c
        half_open = spec.max_opening_m / 2 + FINGER_T / 2
        palm = p.createCollisionShape(p.GEOM_BOX, halfExtents=[half_open + FINGER_T, 0.012, 0.01], physicsClientId=c)
        finger = p.createCollisionShape(p.GEOM_BOX, halfExtents=[FINGER_T / 2, spec.jaw_m / 2, FINGER_H / 2],
                                        physicsClientId=c)
        self.body = p.createMultiBody(
            baseMass=0.5, baseCollisionShapeIndex=palm, basePosition=PARK,
            linkMasses=[0.05, 0.05], linkCollisionShapeIndices=[finger, finger],
            linkVisualShapeIndices=[-1, -1],
            linkPositions=[[half_open, 0, -FINGER_H / 2 - 0.01], [-half_open, 0, -FINGER_H / 2 - 0.01]],
            linkOrientations=[[0, 0, 0, 1]] * 2, linkInertialFramePositions=[[0, 0, 0]] * 2,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * 2, linkParentIndices=[0, 0],
            linkJointTypes=[p.JOINT_PRISMATIC] * 2, linkJointAxis=[[-1, 0, 0], [1, 0, 0]],
            physicsClientId=c)
        for j in (-1, 0, 1):
            p.changeDynamics(self.body, j, lateralFriction=1.0, spinningFriction=0.002, physicsClientId=c)
        self.constraint = p.createConstraint(self.body, -1, -1, -1, p.JOINT_FIXED, [0, 0, 0], [0, 0, 0], PARK,
                                             physicsClientId=c)
        self._state: int | None = None

    # -- state ---------------------------------------------------------------------------------
    def park(self) -> None:
        p, c = self.p, self.c
        p.resetBasePositionAndOrientation(self.body, PARK, [0, 0, 0, 1], physicsClientId=c)
        p.changeConstraint(self.constraint, PARK, [0, 0, 0, 1], maxForce=500, physicsClientId=c)
        for j in (0, 1):
            p.resetJointState(self.body, j, 0.0, physicsClientId=c)
            p.setJointMotorControl2(self.body, j, p.VELOCITY_CONTROL, targetVelocity=0, force=0, physicsClientId=c)

    def save(self) -> None:
        """Remember the current scene (objects at rest) as the start of every trial."""
        self.park()
        if self._state is not None:
            self.p.removeState(self._state, physicsClientId=self.c)
        self._state = self.p.saveState(physicsClientId=self.c)

    def restore(self) -> None:
        """Back to the saved scene, the gripper parked and idle. ``restoreState`` puts bodies, joints and contacts back
        but not the holding constraint's target or the finger motors, which a trial moved: without the park, the
        next ``stepSimulation`` outside a trial (a new drop settling) would pull the gripper back to the last grasp,
        into the table's centre where objects land (session 28: 36 of 45 of mlgsl_data's drops settled so, 9 of them
        moved > 5 mm once the gripper was gone; the robot's drops depended on the last planner's grasp)."""
        if self._state is None:
            raise RuntimeError("JawGripper.save() must be called after the objects settled")
        self.p.restoreState(self._state, physicsClientId=self.c)
        self.park()

    # -- geometry ------------------------------------------------------------------------------
    def surface_height(self, x: float, y: float) -> tuple[float, int | None]:
        """Height of the topmost surface at (x, y) and the instance there (ray cast from above)."""
        hit = self.p.rayTest([x, y, 1.0], [x, y, -0.05], physicsClientId=self.c)[0]
        body, z = hit[0], hit[3][2]
        inst = next((i for i, pl in self.scene.placed.items() if pl.body == body), None)
        return (max(0.0, z) if body >= 0 else 0.0), inst

    def _place_open(self, g: PlanarGrasp, tip_z: float) -> None:
        p, c = self.p, self.c
        palm_z = tip_z + FINGER_H + 0.01
        orn = p.getQuaternionFromEuler([0, 0, g.angle])
        p.resetBasePositionAndOrientation(self.body, [g.x, g.y, palm_z], orn, physicsClientId=c)
        p.resetBaseVelocity(self.body, [0, 0, 0], [0, 0, 0], physicsClientId=c)
        closed = (self.spec.max_opening_m - g.opening) / 2  # joint travel already used
        for j in (0, 1):
            p.resetJointState(self.body, j, closed, physicsClientId=c)
        p.changeConstraint(self.constraint, [g.x, g.y, palm_z], orn, maxForce=500, physicsClientId=c)

    def _collision(self) -> int | None:
        """Instance a jaw (or the palm) overlaps by more than 1 mm at the reach pose, if any."""
        p, c = self.p, self.c
        for inst, pl in self.scene.placed.items():
            pts = p.getClosestPoints(self.body, pl.body, 0.0, physicsClientId=c)
            if any(pt[8] < -0.001 for pt in pts):
                return inst
        return None

    # -- trial ---------------------------------------------------------------------------------
    def trial(self, g: PlanarGrasp) -> TrialResult:
        """Execute ``g`` from the saved state; the scene is restored afterwards."""
        p, c, s = self.p, self.c, self.spec
        self.restore()
        surface, target = self.surface_height(g.x, g.y)
        if g.opening > s.max_opening_m or g.opening <= FINGER_T:
            return TrialResult(False, "too_wide", target)
        tip_z = max(surface - s.depth_m, s.floor_clearance_m)
        self._place_open(g, tip_z)
        hit = self._collision()
        if hit is not None:
            self.restore()
            return TrialResult(False, "collision", target, collided_with=hit)
        if target is None:
            self.restore()
            return TrialResult(False, "missed", None)
        body = self.scene.placed[target].body
        z0 = p.getBasePositionAndOrientation(body, physicsClientId=c)[0][2]
        travel = s.max_opening_m / 2
        for j in (0, 1):
            p.setJointMotorControl2(self.body, j, p.POSITION_CONTROL, targetPosition=travel, maxVelocity=0.25,
                                    force=s.grip_force_n, physicsClientId=c)
        for _ in range(s.close_steps):
            p.stepSimulation(physicsClientId=c)
        orn = p.getQuaternionFromEuler([0, 0, g.angle])
        palm_z = tip_z + FINGER_H + 0.01
        for k in range(1, s.lift_steps + 1):
            p.changeConstraint(self.constraint, [g.x, g.y, palm_z + s.lift_m * k / s.lift_steps], orn,
                               maxForce=500, physicsClientId=c)
            p.stepSimulation(physicsClientId=c)
        for _ in range(s.hold_steps):
            p.stepSimulation(physicsClientId=c)
        rise = p.getBasePositionAndOrientation(body, physicsClientId=c)[0][2] - z0
        self.restore()
        ok = rise > s.lift_m / 2
        return TrialResult(ok, "lifted" if ok else "dropped", target, lift_m=float(rise))


def angle_to_world(angle_image: float) -> float:
    """Image angles (counter-clockwise on screen, y down) equal world angles seen from above for
    the overhead camera of :mod:`robopercept.world.camera` (image up = world +y), so this is the
    identity; it exists to make the convention explicit at call sites."""
    return float(angle_image)

