"""The JAX env over the tables: equivalence with the PettingZoo env, jit/vmap, resets, masks."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cnn_design_env
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.jax import TableEnv
from cnn_design_env.reward import Constraint, PaperReward, WeightedReward
from cnn_design_env.tables import list_tables

TABLES = list_tables()
REWARDS = {
    "paper": PaperReward(),
    "paper_no_epoch": PaperReward(c_accuracy=0.5, c_size=0.5, per_epoch=False, penalty=-3.0),
    "weighted": WeightedReward({"accuracy": 1.0, "model_size_mb": -2.0, "epochs_to_threshold":
                                -0.1},
                               constraints=(Constraint("infer_ms_per_batch", maximum=1.6),
                                            Constraint("params", minimum=10_000)),
                               violation_penalty=-0.5),
}


@pytest.fixture(scope="module", params=TABLES)
def env(request) -> TableEnv:
    return TableEnv(request.param)


def act(env: TableEnv, position: int, action: int, *, others: int | None = None) -> dict:
    """Actions where only agent ``position`` acts; the others send ``others`` (default no-op)."""
    fill = env.noop if others is None else others
    return {a: jnp.int32(action if i == position else fill) for i, a in enumerate(env.agents)}


def play(env: TableEnv, design: tuple[int, ...], *, column: int | None = None,
         epochs: int | None = None, key: int = 0):
    """Play ``design`` from a reset; returns the last step's outputs and the states seen."""
    _, state = env.reset(jax.random.key(key))
    if column is not None:
        state = state.replace(column=jnp.int32(column))
    if epochs is not None:
        state = state.replace(epochs=jnp.int32(epochs))
    states = [state]
    for position, action in enumerate(design):
        out = env.step(jax.random.key(key + 1 + position), state, act(env, position, action))
        _obs, state = out[0], out[1]
        states.append(state)
    return out, states


def pettingzoo_episode(table: str, design: tuple[int, ...], *, reward, seed: int,
                       epochs: int | None) -> tuple[float, dict]:
    aec = cnn_design_env.env(table, evaluator=TabularEvaluator(table, seed=seed, epochs=epochs),
                             reward=reward)
    aec.reset(seed=seed)
    for action in design:
        aec.step(action)
    agent = aec.agents[0]
    return aec.rewards[agent], aec.infos[agent]


@pytest.mark.parametrize("reward_name", sorted(REWARDS))
@pytest.mark.parametrize("table", TABLES)
def test_equivalence_with_the_pettingzoo_env(table: str, reward_name: str) -> None:
    reward = REWARDS[reward_name]
    env = TableEnv(table, reward=reward)
    rng = np.random.default_rng(7)
    seeds_seen = set()
    for trial in range(12):
        design = env.space.sample(rng).actions
        epochs = None if trial % 3 else int(rng.integers(1, env.num_epochs + 1))
        pz_reward, info = pettingzoo_episode(table, design, reward=reward, seed=trial,
                                             epochs=epochs)
        recorded = info["metrics"]["extra"]["recorded_seed"]
        column = env.recorded_seeds.index(recorded)
        seeds_seen.add(recorded)
        (_, _, rewards, dones, infos), _ = play(env, design, column=column, epochs=epochs)
        assert bool(dones["__all__"])
        for agent in env.agents:
            assert rewards[agent].dtype == jnp.float32
            assert float(rewards[agent]) == float(np.float32(pz_reward)), (design, agent)
        row = int(infos["design_row"][0])
        assert env.design_of_row(row).actions == tuple(info["design"])
        assert int(infos["recorded_seed"][0]) == recorded
        assert env.metrics(row, column, epochs).to_dict() == info["metrics"]
        pz_metrics = info["metrics"]
        for name, values in infos["metrics"].items():
            if name == "reason":
                assert env.reasons[int(values[0])] == pz_metrics["reason"]
            elif name == "epochs_to_threshold":
                expected = pz_metrics[name]
                assert int(values[0]) == (-1 if expected is None else expected)
            else:
                assert values.dtype != jnp.float64
                assert values[0] == np.asarray(pz_metrics[name]).astype(values.dtype), name
    assert len(seeds_seen) == env.num_seeds  # both recorded seeds were compared


def test_rewards_to_every_agent_only_at_the_end(env: TableEnv) -> None:
    design = tuple(size - 1 for size in env.action_sizes)
    _, state = env.reset(jax.random.key(3))
    for position, action in enumerate(design):
        _obs, state, rewards, dones, infos = env.step(jax.random.key(position), state,
                                                     act(env, position, action))
        last = position == env.num_agents - 1
        assert bool(dones["__all__"]) is last
        assert all(bool(dones[a]) is last for a in env.agents)
        values = {float(r) for r in rewards.values()}
        assert len(values) == 1
        if not last:
            assert values == {0.0}
            assert int(infos["design_row"][0]) == -1
    assert values != {0.0}


def test_only_the_acting_agents_action_counts(env: TableEnv) -> None:
    design = env.space.sample(np.random.default_rng(1)).actions
    obs, state = env.reset(jax.random.key(0))
    _obs2, state2 = obs, state
    for position, action in enumerate(design):
        out = env.step(jax.random.key(position), state, act(env, position, action))
        out2 = env.step(jax.random.key(position), state2, act(env, position, action, others=0))
        for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(out2), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        state, state2 = out[1], out2[1]


def test_automatic_reset(env: TableEnv) -> None:
    design = (0,) * env.num_agents
    (obs, state, *_), states = play(env, design, key=11)
    assert int(state.position) == 0 and int(state.step) == 0 and not bool(state.done)
    assert (np.asarray(state.actions) == -1).all()
    fresh_obs, _ = env.reset(jax.random.key(0))
    for agent in env.agents:
        np.testing.assert_array_equal(np.asarray(obs[agent]), np.asarray(fresh_obs[agent]))
    assert [int(s.step) for s in states[:-1]] == list(range(env.num_agents))


def test_step_with_a_reset_state(env: TableEnv) -> None:
    _, target = env.reset(jax.random.key(5))
    target = target.replace(column=jnp.int32(env.num_seeds - 1), epochs=jnp.int32(2))
    _, state = env.reset(jax.random.key(6))
    for position in range(env.num_agents):
        _, state, *_ = env.step(jax.random.key(position), state, act(env, position, 0),
                                reset_state=target)
    assert int(state.column) == env.num_seeds - 1 and int(state.epochs) == 2


def test_masks(env: TableEnv) -> None:
    _, state = env.reset(jax.random.key(0))
    for position in range(env.num_agents):
        avail = env.get_avail_actions(state)
        assert set(avail) == set(env.agents)
        for i, agent in enumerate(env.agents):
            mask = np.asarray(avail[agent])
            assert mask.dtype == bool and mask.shape == (env.num_actions,)
            if i == position:
                assert mask.tolist() == [j < env.action_sizes[i] for j in range(env.num_actions)]
            else:
                assert np.flatnonzero(mask).tolist() == [env.noop]
        _, state, *_ = env.step(jax.random.key(0), state, act(env, position, 0))


@pytest.mark.parametrize("bad", ["noop", "padding", "negative"])
def test_an_illegal_action_of_the_acting_agent_ends_with_the_penalty(bad: str) -> None:
    env = TableEnv("table_chain", reward=PaperReward(penalty=-2.5))
    action = {"noop": env.noop, "padding": env.action_sizes[0], "negative": -1}[bad]
    _, state = env.reset(jax.random.key(0))
    _obs, state, rewards, dones, infos = env.step(jax.random.key(1), state, act(env, 0, action))
    assert bool(dones["__all__"]) and bool(infos["invalid_action"][0])
    assert {float(r) for r in rewards.values()} == {-2.5}
    assert int(state.position) == 0  # already reset


def test_observations(env: TableEnv) -> None:
    n, sizes = env.num_agents, env.action_sizes
    design = env.space.sample(np.random.default_rng(4)).actions
    obs, state = env.reset(jax.random.key(0))
    k = sum(sizes)
    for position in range(n):
        for j, agent in enumerate(env.agents):
            vector = np.asarray(obs[agent])
            assert vector.dtype == np.float32 and env.observation_space(agent).shape == \
                vector.shape
            blocks = np.split(vector[:k], np.cumsum(sizes)[:-1])
            for i, block in enumerate(blocks):
                expected = np.eye(sizes[i])[design[i]] if i < position else np.zeros(sizes[i])
                np.testing.assert_array_equal(block, expected)
            np.testing.assert_array_equal(vector[k:k + n + 1], np.eye(n + 1)[position])
            np.testing.assert_array_equal(vector[k + n + 1:], np.eye(n)[j])
        obs, state, *_ = env.step(jax.random.key(0), state, act(env, position, design[position]))


def test_spaces_and_interface(env: TableEnv) -> None:
    aec = cnn_design_env.env(env.space, evaluator=env.evaluator)
    assert env.agents == list(aec.possible_agents)     # the same ids as the PettingZoo env
    assert env.num_agents == len(env.agents)
    for agent in env.agents:
        assert env.action_space(agent) is env.action_space(agent)
        assert env.action_space(agent).n == max(env.action_sizes) + 1
        assert env.observation_space(agent).dtype == jnp.float32
        sample = env.action_space(agent).sample(jax.random.key(0))
        assert bool(env.action_space(agent).contains(sample))
    assert sorted(a for group in env.agent_classes.values() for a in group) == sorted(env.agents)


def test_recorded_seed_is_drawn_from_the_key(env: TableEnv) -> None:
    keys = jax.random.split(jax.random.key(0), 64)
    _, states = jax.vmap(env.reset)(keys)
    columns = np.asarray(states.column)
    assert set(columns.tolist()) == set(range(env.num_seeds))
    _, again = jax.vmap(env.reset)(keys)
    np.testing.assert_array_equal(columns, np.asarray(again.column))


def test_jit_and_vmap_match_single_steps(env: TableEnv) -> None:
    num = 16
    rng = np.random.default_rng(2)
    designs = np.stack([env.space.sample(rng).actions for _ in range(num)])
    keys = jax.random.split(jax.random.key(9), num)
    obs, state = jax.jit(jax.vmap(env.reset))(keys)
    step = jax.jit(jax.vmap(env.step))
    for position in range(env.num_agents):
        actions = {a: jnp.asarray(designs[:, i] if i == position else
                                  np.full(num, env.noop), dtype=jnp.int32)
                   for i, a in enumerate(env.agents)}
        obs, state, rewards, dones, infos = step(jax.random.split(keys[0], num), state, actions)
        assert obs[env.agents[0]].shape == (num, env.observation_space(env.agents[0]).shape[0])
        assert infos["metrics"]["accuracy"].shape == (num, env.num_agents)
    assert bool(dones["__all__"].all())
    for i in range(num):
        (_, _, single, _, _), _ = play(env, tuple(designs[i]), key=0,
                                       column=int(jax.vmap(env.reset)(keys)[1].column[i]))
        assert float(single[env.agents[0]]) == float(rewards[env.agents[0]][i])


def test_scan_over_many_episodes_counts_designs(env: TableEnv) -> None:
    num, episodes = 32, 3

    @jax.jit
    def run(key):
        _, state = jax.vmap(env.reset)(jax.random.split(key, num))

        def body(carry, key):
            state, finished = carry
            avail = jax.vmap(env.get_avail_actions)(state)
            actions = {a: jnp.argmax(avail[a], axis=-1) for a in env.agents}
            _, state, _, dones, _ = jax.vmap(env.step)(jax.random.split(key, num), state,
                                                       actions)
            return (state, finished + dones["__all__"].sum()), None

        keys = jax.random.split(key, episodes * env.num_agents)
        (_, finished), _ = jax.lax.scan(body, (state, 0), keys)
        return finished

    assert int(run(jax.random.key(0))) == num * episodes


def test_true_rewards_and_metrics_tree(env: TableEnv) -> None:
    rewards = np.asarray([[env.reward(env.metrics(row, column)) for column in range(
        env.num_seeds)] for row in range(env.num_designs)])
    np.testing.assert_allclose(np.asarray(env.true_rewards), rewards.mean(axis=1), rtol=1e-6)
    tree = jax.jit(env.metrics_tree)(jnp.int32(5), jnp.int32(1))
    assert float(tree["accuracy"]) == np.float32(env.metrics(5, 1).accuracy)
    reward = jax.jit(lambda row: env.reward_fn(env.metrics_tree(row, jnp.int32(0))))
    assert float(reward(jnp.int32(5))) == pytest.approx(rewards[5, 0], rel=1e-5, abs=1e-5)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="epochs must be an integer in"):
        TableEnv("table_chain", epochs=0)
    with pytest.raises(FileNotFoundError, match="no table"):
        TableEnv("no_such_table")
    with pytest.raises(TypeError, match="reward must be callable"):
        TableEnv("table_chain", reward=3)
    env = TableEnv("table_chain")
    with pytest.raises(ValueError, match=r"row must be in \[0, 319\], got 320"):
        env.metrics(320, 0)
    with pytest.raises(ValueError, match=r"epochs must be in \[1, 6\], got 0"):
        env.metrics(0, 0, 0)


def test_other_rewards_are_tabulated_on_the_host() -> None:
    env = TableEnv("table_inception", reward=lambda m: m.accuracy ** 2)
    assert env.reward_fn is None
    (_, _, rewards, _, infos), _ = play(env, (0,) * env.num_agents, column=0)
    row = int(infos["design_row"][0])
    assert float(rewards[env.agents[0]]) == np.float32(env.metrics(row, 0).accuracy ** 2)


def test_import_cnn_design_env_does_not_import_the_jax_env() -> None:
    code = ("import sys, cnn_design_env; cnn_design_env.get_space('table_chain'); "
            "print('cnn_design_env.jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
