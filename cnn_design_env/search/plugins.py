"""The plug-in registry: search methods and spaces found through package entry points.

A package declares its methods and spaces in its ``pyproject.toml``, exactly as this project
declares the paper's agents and the baselines::

    [project.entry-points."cnn_design_env.methods"]
    my_method = "my_package.search:make_searcher"    # factory(space, **options) -> Searcher

    [project.entry-points."cnn_design_env.spaces"]
    my_space = "my_package.spaces:my_space"          # function() -> SearchSpace

and after ``pip install`` its names work wherever a built-in one does (``--method my_method``).
Without installing anything, a ``package.module:attribute`` path names a factory directly
(``--method my_package.search:make_searcher``, ``--space my_package.spaces:my_space``). A method
factory is always called as ``factory(space, seed=seed, **options)``; a space function with no
argument. Only the chosen entry is imported: nothing is built for the other names.

Entry points come from the installed distributions (:func:`importlib.metadata.entry_points`).
When this package runs from a source checkout (its ``pyproject.toml`` beside the package, as
with ``pip install -e .`` or ``PYTHONPATH=.``), the checkout's own declarations are read too and
win for the names they declare, so an edit to them needs no reinstall.

``cnn_design_env`` itself imports no method: the dependency points from ``agents`` and
``baselines`` to this package, never back.

Example:
    >>> "random" in list_methods() and "marl" in list_methods()
    True
    >>> resolve_space("vgg_mini").num_agents
    6
    >>> make_searcher("random", resolve_space("vgg_mini"), seed=0).ask().actions
    (10, 7, 1, 3, 0, 0)
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cnn_design_env.space import SearchSpace

METHODS_GROUP = "cnn_design_env.methods"
SPACES_GROUP = "cnn_design_env.spaces"
PROJECT = "cnn-design-env"


@functools.lru_cache(maxsize=4)
def _checkout_declarations(pyproject: Path) -> dict[str, dict[str, str]]:
    """The entry points the checkout's ``pyproject.toml`` declares, by group."""
    try:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    if project.get("name") != PROJECT:
        return {}
    groups = project.get("entry-points", {})
    return {group: dict(points) for group, points in groups.items() if isinstance(points, dict)}


def checkout_pyproject() -> Path:
    """Where a source checkout keeps its ``pyproject.toml`` (it may not exist)."""
    return Path(__file__).resolve().parents[2] / "pyproject.toml"


def entry_points(group: str) -> dict[str, str]:
    """``name -> "module:attribute"`` of every entry point of ``group``.

    The running checkout's own declarations first (they win over an installed copy of this
    project), then those of the installed distributions.
    """
    found = dict(_checkout_declarations(checkout_pyproject()).get(group, {}))
    for point in importlib.metadata.entry_points(group=group):
        found.setdefault(point.name, point.value)
    return found


def load(path: str, *, what: str) -> Any:
    """The attribute named by ``"package.module:attribute"`` (nested ``a.b`` attributes too).

    Raises:
        ValueError: If the path is malformed, the module cannot be imported or lacks it.
    """
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"{what} {path!r}: expected 'package.module:attribute'")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import the module of {what} {path!r}: {error}") from error
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{what} {path!r}: module {module_name!r} has no {attribute!r}")
        target = getattr(target, part)
    return target


# ------------------------------------------------------------------ methods
def list_methods() -> list[str]:
    """The registered method names, in declaration order."""
    return list(entry_points(METHODS_GROUP))


def _unknown_method(name: str) -> ValueError:
    return ValueError(f"unknown method {name!r}; known methods: {', '.join(list_methods())} "
                      "(or package.module:factory)")


def check_methods(names: Iterable[str]) -> list[str]:
    """``names`` as a list after checking each is registered (or a ``module:factory`` path) and
    none repeats.

    Raises:
        ValueError: On an unknown or repeated name, or no name at all, listing the known ones.
    """
    names = [n.strip() for n in names]
    if not names or not all(names):
        raise ValueError(f"no method given (empty name in {names!r}); known methods: "
                         f"{', '.join(list_methods())}")
    known = entry_points(METHODS_GROUP)
    for name in names:
        if name not in known and ":" not in name:
            raise _unknown_method(name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"methods {repeated} are given more than once")
    return names


def method_factory(method: str) -> Callable[..., Any]:
    """The factory of ``method``: a registered name or a ``package.module:factory`` path.

    Raises:
        ValueError: On an unknown name or a path that cannot be imported.
        ImportError: If a registered method's own module cannot be imported (e.g. a missing
            optional dependency).
    """
    if ":" in method:
        factory = load(method, what="method factory")
    else:
        points = entry_points(METHODS_GROUP)
        if method not in points:
            raise _unknown_method(method)
        module_name, _, attribute = points[method].partition(":")
        factory = importlib.import_module(module_name)
        for part in attribute.split("."):
            factory = getattr(factory, part)
    if not callable(factory):
        raise ValueError(f"method {method!r} names {factory!r}, which is not callable")
    return factory


def make_searcher(method: str, space: SearchSpace, *, seed: int, **options: Any) -> Any:
    """``factory(space, seed=seed, **options)`` of ``method``.

    Raises:
        ValueError: On an unknown method or a factory returning no ask/tell searcher.
        ImportError: If the method's optional dependency is missing (Optuna, ...).
    """
    searcher = method_factory(method)(space, seed=seed, **options)
    if not (callable(getattr(searcher, "ask", None)) and callable(getattr(searcher, "tell",
                                                                           None))):
        raise ValueError(f"method {method!r} built {searcher!r}, which has no ask()/tell()")
    return searcher


def takes_option(method: str, option: str) -> bool:
    """Whether ``method``'s factory takes the keyword ``option`` (e.g. ``budget``: a schedule
    spread over the run's episodes); ``False`` when it cannot be imported."""
    try:
        parameters = inspect.signature(method_factory(method)).parameters
    except (ImportError, ValueError, TypeError):
        return False
    return option in parameters


# ------------------------------------------------------------------- spaces
def list_spaces() -> list[str]:
    """The preset spaces and every registered space, in declaration order."""
    from cnn_design_env.space import list_spaces as presets

    return list(dict.fromkeys([*presets(), *entry_points(SPACES_GROUP)]))


def resolve_space(name: str) -> SearchSpace:
    """The space ``name``: a preset, a registered space or a ``package.module:function`` path.

    Raises:
        ValueError: If ``name`` is none of them (listing the known names) or does not build a
            ``SearchSpace``.
    """
    from cnn_design_env.space import PRESETS

    if not isinstance(name, str) or not name:
        raise ValueError(f"a space name must be a non-empty string, got {name!r}")
    if name in PRESETS:
        return PRESETS[name]()
    points = entry_points(SPACES_GROUP)
    if ":" in name or name in points:
        build = load(points.get(name, name), what="space function")
        space = build() if callable(build) else build
        if not isinstance(space, SearchSpace):
            raise ValueError(f"space {name!r} gave {space!r}, not a SearchSpace")
        return space
    raise ValueError(f"unknown space {name!r}; expected one of {list_spaces()} "
                     "(or package.module:function)")


def install_hint(extra: str) -> str:
    """How to install the optional ``extra``: in a checkout ``pip install -e '.[extra]'``; for
    an installed package the extra's own requirements (the package is not on PyPI).

    Example:
        >>> install_hint("optuna").startswith("pip install")
        True
    """
    if checkout_pyproject().exists():
        return f"pip install -e '.[{extra}]' (in the checkout)"
    try:
        requires = importlib.metadata.requires("cnn-design-env") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    wanted = [r.split(";")[0].strip() for r in requires
              if f'extra == "{extra}"' in r.replace("'", '"')]
    if not wanted:
        return f"install the '{extra}' extra of cnn-design-env"
    return "pip install " + " ".join(f"'{r}'" for r in wanted)


__all__ = ["METHODS_GROUP", "SPACES_GROUP", "check_methods", "checkout_pyproject",
           "entry_points", "install_hint", "list_methods", "list_spaces", "load", "make_searcher",
           "method_factory", "resolve_space", "takes_option"]
