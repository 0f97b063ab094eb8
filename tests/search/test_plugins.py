"""The plug-in registry: entry points (installed or declared in the checkout) and
``module:factory`` paths; the searcher hooks the runner reads."""

from __future__ import annotations

import importlib.metadata
import math
import sys
import tomllib
from pathlib import Path

import pytest

from cnn_design_env.search import plugins
from cnn_design_env.search.searcher import Searcher, can_ask_ahead, convergence, next_phase
from cnn_design_env.space import Design, get_space

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = '''
from cnn_design_env.space import Design, get_space


class Ones:
    name = "ones"

    def __init__(self, space, *, seed, value=1):
        self.space, self.value = space, value

    def ask(self):
        return Design((self.value,) * self.space.num_agents)

    def tell(self, design, reward, metrics=None):
        pass


def space():
    return get_space("vgg_mini")


def not_a_searcher(space, *, seed):
    return object()
'''


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A third-party distribution on ``sys.path`` (a module and its ``.dist-info`` with
    ``entry_points.txt``), found by ``importlib.metadata`` as any installed package."""
    (tmp_path / "third_party_plugin.py").write_text(PLUGIN)
    info = tmp_path / "third_party_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: third-party-plugin\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[cnn_design_env.methods]\nones = third_party_plugin:Ones\n\n"
        "[cnn_design_env.spaces]\nthird_space = third_party_plugin:space\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield
    sys.modules.pop("third_party_plugin", None)


def test_an_installed_package_plugs_in_a_method_and_a_space(installed) -> None:
    assert "ones" in plugins.list_methods() and "third_space" in plugins.list_spaces()
    space = plugins.resolve_space("third_space")
    searcher = plugins.make_searcher("ones", space, seed=0, value=2)
    assert searcher.ask() == Design((2,) * 6)
    assert plugins.check_methods(["random", "ones"]) == ["random", "ones"]


def test_the_checkout_declares_every_method_and_space_of_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    methods = declared[plugins.METHODS_GROUP]
    assert list(methods)[:3] == ["random", "evolution", "tpe"] and "marl" in methods
    for name, target in methods.items():
        assert plugins.entry_points(plugins.METHODS_GROUP)[name] == target
    assert set(declared[plugins.SPACES_GROUP]) <= set(plugins.list_spaces())
    for name in declared[plugins.SPACES_GROUP]:  # every declared space builds
        assert plugins.resolve_space(name).name == name


def test_entry_points_from_metadata_alone(monkeypatch) -> None:
    """Without a checkout (an installed package), the metadata is the registry."""
    monkeypatch.setattr(plugins, "checkout_pyproject", lambda: Path("/nonexistent/x.toml"))
    point = importlib.metadata.EntryPoint("mine", "baselines.random_search:RandomSearch",
                                          plugins.METHODS_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [point] if group == plugins.METHODS_GROUP else [])
    assert plugins.list_methods() == ["mine"]
    assert type(plugins.make_searcher("mine", get_space("vgg_mini"), seed=0)).__name__ \
        == "RandomSearch"
    assert plugins.install_hint("optuna").startswith("pip install")
    assert "-e" not in plugins.install_hint("optuna")


def test_install_hint_in_a_checkout() -> None:
    assert plugins.install_hint("optuna") == "pip install -e '.[optuna]' (in the checkout)"


def test_paths_and_errors(installed) -> None:
    space = plugins.resolve_space("cnn_design_env.space.presets:vgg_mini")
    assert space.name == "vgg_mini"
    searcher = plugins.make_searcher("baselines.random_search:RandomSearch", space, seed=0)
    assert space.validate(searcher.ask())
    with pytest.raises(ValueError, match="unknown method 'bogus'; known methods: random"):
        plugins.method_factory("bogus")
    with pytest.raises(ValueError, match="cannot import the module"):
        plugins.method_factory("no_such_module_x:factory")
    with pytest.raises(ValueError, match="has no 'nothing'"):
        plugins.resolve_space("cnn_design_env.space.presets:nothing")
    with pytest.raises(ValueError, match="not a SearchSpace"):
        plugins.resolve_space("cnn_design_env.space.presets:list_spaces")
    with pytest.raises(ValueError, match="unknown space 'nowhere'"):
        plugins.resolve_space("nowhere")
    with pytest.raises(ValueError, match="no ask"):
        plugins.make_searcher("third_party_plugin:not_a_searcher", space, seed=0)


def test_hooks_default_and_duck_typed() -> None:
    class Plain:  # no hooks at all
        def ask(self):
            return Design((0,) * 6)

        def tell(self, design, reward, metrics=None):
            pass

    plain = Plain()
    assert can_ask_ahead(plain, 0) and not can_ask_ahead(plain, 1)
    phase, epsilon = next_phase(plain)
    assert phase == "" and math.isnan(epsilon)
    assert convergence(plain) == (False, None, None)
    assert Searcher.can_ask_ahead is not None
    space = get_space("vgg_mini")
    assert can_ask_ahead(plugins.make_searcher("random", space, seed=0), 5)
    assert can_ask_ahead(plugins.make_searcher("evolution", space, seed=0), 5)
    assert not can_ask_ahead(plugins.make_searcher("qlearning", space, seed=0), 1)
    assert next_phase(plugins.make_searcher("qlearning", space, seed=0))[1] == 1.0


def test_no_class_name_lists_or_private_optuna_fields() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "cnn_design_env").rglob("*.py"))
    for banned in ("_constant_liar", "ALWAYS_BATCH", '"TPESearcher"', "__mro__"):
        assert banned not in source, banned
