"""Jittable action and observation spaces, as JaxMARL's (and gymnax's) ``spaces`` define them.

Same attributes and methods as ``jaxmarl.environments.spaces.Discrete`` / ``Box`` (``n``,
``shape``, ``dtype``, ``sample(key)``, ``contains(x)``), so code written for JaxMARL envs reads
ours unchanged, without importing JaxMARL.

Example:
    >>> import jax
    >>> space = Discrete(3)
    >>> bool(space.contains(space.sample(jax.random.key(0)))), space.n
    (True, 3)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array


class Discrete:
    """``{0, ..., num_categories - 1}``.

    Args:
        num_categories: ``n``, at least 1.
        dtype: Dtype of samples.

    Raises:
        ValueError: If ``num_categories < 1``.
    """

    def __init__(self, num_categories: int, dtype: jnp.dtype = jnp.int32) -> None:
        if num_categories < 1:
            raise ValueError(f"a Discrete space needs at least 1 category, got {num_categories}")
        self.n = int(num_categories)
        self.shape: tuple[int, ...] = ()
        self.dtype = dtype

    def sample(self, key: Array) -> Array:
        """A uniform category."""
        return jax.random.randint(key, self.shape, 0, self.n).astype(self.dtype)

    def contains(self, x: Array) -> Array:
        """Whether ``x`` is a category."""
        return jnp.logical_and(x >= 0, x < self.n)

    def __repr__(self) -> str:
        return f"Discrete({self.n})"


class Box:
    """An array of ``shape`` with entries in ``[low, high]``.

    Args:
        low: Lower bound.
        high: Upper bound.
        shape: Array shape.
        dtype: Dtype of samples.
    """

    def __init__(self, low: float, high: float, shape: tuple[int, ...],
                 dtype: jnp.dtype = jnp.float32) -> None:
        self.low, self.high = low, high
        self.shape = tuple(shape)
        self.dtype = dtype

    def sample(self, key: Array) -> Array:
        """A uniform point of the box."""
        return jax.random.uniform(key, self.shape, minval=self.low,
                                  maxval=self.high).astype(self.dtype)

    def contains(self, x: Array) -> Array:
        """Whether every entry of ``x`` is within the bounds."""
        return jnp.logical_and(jnp.all(x >= self.low), jnp.all(x <= self.high))

    def __repr__(self) -> str:
        return f"Box({self.low}, {self.high}, {self.shape}, {jnp.dtype(self.dtype).name})"


__all__ = ["Box", "Discrete"]
