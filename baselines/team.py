"""The paper's agents as the ask/tell method ``"marl"``.

:class:`~cnn_design_env.search.team.TeamSearcher` (any team with ``act``/``learn`` as a searcher)
lives beside the runner in :mod:`cnn_design_env.search.team`; it is re-exported here.
"""

from __future__ import annotations

from typing import Any

from cnn_design_env.search.team import Team, TeamSearcher
from cnn_design_env.space import SearchSpace


def shared_q_searcher(space: SearchSpace, *, seed: int, **kwargs: Any) -> TeamSearcher:
    """The paper's agents (``agents.SharedQAgents(space, seed=seed, **kwargs)``) as method
    ``"marl"``.

    Raises:
        ImportError: If ``agents.SharedQAgents`` cannot be imported.
    """
    try:
        from agents import SharedQAgents
    except ImportError as error:
        raise ImportError("method 'marl' needs the paper's agents, agents.SharedQAgents, which "
                          f"could not be imported: {error}") from error
    return TeamSearcher(space, seed=seed, team=SharedQAgents(space, seed=seed, **kwargs),
                        name="marl")


__all__ = ["Team", "TeamSearcher", "shared_q_searcher"]
