"""The search runner: one ask -> evaluate -> tell loop, its searcher interface, its seed rule and
the plug-in registry of methods and spaces.

* :mod:`.seeds`: ``SEED_BOUND`` and the one rule drawing evaluation seeds from a run's seed.
* :mod:`.searcher`: :class:`Searcher` (ask/tell) and its optional hooks.
* :mod:`.team`: :class:`~.team.TeamSearcher`, any team with ``act``/``learn`` as a searcher.
* :mod:`.plugins`: methods and spaces from entry points or ``module:factory`` paths.
* :mod:`.runner`: :func:`run`, the in-memory front of the loop (the Python API); on disk the same
  loop runs under :mod:`cnn_design_env.run` (``cnn-design search``/``resume``/``benchmark``).
"""

from __future__ import annotations

from cnn_design_env.search.searcher import Searcher
from cnn_design_env.search.seeds import SEED_BOUND

__all__ = ["SEED_BOUND", "Searcher"]
