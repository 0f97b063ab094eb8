"""Observation encodings and agent ids shared by the env views (pure: NumPy, no PettingZoo).

Three encodings of the same information, chosen by the envs' ``observation`` argument:

* ``"dict"`` (default): ``{"observation": int64 vector, "action_mask": int8, "agent": int}``;
  the vector is :meth:`~cnn_design_env.episode.DesignEpisode.observation` (``action + 1`` per
  decided agent, 0 if undecided, then the acting index), ``"agent"`` the observer's index.
* ``"flat"``: one ``float32`` vector (:class:`FlatEncoder`): the one-hot of each decided action
  (``|A_i|`` entries per agent, all 0 while undecided), the one-hot of the acting agent (``N + 1``
  entries, the last one once the design is complete) and the one-hot of the observing agent
  (``N`` entries). The mask is in ``info["action_mask"]``. Every library that takes a ``Box``
  takes it as it is.
* ``"flat_dict"``: ``{"observation": the flat vector, "action_mask": int8}`` for libraries that
  read a mask key (AgileRL, TorchRL, Tianshou).

:func:`agent_ids` names the env's agents ``<kind>_<k>`` (``conv_0``, ``pool_0``, ``dense_0``,
``train_0``), PettingZoo's naming: no id can clash with a framework's attribute (``train``,
``eval``, ``forward``), and libraries that group agents by prefix group them by layer kind.

Example:
    >>> from cnn_design_env.space import get_space
    >>> space = get_space("vgg_mini")
    >>> agent_ids(space)
    ('conv_0', 'conv_1', 'pool_0', 'conv_2', 'pool_1', 'dense_0')
    >>> encoder = FlatEncoder(space)
    >>> encoder.size, int(sum(space.action_sizes))       # 43 + (6 + 1) + 6
    (56, 43)
    >>> vector = encoder.encode((3,), observer=1)
    >>> np.flatnonzero(vector).tolist()                  # conv1 = 3, conv2 acts, conv2 observes
    [3, 44, 51]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from cnn_design_env.space import SearchSpace

OBSERVATIONS = ("dict", "flat", "flat_dict")
"""Accepted values of the envs' ``observation`` argument."""


def agent_ids(space: SearchSpace) -> tuple[str, ...]:
    """The env's agent ids, in agent order: ``<layer kind>_<k>``, ``k`` counted per kind.

    ``space.agents[i]`` is the layer behind ``agent_ids(space)[i]``.
    """
    seen: Counter[str] = Counter()
    ids = []
    for name in space.agents:
        kind = space.by_name[name].kind
        ids.append(f"{kind}_{seen[kind]}")
        seen[kind] += 1
    return tuple(ids)


def check_observation(observation: str) -> str:
    """``observation`` if it is one of :data:`OBSERVATIONS`.

    Raises:
        ValueError: Naming the value and the accepted ones.
    """
    if observation not in OBSERVATIONS:
        raise ValueError(f"unknown observation {observation!r}; expected one of {OBSERVATIONS}")
    return observation


class FlatEncoder:
    """The ``"flat"`` encoding of a (partial) design seen by one agent.

    Args:
        space: The search space.

    Attributes:
        size: Length of the vector: ``sum |A_i| + (N + 1) + N``.
    """

    def __init__(self, space: SearchSpace) -> None:
        sizes = np.asarray(space.action_sizes, dtype=np.int64)
        n = len(sizes)
        self._offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self._acting = int(sizes.sum())
        self._observer = self._acting + n + 1
        self.size = self._observer + n

    def encode(self, actions: Sequence[int], observer: int) -> np.ndarray:
        """A new ``float32`` vector for the decided ``actions`` seen by agent ``observer``."""
        vector = np.zeros(self.size, dtype=np.float32)
        k = len(actions)
        if k:
            vector[self._offsets[:k] + np.asarray(actions, dtype=np.int64)] = 1.0
        vector[self._acting + k] = 1.0
        vector[self._observer + observer] = 1.0
        return vector
