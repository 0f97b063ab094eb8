"""What the search loop asks of a searcher beyond ask/tell: batching, phase, convergence.

**Batching.** A searcher may be asked another design while ``pending`` asked designs are not yet
told only when that gives the same kind of decision it would make sequentially. The loop keeps up
to ``K`` designs in flight only while :func:`can_ask_ahead` says so, and tells results in ask
order, so a run is a deterministic function of its seed and ``K`` (never of timing):

* a searcher's own ``can_ask_ahead(pending) -> bool`` hook wins when it has one;
* random search, regularized evolution (asynchronous, as in Real et al.) and NSGA-II (a
  generation is a batch) always can;
* TPE can when its sampler uses a *constant liar* (running trials count as bad results), else
  not (it would propose near-duplicates);
* a team (``TeamSearcher``: the paper's agents) can during its exploration phase, while every
  design in flight will also be *told* in exploration (``episodes + pending <
  exploration_episodes``): every exploration action is random (Algorithm 1 picks unvisited
  cells; with designs in flight two may pick the same cell, as in any asynchronous batch);
  the exploration-exploitation phase is sequential;
* anything else (MetaQNN Q-learning, GP, unknown searchers) is sequential.

With ``K = 1`` nothing is ever asked ahead: the team plays exactly the AEC env's episodes.
"""

from __future__ import annotations

import math
from typing import Any

ALWAYS_BATCH = ("RandomSearch", "RegularizedEvolution", "NSGA2Searcher")
"""Searcher classes that can always be asked ahead."""


def team_of(searcher: Any) -> Any | None:
    """The team a ``TeamSearcher`` drives (``None`` for other searchers)."""
    team = getattr(searcher, "team", None)
    return team if team is not None and hasattr(team, "act") else None


def can_ask_ahead(searcher: Any, pending: int) -> bool:
    """Whether ``searcher`` may be asked a design while ``pending`` are in flight.

    Example:
        >>> from cnn_design_env.space import get_space
        >>> from baselines import make_searcher
        >>> space = get_space("vgg_mini")
        >>> can_ask_ahead(make_searcher("random", space, seed=0), 3)
        True
        >>> marl = make_searcher("marl", space, seed=0, exploration_episodes=2)
        >>> can_ask_ahead(marl, 1), can_ask_ahead(marl, 2)
        (True, False)
    """
    if pending <= 0:
        return True
    hook = getattr(searcher, "can_ask_ahead", None)
    if callable(hook):
        return bool(hook(pending))
    team = team_of(searcher)
    if team is not None:
        explore = getattr(team, "exploration_episodes", None)
        episodes = getattr(team, "episodes", None)
        return explore is not None and episodes is not None and episodes + pending < explore
    names = {cls.__name__ for cls in type(searcher).__mro__}
    if names & set(ALWAYS_BATCH):
        return True
    if "TPESearcher" in names:
        sampler = getattr(getattr(searcher, "study", None), "sampler", None)
        return bool(getattr(sampler, "_constant_liar", False))
    return False


def phase_of(searcher: Any) -> tuple[str, float]:
    """``(phase, epsilon)`` of the searcher's next design (``("", nan)`` if it has none)."""
    team = team_of(searcher)
    source = team if team is not None else searcher
    phase = getattr(source, "phase", "")
    epsilon = getattr(source, "epsilon", math.nan)
    if callable(epsilon):  # MetaQNN's schedule object: epsilon of the next episode
        episodes = getattr(source, "episodes", 0)
        epsilon = epsilon(episodes)
    try:
        epsilon = float(epsilon)
    except (TypeError, ValueError):
        epsilon = math.nan
    return (phase if isinstance(phase, str) else ""), epsilon


def converged(searcher: Any) -> tuple[bool, tuple[int, ...] | None, int | None]:
    """``(converged, design, episode)`` for a team that reports convergence."""
    team = team_of(searcher)
    if team is None or not getattr(team, "converged", False):
        return False, None, None
    design = team.converged_design
    return True, tuple(design.actions), getattr(team, "converged_episode", None)


def greedy_design(searcher: Any) -> tuple[int, ...] | None:
    """The design the searcher would play greedily now (teams and Q-learning), else ``None``."""
    team = team_of(searcher)
    for source, name in ((team, "greedy_design"), (searcher, "greedy")):
        method = getattr(source, name, None) if source is not None else None
        if callable(method):
            return tuple(int(a) for a in method())
    return None


__all__ = ["ALWAYS_BATCH", "can_ask_ahead", "converged", "greedy_design", "phase_of", "team_of"]
