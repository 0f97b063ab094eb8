"""``TrainerSettings``: everything process-wide the trainer used to change, as one frozen value.

The XLA compiler options, the persistent program store and the sizes of the in-memory program
caches are explicit settings handed to a :class:`~cnn_design_env.evaluators.training.
TrainingEvaluator` (or to :func:`cnn_design_env.train.loop.compile_steps`): no module global is
changed at run time, and constructing an evaluator switches nothing on for the process.

Example:
    >>> settings = TrainerSettings(cache_dir=None, xla_options={})
    >>> settings.options("cpu"), settings.store() is None
    ({}, True)
    >>> TrainerSettings(form="fast")
    Traceback (most recent call last):
    ...
    ValueError: TrainerSettings.form must be one of ('auto', 'exact', 'masked'), got 'fast'
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnn_design_env.train.compiler import compiler_options
from cnn_design_env.train.costmodel import CostModel
from cnn_design_env.train.jaxcache import ProgramStore, default_cache_dir

FORMS = ("auto", "exact", "masked")
"""How a design is trained: its own program, a masked program of its shape signature, or
chosen per design by the static cost model (:mod:`cnn_design_env.train.costmodel`)."""
DEFAULT = "default"
"""``cache_dir`` value meaning :func:`~cnn_design_env.train.jaxcache.default_cache_dir`."""


@dataclass(frozen=True)
class TrainerSettings:
    """Immutable settings of the trainer's compilation and program caches.

    Attributes:
        xla_options: Compiler options as ``(name, value)`` pairs (a mapping is accepted);
            ``None``: the trainer's defaults for the backend
            (:func:`~cnn_design_env.train.compiler.compiler_options`), ``{}``: XLA's.
        cache_dir: Directory of the persistent :class:`~cnn_design_env.train.jaxcache.
            ProgramStore`; ``"default"`` for :func:`~cnn_design_env.train.jaxcache.
            default_cache_dir`, ``None`` for no persistent store.
        compiled_cache_size: Compiled programs kept in memory per evaluator.
        layer_cache_size: Per-layer programs kept in memory (``compile="layer"``).
        form: ``"exact"``, ``"masked"`` or ``"auto"`` (see :data:`FORMS`).
        masked_compile: How the masked form of one design compiles: ``"network"`` (one
            program per envelope), ``"layer"`` (per-layer programs of the envelope, shared by
            every envelope with that layer: a new signature rarely compiles anything) or
            ``"auto"`` (layer-wise for small envelopes on a CPU,
            :func:`~cnn_design_env.train.loop.resolve_compile`). Groups of
            ``evaluate_many`` always compile one program per envelope.
        group_size: Most designs trained together in one ``vmap`` by ``evaluate_many``.
        costs: The static :class:`~cnn_design_env.train.costmodel.CostModel` that picks the
            form with ``form="auto"`` (calibrated constants, nothing measured at run time, so
            the choice is reproducible on any load and with any cache state).

    Raises:
        ValueError: On an unknown form or a size below 1.
    """

    xla_options: tuple[tuple[str, Any], ...] | Mapping[str, Any] | None = None
    cache_dir: str | Path | None = DEFAULT
    compiled_cache_size: int = 32
    layer_cache_size: int = 2048
    form: str = "auto"
    masked_compile: str = "auto"
    group_size: int = 4
    costs: CostModel = field(default_factory=CostModel)

    def __post_init__(self) -> None:
        if isinstance(self.xla_options, Mapping):
            object.__setattr__(self, "xla_options", tuple(sorted(self.xla_options.items())))
        elif self.xla_options is not None:
            object.__setattr__(self, "xla_options", tuple(tuple(p) for p in self.xla_options))
        if self.form not in FORMS:
            raise ValueError(f"TrainerSettings.form must be one of {FORMS}, got {self.form!r}")
        if self.masked_compile not in ("auto", "network", "layer"):
            raise ValueError("TrainerSettings.masked_compile must be one of ('auto', 'network', "
                             f"'layer'), got {self.masked_compile!r}")
        for name in ("compiled_cache_size", "layer_cache_size", "group_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainerSettings.{name} must be an integer >= 1, "
                                 f"got {value!r}")
        if not isinstance(self.costs, CostModel):
            raise ValueError(f"TrainerSettings.costs must be a CostModel, got {self.costs!r}")
        if self.cache_dir is not None and self.cache_dir != DEFAULT:
            object.__setattr__(self, "cache_dir", str(Path(self.cache_dir).expanduser()))

    @classmethod
    def resolve(cls, settings: TrainerSettings | None = None, *,
                persistent_cache: bool | None = None, cache_dir: str | Path | None = None,
                compiled_cache_size: int | None = None, form: str | None = None
                ) -> TrainerSettings:
        """``settings``, or settings built from the evaluator's shorthand options (not both).

        Raises:
            ValueError: If ``settings`` and a shorthand are both given.
        """
        shorthands = {"persistent_cache": persistent_cache, "cache_dir": cache_dir,
                      "compiled_cache_size": compiled_cache_size, "form": form}
        given = [k for k, v in shorthands.items() if v is not None]
        if settings is not None:
            if given:
                raise ValueError(f"give either settings or {given}, not both")
            return settings
        kwargs: dict[str, Any] = {
            "cache_dir": None if persistent_cache is False else (cache_dir or DEFAULT)}
        if compiled_cache_size is not None:
            kwargs["compiled_cache_size"] = compiled_cache_size
        if form is not None:
            kwargs["form"] = form
        return cls(**kwargs)

    def options(self, backend: str | None = None) -> dict[str, Any]:
        """The compiler options for ``backend`` (default: JAX's default backend)."""
        if self.xla_options is None:
            return compiler_options(backend)
        return dict(self.xla_options)

    def store(self) -> ProgramStore | None:
        """The persistent program store of :attr:`cache_dir` (one object per directory)."""
        if self.cache_dir is None:
            return None
        path = default_cache_dir() if self.cache_dir == DEFAULT else Path(self.cache_dir)
        return _store(str(path))


@functools.lru_cache(maxsize=16)
def _store(path: str) -> ProgramStore:
    return ProgramStore(path)


def compile_with(settings: TrainerSettings | None, lowered: Any) -> Any:
    """``lowered`` compiled under ``settings`` (its options, through its store if any)."""
    settings = settings or TrainerSettings(cache_dir=None)
    options = settings.options()
    store = settings.store()
    if store is None:
        from cnn_design_env.train.compiler import compile_lowered

        return compile_lowered(lowered, options)
    return store.compile(lowered, options)
