"""LossLab: watch optimizers descend loss landscapes.

The scripting API (stable; documented in the README)::

    import simulator as sim
    s = sim.get_surface("rosenbrock")
    run = sim.simulate(s, sim.Adam(lr=0.05), start=(-1.5, 2.0), steps=500)
    run.positions, run.losses, run.status

    scene = sim.load_scene("race")      # a built-in lab, a lab file or a session file
    runs = scene.run()                   # what the app shows for that scene

    lab = sim.load_lab("lr-1d")          # a lab: its steps, their scenes and checks
    lab.steps[2].check(scene, runs)      # -> CheckResult(passed, message)

Everything here is pure numpy + numba (no Qt); the desktop app lives in
``simulator.gui`` and is started with ``losslab``.
"""

from .core.critical_points import CriticalPoint, find_critical_points
from .core.diagnostics import PointAnalysis, analyze_point
from .core.engine import (
    MAX_STEPS,
    STATUSES,
    BatchResult,
    Trajectory,
    simulate,
    simulate_batch,
)
from .core.episodes import SaddleEpisode, describe_episode, saddle_episodes
from .core.expressions import ExpressionError, surface_from_expression
from .core.functions import surface_from_function
from .core.internals import OptimizerState, optimizer_state
from .core.labs import (
    CheckResult,
    Lab,
    LabError,
    Problem,
    Step,
    Task,
    list_labs,
    load_lab,
    validate_lab,
)
from .core.landscape import LossPlane, hessian_eigenvalues, loss_plane, sharpness
from .core.library import get_surface, list_surfaces, surface_parameters
from .core.network import Network, network
from .core.optimizers import (
    ASGD,
    LBFGS,
    OPTIMIZERS,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Lion,
    NAdam,
    Newton,
    Optimizer,
    RAdam,
    RMSprop,
    Rprop,
    optimizer_from_dict,
)
from .core.scene import Lane, Scene, ViewState, load_scene
from .core.schedules import (
    SCHEDULES,
    ChainedScheduler,
    ConstantLR,
    ConstantSchedule,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    Schedule,
    SequentialLR,
    StepLR,
    schedule_from_dict,
)
from .core.surface import Surface
from .export.figures import plot_curves, plot_runs

__version__ = "0.1.0"

__all__ = [
    "MAX_STEPS", "OPTIMIZERS", "SCHEDULES", "STATUSES",
    "SGD", "Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "NAdam", "Newton", "RAdam",
    "RMSprop", "Rprop", "ASGD", "LBFGS", "Lion", "Optimizer", "optimizer_from_dict",
    "ConstantLR", "ConstantSchedule", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
    "CyclicLR", "ExponentialLR", "LinearLR", "MultiStepLR", "OneCycleLR", "Schedule",
    "SequentialLR", "StepLR", "PolynomialLR", "ChainedScheduler", "ReduceLROnPlateau",
    "schedule_from_dict",
    "Surface", "get_surface", "list_surfaces", "surface_parameters",
    "ExpressionError", "surface_from_expression", "surface_from_function",
    "BatchResult", "Trajectory", "simulate", "simulate_batch",
    "OptimizerState", "optimizer_state",
    "CriticalPoint", "PointAnalysis", "SaddleEpisode", "analyze_point", "describe_episode",
    "find_critical_points", "saddle_episodes",
    "Lane", "Scene", "ViewState", "load_scene",
    "plot_curves", "plot_runs",
    "CheckResult", "Lab", "LabError", "Problem", "Step", "Task", "list_labs", "load_lab",
    "validate_lab",
    "Network", "network", "LossPlane", "loss_plane", "sharpness", "hessian_eigenvalues",
]
