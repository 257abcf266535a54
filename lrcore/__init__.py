"""lrcore: linear regression trained by gradient descent, in pure NumPy.

>>> import lrcore
>>> data = lrcore.make_data()
>>> *_, last = lrcore.train(data.x, data.y, step_size=0.0005, iterations=50_000, every=5000)
>>> why = lrcore.directions(data.x, data.y, step_size=0.0005, iterations=50_000, every=250)
>>> curve = lrcore.sweep(data.x, data.y, step_sizes=[1e-4, 5e-4, 1e-3], iterations=50_000)
"""

from .data import DataError, Dataset, as_dataset, make_data
from .datasets import BUILTINS, Builtin, load_builtin
from .explain import Directions, directions
from .model import Fit, closed_form, condition_number, rounded_step, stable_step_size
from .sweep import Sweep, sweep
from .train import OPTIMIZERS, State, train

__all__ = [
    "BUILTINS",
    "Builtin",
    "DataError",
    "Dataset",
    "Directions",
    "Fit",
    "OPTIMIZERS",
    "State",
    "Sweep",
    "as_dataset",
    "closed_form",
    "condition_number",
    "directions",
    "load_builtin",
    "make_data",
    "rounded_step",
    "stable_step_size",
    "sweep",
    "train",
]
