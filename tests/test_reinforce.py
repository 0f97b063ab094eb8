"""The JAX REINFORCE team, driven through the real AEC env loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import FixtureEvaluator

import cnn_design_env
from agents.reinforce import ReinforceTeam, edge_logits, mlp_logits
from cnn_design_env.episode import observation_nvec
from cnn_design_env.space import Design, get_space


def play(team: ReinforceTeam, episodes: int, *, space: str = "vgg_mini", pad_actions: bool = False,
         seed: int = 0) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Run ``episodes`` episodes of the wrapped env; return the rewards and the designs."""
    space_obj = get_space(space)
    env = cnn_design_env.env(space_obj, evaluator=FixtureEvaluator(space_obj),
                             pad_actions=pad_actions)
    rewards, designs = [], []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        for agent in env.agent_iter():
            obs, reward, terminated, truncated, info = env.last()
            if terminated or truncated:
                if agent == env.possible_agents[0]:  # learn once per episode
                    team.learn(Design(info["design"]), reward)
                    rewards.append(reward)
                    designs.append(info["design"])
                env.step(None)
            else:
                env.step(team.act(agent, obs))
    return np.array(rewards), designs


@pytest.mark.parametrize("shared_policy", [False, True])
def test_team_improves_on_vgg_mini(shared_policy: bool) -> None:
    space = get_space("vgg_mini")
    team = ReinforceTeam(space, seed=0, shared_policy=shared_policy)
    rewards, _ = play(team, 300)
    first, last = rewards[:50].mean(), rewards[-50:].mean()
    # A uniform policy averages about 20; the best design of the fixture scores 28.5.
    assert last > first + 3.0, (first, last)
    assert last > 25.0, last
    evaluator = FixtureEvaluator(space)
    greedy = cnn_design_env.PaperReward()(evaluator.evaluate(team.greedy_design(), seed=0))
    assert greedy > 25.0, greedy


def test_same_seed_same_designs_and_other_seed_differs() -> None:
    space = get_space("vgg_mini")
    _, a = play(ReinforceTeam(space, seed=3), 10)
    _, b = play(ReinforceTeam(space, seed=3), 10)
    _, c = play(ReinforceTeam(space, seed=4), 10)
    assert a == b
    assert a != c


def test_padded_env_gets_only_legal_actions() -> None:
    # pad_actions=True: every agent sees Discrete(12) with a mask; the env raises on padding.
    team = ReinforceTeam(get_space("vgg_mini"), seed=0, shared_policy=True)
    rewards, designs = play(team, 20, pad_actions=True)
    sizes = get_space("vgg_mini").action_sizes
    assert all(0 <= a < n for design in designs for a, n in zip(design, sizes, strict=True))
    assert len(rewards) == 20


def test_branching_space_runs_and_learns_from_foreign_designs() -> None:
    space = get_space("inception_mini")  # several edges into one agent (concat)
    team = ReinforceTeam(space, seed=0)
    rewards, _ = play(team, 5, space="inception_mini")
    assert np.isfinite(rewards).all()
    rng = np.random.default_rng(0)
    for _ in range(3):  # designs the team did not sample (e.g. from a replay) still update it
        team.learn(space.sample(rng), 1.0)
    assert team.episodes == 8


def test_action_mask_in_observation_is_respected() -> None:
    space = get_space("vgg_mini")
    team = ReinforceTeam(space, seed=0)
    mask = np.zeros(12, dtype=np.int8)
    mask[7] = 1
    obs = {"observation": np.zeros(space.num_agents + 1, dtype=np.int64), "action_mask": mask}
    assert {team.act("conv1", obs) for _ in range(10)} == {7}
    probabilities = team.probabilities("conv1", obs)
    assert probabilities.shape == (12,) and probabilities[7] == pytest.approx(1.0)


@pytest.mark.parametrize("space_name", ["vgg_mini", "inception_mini"])
def test_numpy_and_jax_logits_agree(space_name: str) -> None:
    # act() runs the model in NumPy, learn() in JAX: the same function of the same parameters.
    space = get_space(space_name)
    n, size = space.num_agents, max(space.action_sizes)
    rng = np.random.default_rng(0)
    design = np.array(space.sample(rng).actions)
    obs = np.zeros((n, n + 1), dtype=np.int64)
    obs[:, :n] = np.tril(np.broadcast_to(design + 1, (n, n)), k=-1)
    obs[:, n] = np.arange(n)
    index = space.agent_index
    src = np.array([index[u] for u, _ in space.agent_edges])
    dst = np.array([index[v] for _, v in space.agent_edges])
    edge_params = {"bias": rng.normal(size=(n, size)),
                   "edges": rng.normal(size=(len(src), size, size))}
    expected = edge_params["bias"].copy()
    for e, (s, d) in enumerate(zip(src, dst, strict=True)):
        expected[d] += edge_params["edges"][e, design[s]]
    np.testing.assert_allclose(edge_logits(edge_params, obs, src=src, dst=dst), expected)
    jax_params = jax.tree.map(jnp.asarray, edge_params)
    np.testing.assert_allclose(edge_logits(jax_params, jnp.asarray(obs), src=src, dst=dst, xp=jnp),
                               expected, rtol=1e-5, atol=1e-5)
    for row in range(n):  # one observation at a time, as act() calls it
        np.testing.assert_allclose(edge_logits(edge_params, obs[row], src=src, dst=dst),
                                   expected[row])
    nvec = observation_nvec(space)
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    mlp_params = {"w1": rng.normal(size=(nvec.sum(), 8)), "b1": rng.normal(size=8),
                  "w2": rng.normal(size=(8, size)), "b2": rng.normal(size=size)}
    one_hot = np.zeros((n, nvec.sum()))
    one_hot[np.arange(n)[:, None], offsets + obs] = 1.0
    hidden = np.tanh(one_hot @ mlp_params["w1"] + mlp_params["b1"])
    expected = hidden @ mlp_params["w2"] + mlp_params["b2"]
    np.testing.assert_allclose(mlp_logits(mlp_params, obs, offsets=offsets), expected)
    np.testing.assert_allclose(
        mlp_logits(jax.tree.map(jnp.asarray, mlp_params), jnp.asarray(obs), offsets=offsets,
                   xp=jnp), expected, rtol=1e-4, atol=1e-4)


def test_baseline_tracks_rewards() -> None:
    team = ReinforceTeam(get_space("vgg_mini"), seed=0, baseline_decay=0.5)
    design = Design((0,) * 6)
    assert team.baseline_value == 0.0
    team.learn(design, 10.0)
    assert team.baseline_value == pytest.approx(10.0)
    team.learn(design, 20.0)
    assert team.baseline_value == pytest.approx((0.25 * 10 + 0.5 * 20) / 0.75)


def test_bad_inputs_are_named() -> None:
    space = get_space("vgg_mini")
    with pytest.raises(ValueError, match="unknown baseline 'mean'"):
        ReinforceTeam(space, seed=0, baseline="mean")
    with pytest.raises(ValueError, match="baseline_decay"):
        ReinforceTeam(space, seed=0, baseline_decay=1.0)
    team = ReinforceTeam(space, seed=0)
    obs = np.zeros(space.num_agents + 1, dtype=np.int64)
    with pytest.raises(ValueError, match="unknown agent 'conv9'"):
        team.act("conv9", obs)
    with pytest.raises(ValueError, match="not agent 'conv2'"):
        team.act("conv2", obs)  # the observation says agent 0 is acting
    with pytest.raises(ValueError, match="no legal action"):
        team.act("conv1", {"observation": obs, "action_mask": np.zeros(12, dtype=np.int8)})
    with pytest.raises(ValueError, match="reward must be finite"):
        team.learn(Design((0,) * 6), float("nan"))
    with pytest.raises(ValueError, match="out of range"):
        team.learn(Design((12, 0, 0, 0, 0, 0)), 1.0)
