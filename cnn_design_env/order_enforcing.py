"""``OrderEnforcing``: PettingZoo's order checks, without the cost of attribute forwarding.

PettingZoo's stock ``OrderEnforcingWrapper`` reaches every attribute of the wrapped env through
``__getattr__``, which Python runs only after a failed normal lookup (an ``AttributeError``
raised and caught): ``last()`` reads five such attributes and ``agent_iter`` two per agent, so
the wrapper tripled the cost of a ``vgg16`` episode (``benchmarks/env_overhead.py``). This wrapper
makes the same checks, with the same messages (PettingZoo's ``EnvLogger``), and reads the AEC
bookkeeping (``agents``, ``agent_selection``, ``rewards``, ...) through plain properties.

It is a PettingZoo ``BaseWrapper`` (the documented base of AEC wrappers) and uses only the public
AEC API of the env it wraps; it stacks with any other wrapper.

The checks:

* before :meth:`reset`: ``AttributeError`` on ``agents``, ``agent_selection``, ``rewards``,
  ``terminations``, ``truncations``, ``infos``, ``num_agents``; ``AssertionError`` (PettingZoo's
  message) on ``step``, ``observe``, ``state``, ``render``, ``agent_iter``, ``last``;
* a warning (PettingZoo's) on ``step`` once every agent is done, and nothing is stepped;
* ``agent_iter`` asserts one ``step()`` per iteration.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pettingzoo import AECEnv
from pettingzoo.utils.env_logger import EnvLogger
from pettingzoo.utils.wrappers import BaseWrapper

__all__ = ["OrderEnforcing"]


_CHECKED = frozenset({"agents", "agent_selection", "rewards", "terminations", "truncations",
                      "infos", "num_agents"})


def _checked(name: str) -> property:
    def get(self: OrderEnforcing) -> Any:
        if not self._has_reset:
            raise AttributeError(f"{name} cannot be accessed before reset")
        return getattr(self.env, name)

    return property(get, doc=f"``{name}`` of the wrapped env (an AttributeError before reset).")


class OrderEnforcing(BaseWrapper):
    """Checks that an AEC env is reset before use and stepped once per ``agent_iter`` turn.

    Args:
        env: The AEC env to wrap.

    Example:
        >>> from cnn_design_env import cnn_design_v0
        >>> env = cnn_design_v0.env(space="table_chain", evaluator="tabular")
        >>> type(env).__name__, env.unwrapped.metadata["name"]
        ('OrderEnforcing', 'cnn_design_v0')
        >>> env.agents
        Traceback (most recent call last):
        ...
        AttributeError: agents cannot be accessed before reset
    """

    agents = _checked("agents")
    agent_selection = _checked("agent_selection")
    rewards = _checked("rewards")
    terminations = _checked("terminations")
    truncations = _checked("truncations")
    infos = _checked("infos")
    num_agents = _checked("num_agents")

    def __init__(self, env: AECEnv) -> None:
        super().__init__(env)
        self._has_reset = False
        self._has_updated = False

    def __getattr__(self, name: str) -> Any:
        # Python falls back to __getattr__ when a property raises AttributeError: keep the message.
        if name in _CHECKED and not self._has_reset:
            raise AttributeError(f"{name} cannot be accessed before reset")
        return super().__getattr__(name)

    @property
    def possible_agents(self) -> list[str]:
        """``possible_agents`` of the wrapped env."""
        return self.env.possible_agents

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Reset the wrapped env."""
        self._has_reset = True
        self._has_updated = True
        self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> None:
        """Step the wrapped env; warn (and step nothing) once every agent is done."""
        if not self._has_reset:
            EnvLogger.error_step_before_reset()
        self._has_updated = True
        if not self.env.agents:
            EnvLogger.warn_step_after_terminated_truncated()
            return
        self.env.step(action)

    def last(self, observe: bool = True) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """``last()`` of the wrapped env."""
        if not self._has_reset:
            EnvLogger.error_observe_before_reset()
        return self.env.last(observe)

    def observe(self, agent: str) -> Any:
        """``observe(agent)`` of the wrapped env."""
        if not self._has_reset:
            EnvLogger.error_observe_before_reset()
        return self.env.observe(agent)

    def state(self) -> Any:
        """``state()`` of the wrapped env."""
        if not self._has_reset:
            EnvLogger.error_state_before_reset()
        return self.env.state()

    def render(self) -> Any:
        """``render()`` of the wrapped env."""
        if not self._has_reset:
            EnvLogger.error_render_before_reset()
        return self.env.render()

    def agent_iter(self, max_iter: int = 2**63) -> Iterator[str]:
        """The acting agents until every agent is done, asserting a ``step()`` per turn."""
        if not self._has_reset:
            EnvLogger.error_agent_iter_before_reset()
        return _AgentIterator(self, max_iter)

    def __str__(self) -> str:
        return str(self.env)


class _AgentIterator:
    def __init__(self, wrapper: OrderEnforcing, max_iter: int) -> None:
        self._wrapper = wrapper
        self._env = wrapper.env
        self._left = max_iter

    def __iter__(self) -> _AgentIterator:
        return self

    def __next__(self) -> str:
        env = self._env
        if not env.agents or self._left <= 0:
            raise StopIteration
        self._left -= 1
        wrapper = self._wrapper
        assert wrapper._has_updated, "need to call step() or reset() in a loop over `agent_iter`"
        wrapper._has_updated = False
        return env.agent_selection
