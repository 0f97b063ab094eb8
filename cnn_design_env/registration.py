"""Registration in Gymnasium's and PettingZoo's registries, under one id: :data:`ENV_ID`.

The id, the versioned module and ``metadata["name"]`` are spelled alike, as PettingZoo spells its
own envs (``classic/rps_v2``, ``pettingzoo.classic.rps_v2``, ``"rps_v2"``):

* id ``"cnn_design_env/cnn_design_v0"`` in both registries (PettingZoo also accepts
  ``cnn_design-v0``, its normal form);
* module :mod:`cnn_design_env.cnn_design_v0` with ``env``, ``parallel_env`` and ``raw_env``;
* ``metadata["name"] == "cnn_design_v0"`` on the AEC env and on the Gymnasium view.

When registration happens (Gymnasium's convention since 1.0, as ``ale_py`` does it): importing
the versioned module registers the envs in both registries::

    import gymnasium
    import pettingzoo
    from cnn_design_env import cnn_design_v0

    gymnasium.register_envs(cnn_design_v0)          # a no-op that tells linters the import is used
    env = gymnasium.make("cnn_design_env/cnn_design_v0")           # table_chain, tabular rewards
    aec = pettingzoo.make("aec", "cnn_design_env/cnn_design_v0")   # the same defaults

Gymnasium's ``"module:id"`` form imports the module for you:
``gymnasium.make("cnn_design_env.cnn_design_v0:cnn_design_env/cnn_design_v0")``. Importing
``cnn_design_env`` itself imports neither Gymnasium nor PettingZoo (the search space and the reward
are pure); it registers in those of the two registries that are already imported, so
``import gymnasium`` before ``import cnn_design_env`` is enough for Gymnasium. Entry points are
strings: nothing is built and JAX is not imported until an env is made. Registration is
idempotent.
"""

from __future__ import annotations

import sys

ENV_NAME = "cnn_design_v0"
"""``metadata["name"]`` of the envs and the name of the versioned module."""

ENV_ID = f"cnn_design_env/{ENV_NAME}"
"""The id of the env in Gymnasium's and in PettingZoo's registry."""

DEFAULTS = {"space": "table_chain", "evaluator": "tabular"}
"""What ``make(ENV_ID)`` builds with no arguments: a table space and its tabular evaluator."""

_MODULE = f"cnn_design_env.{ENV_NAME}"
_PETTINGZOO_KEY = "cnn_design_env/cnn_design-v0"  # PettingZoo stores ids normalised: _v0 -> -v0


def register_gymnasium() -> None:
    """Register the Gymnasium view under :data:`ENV_ID` (imports Gymnasium; idempotent)."""
    import gymnasium

    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="cnn_design_env.gym_env:CNNDesignGymEnv",
                           kwargs=dict(DEFAULTS))


def register_pettingzoo() -> None:
    """Register the AEC env and its parallel view under :data:`ENV_ID` (imports PettingZoo)."""
    import pettingzoo

    if pettingzoo.aec_registry.get(_PETTINGZOO_KEY) is None:
        pettingzoo.register("aec", ENV_ID, entry_point=f"{_MODULE}:env", kwargs=dict(DEFAULTS))
    if pettingzoo.parallel_registry.get(_PETTINGZOO_KEY) is None:
        pettingzoo.register("parallel", ENV_ID, entry_point=f"{_MODULE}:parallel_env",
                            kwargs=dict(DEFAULTS))


def register_envs() -> None:
    """Register in both registries (imports Gymnasium and PettingZoo; idempotent)."""
    register_gymnasium()
    register_pettingzoo()


def register_loaded() -> None:
    """Register in those of the two registries whose library is already imported.

    Imports nothing: this is what ``import cnn_design_env`` runs, so that the pure parts of the
    package load neither Gymnasium nor PettingZoo.
    """
    if "gymnasium" in sys.modules:
        register_gymnasium()
    if "pettingzoo" in sys.modules:
        register_pettingzoo()
