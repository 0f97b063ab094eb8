"""Issue 15.4/15.5 and 18.4: one id in both registries, the versioned module, a pure core.

Each check runs in a fresh interpreter, so that what an import loads is what ``sys.modules``
shows."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("gymnasium", "pettingzoo", "jax")


def run(code: str) -> None:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", ["cnn_design_env", "cnn_design_env.space",
                                    "cnn_design_env.reward", "cnn_design_env.observations",
                                    "cnn_design_env.episode", "cnn_design_env.registration",
                                    "agents.qtables"])
def test_the_pure_core_loads_no_pettingzoo_gymnasium_or_jax(module):
    run(f"import sys, {module}\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        f"assert not loaded, f'import {module} loaded {{loaded}}'\n")


def test_the_versioned_module_registers_one_id_in_both_registries():
    run("import gymnasium, pettingzoo\n"
        "from cnn_design_env import cnn_design_v0\n"
        "from cnn_design_env.registration import ENV_ID, ENV_NAME\n"
        "assert ENV_ID == 'cnn_design_env/cnn_design_v0' and ENV_NAME == 'cnn_design_v0'\n"
        "assert cnn_design_v0.__name__.rsplit('.', 1)[1] == ENV_NAME\n"
        "gymnasium.register_envs(cnn_design_v0)\n"
        "gym = gymnasium.make(ENV_ID)\n"  # no arguments: the table space, tabular rewards
        "assert gym.unwrapped.space.name == 'table_chain'\n"
        "assert gym.unwrapped.metadata['name'] == ENV_NAME == gym.spec.name\n"
        "aec = pettingzoo.make('aec', ENV_ID)\n"
        "assert aec.metadata['name'] == ENV_NAME and aec.unwrapped.space.name == 'table_chain'\n"
        "par = pettingzoo.make('parallel', ENV_ID)\n"
        "assert set(par.reset(seed=0)[0]) == set(aec.possible_agents)\n")


def test_gymnasium_module_syntax_imports_the_env_module():
    run("import gymnasium, sys\n"
        "env = gymnasium.make('cnn_design_env.cnn_design_v0:cnn_design_env/cnn_design_v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "assert env.unwrapped.space.name == 'table_chain' and info['action_mask'].any()\n")


def test_import_registers_where_the_library_is_already_imported():
    run("import sys, gymnasium, cnn_design_env\n"
        "assert 'cnn_design_env/cnn_design_v0' in gymnasium.registry\n"
        "assert 'pettingzoo' not in sys.modules and 'jax' not in sys.modules\n"
        "assert 'cnn_design_env.gym_env' not in sys.modules, 'registration built the env'\n")
    run("import sys, pettingzoo, cnn_design_env\n"
        "assert 'cnn_design_env/cnn_design-v0' in pettingzoo.aec_registry\n"
        "assert 'cnn_design_env/cnn_design-v0' in pettingzoo.parallel_registry\n"
        "assert 'cnn_design_env.cnn_design' not in sys.modules, 'registration built the env'\n")


def test_the_package_factories_need_no_module_tricks():
    run("import cnn_design_env, types\n"
        "from cnn_design_env import cnn_design_v0\n"
        "assert cnn_design_env.env is cnn_design_v0.env\n"
        "assert type(cnn_design_v0) is types.ModuleType\n"
        "e = cnn_design_env.env('table_chain', evaluator='tabular')\n"
        "p = cnn_design_env.parallel_env('table_chain', evaluator='tabular')\n"
        "r = cnn_design_env.raw_env('table_chain', evaluator='tabular')\n"
        "names = {e.metadata['name'], p.metadata['name'], r.metadata['name']}\n"
        "assert names == {'cnn_design_v0'}, names\n")
