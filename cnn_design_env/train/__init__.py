"""Training: data sets, the design -> network builder, the JAX training loop, early termination.

Modules (JAX is imported only by the ones that need it, on first use):

* :mod:`.data`: data sets (NumPy): ``digits``, ``shapes``, CIFAR, IDX, ``.npz``, image folders.
* :mod:`.model`: :func:`build_network`: a design as a pure JAX function with NumPy initialisation.
* :mod:`.nnx_module`: :func:`to_nnx`: the same network as a Flax NNX module.
* :mod:`.loop`: Optax optimisers, losses, compiled train/eval steps, the Python batch loop.
* :mod:`.termination`: early-termination rules and automatic epochs per episode (pure logic).
* :mod:`.augment`: seeded shift / flip / rotation of batches (NumPy).
* :mod:`.masked`: a design inside its shape signature's envelope (one program per signature).
* :mod:`.group`, :mod:`.grouprun`: K replicas (designs or seeds) in one ``vmap`` ed step.
* :mod:`.costmodel`: exact or masked, per design.
* :mod:`.settings`: :class:`TrainerSettings`, the frozen compiler and cache settings.
* :mod:`.jaxcache`: :class:`ProgramStore`, compiled programs on disk.

The evaluator tying them together is :class:`cnn_design_env.evaluators.training.TrainingEvaluator`.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Dataset": "data", "get_dataset": "data",
    "Network": "model", "build_network": "model",
    "NetworkModule": "nnx_module", "to_nnx": "nnx_module",
    "make_optimizer": "loop", "make_loss": "loop",
    "TerminationConfig": "termination", "TerminationMonitor": "termination",
    "EpochSchedule": "termination", "Verdict": "termination",
    "Augmentation": "augment",
    "TrainerSettings": "settings", "ProgramStore": "jaxcache",
    "embedding": "masked", "CostModel": "costmodel",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
