"""Registration in Gymnasium's and PettingZoo's registries (run on ``import cnn_design_env``).

Cheap: entry points are strings, so nothing is built and neither JAX nor the env modules are
imported until an env is made.

* Gymnasium: ``gymnasium.make("cnn_design_env/CNNDesign-v0", space=..., evaluator=...)``.
* PettingZoo (1.27+, which has a registry): ``pettingzoo.make("aec",
  "cnn_design_env/cnn_design-v0", space=..., evaluator=...)`` (the wrapped AEC env) and
  ``pettingzoo.make("parallel", "cnn_design_env/cnn_design-v0", ...)`` (every agent at once).
"""

from __future__ import annotations

GYM_ID = "cnn_design_env/CNNDesign-v0"
"""Gymnasium id of :class:`~cnn_design_env.gym_env.CNNDesignGymEnv`."""

PETTINGZOO_ID = "cnn_design_env/cnn_design-v0"
"""PettingZoo id of the AEC env (``"aec"``) and its parallel view (``"parallel"``)."""


def register_envs() -> None:
    """Register the envs in Gymnasium and, where it has a registry, PettingZoo (idempotent)."""
    import gymnasium

    if GYM_ID not in gymnasium.registry:
        gymnasium.register(id=GYM_ID, entry_point="cnn_design_env.gym_env:CNNDesignGymEnv")
    try:
        import pettingzoo
        from pettingzoo import aec_registry, parallel_registry
    except ImportError:  # PettingZoo < 1.27 has no registry
        return
    if PETTINGZOO_ID not in aec_registry:
        pettingzoo.register("aec", PETTINGZOO_ID, entry_point="cnn_design_env.env:env")
    if PETTINGZOO_ID not in parallel_registry:
        pettingzoo.register("parallel", PETTINGZOO_ID,
                            entry_point="cnn_design_env.env:parallel_env")
