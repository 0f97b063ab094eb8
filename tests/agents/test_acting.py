"""Algorithms 1 (exploration) and 3 (exploitation), the joint plan, coins and convergence."""

from __future__ import annotations

import numpy as np
import pytest

from agents import Constant, ExponentialDecay, IndependentQAgents, SharedQAgents
from cnn_design_env.space import Design, get_space

GREEDY = {"exploration_episodes": 0, "epsilon": Constant(0.0)}


def set_table(team: SharedQAgents, u: str, v: str, values) -> None:
    team.tables.q_table(u, v)[:] = values
    team.tables.visit_table(u, v)[:] = 1
    team.tables.touch()


# ------------------------------------------------------------------ Algorithm 3
def test_exploitation_follows_the_argmax_chain(chain, observe):
    team = SharedQAgents(chain, seed=0, **GREEDY)
    # The joint argmax of (a,b) is (0, 1) although a's best row on average is a=1.
    set_table(team, "a", "b", [[1.0, 5.0, 2.0], [4.0, 0.0, 4.5]])
    set_table(team, "b", "c", [[9.0, 0.0], [7.0, 2.0], [0.0, 8.0]])
    assert team.greedy_design() == Design((0, 1, 0))
    assert team.act("a", observe(chain, {}, "a")) == 0
    assert team.act("b", observe(chain, {"a": 0}, "b")) == 1        # fixed by agent a
    assert team.act("c", observe(chain, {"a": 0, "b": 1}, "c")) == 0
    # Off the greedy path (another driver chose b=2), c takes the argmax of its row b=2.
    assert team.act("c", observe(chain, {"a": 0, "b": 2}, "c")) == 1
    # A table changed through the API invalidates the cached greedy design.
    team.learn((1, 2, 1), 100.0)
    assert team.greedy_design() == Design((1, 2, 1))


def test_first_agent_at_a_fan_out_takes_the_best_cell_of_all_its_tables(first_fan):
    team = SharedQAgents(first_fan, seed=0, **GREEDY)
    set_table(team, "s", "x", [[1.0, 2.0], [0.0, 3.0]])
    set_table(team, "s", "y", [[9.0, 0.0, 0.0], [0.0, 0.0, 4.0]])    # best cell: s=0 (9.0)
    set_table(team, "x", "t", [[0.0, 0.0], [1.0, 5.0]])              # row x=1 votes t=1
    set_table(team, "y", "t", [[2.0, 6.0], [0.0, 0.0], [0.0, 0.0]])  # row y=0 votes t=1
    assert team.greedy_design() == Design((0, 1, 0, 1))             # s, x, y, t
    # The feeders disagree (x votes 1, y votes 0): highest mean Q -> [4.0, 3.5] -> t=0.
    set_table(team, "y", "t", [[7.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    assert team.greedy_design() == Design((0, 1, 0, 0))


def test_fan_in_vote_beats_the_mean():
    space = get_space("inception_mini")          # 'pool' is fed by three branches
    team = SharedQAgents(space, seed=0, **GREEDY)
    assert team.tables.agents["pool"].incoming == (
        ("b1_1x1", "pool"), ("b2_3x3", "pool"), ("b3_1x1", "pool"))
    team.tables.visits[:] = 1
    for u in ("b1_1x1", "b2_3x3"):
        team.tables.q_table(u, "pool")[:] = [1.0, 1.1]               # two votes for action 1
    team.tables.q_table("b3_1x1", "pool")[:] = [10.0, 0.0]          # one vote, but the best mean
    team.tables.touch()
    assert team.greedy_design()[space.agent_index["pool"]] == 1


# ------------------------------------------------------------------ Algorithm 1
def test_exploration_first_pairs_are_never_repeated(chain, play_design):
    team = SharedQAgents(chain, seed=1, exploration_episodes=6)      # max |A_u| * |A_v| = 2 * 3
    pairs = []
    for _ in range(6):
        design = play_design(team, chain)
        pairs.append(design[:2])
        team.learn(design, 1.0)
    assert sorted(pairs) == [(a, b) for a in range(2) for b in range(3)]
    np.testing.assert_array_equal(team.tables.visit_table("a", "b"), np.ones((2, 3)))
    assert team.phase == "exploitation"


def test_exploration_picks_unvisited_cells_of_the_row(chain, observe):
    team = SharedQAgents(chain, seed=0)
    team.tables.visit_table("b", "c")[2] = [1, 0]                    # only c=1 is unvisited
    team.tables.visit_table("b", "c")[1] = [1, 1]                    # none left: uniform
    team.tables.touch()
    assert {team.act("c", observe(chain, {"a": 0, "b": 2}, "c")) for _ in range(20)} == {1}
    assert {team.act("c", observe(chain, {"a": 0, "b": 1}, "c")) for _ in range(40)} == {0, 1}


def test_exploration_at_a_fan_in_prefers_cells_unvisited_in_most_rows(first_fan, observe):
    team = SharedQAgents(first_fan, seed=0)
    team.tables.visit_table("x", "t")[1] = [1, 0]
    team.tables.visit_table("y", "t")[2] = [0, 1]
    team.tables.touch()
    obs = observe(first_fan, {"s": 0, "x": 1, "y": 2}, "t")
    assert {team.act("t", obs) for _ in range(40)} == {0, 1}         # one unvisited row each
    team.tables.visit_table("y", "t")[2] = [1, 0]
    team.tables.touch()
    assert {team.act("t", obs) for _ in range(20)} == {1}            # unvisited in both rows


def test_first_agent_fan_out_explores_all_its_tables(first_fan, play_design):
    team = SharedQAgents(first_fan, seed=2, exploration_episodes=50)
    for _ in range(12):
        team.learn(play_design(team, first_fan), 1.0)
    assert team.tables.visit_table("s", "x").min() >= 1
    assert team.tables.visit_table("s", "y").min() >= 1


# ----------------------------------------------------------------- the plan
def test_plan_is_reset_when_the_first_agent_acts_again(chain, observe):
    team = SharedQAgents(chain, seed=0)
    a = team.act("a", observe(chain, {}, "a"))
    b = team.act("b", observe(chain, {"a": a}, "b"))
    assert team.tables.visit_table("a", "b")[a, b] == 0
    # The env was reset mid-episode: the first agent acts again and makes a new plan, which
    # the second agent follows.
    for _ in range(10):
        a = team.act("a", observe(chain, {}, "a"))
        assert team.act("b", observe(chain, {"a": a}, "b")) == team.episode.joint[1]
    # A first action the team did not choose voids the plan: b explores its own row instead.
    team.tables.visit_table("a", "b")[1 - a] = [1, 1, 0]
    team.tables.touch()
    assert team.act("b", observe(chain, {"a": 1 - a}, "b")) == 2


def test_act_rejects_bad_observations(chain, observe):
    team = SharedQAgents(chain, seed=0)
    with pytest.raises(ValueError, match="unknown agent 'z'"):
        team.act("z", observe(chain, {}, "a"))
    with pytest.raises(ValueError, match="acting index 1"):
        team.act("b", observe(chain, {}, "a"))
    with pytest.raises(ValueError, match="before its predecessor 'b'"):
        team.act("c", observe(chain, {"a": 0}, "c"))
    obs = {"observation": observe(chain, {}, "a"), "action_mask": np.ones(2, np.int8)}
    assert team.act("a", obs) in (0, 1)                              # the env's dict is accepted


def test_single_agent_space_is_refused():
    from cnn_design_env.space import SearchSpace
    from cnn_design_env.space import layers as L

    space = SearchSpace("one", (L.input_layer(), L.conv("a", "input", kernels=4,
                                                           tune={"kernels": (4, 8)}),
                                L.global_pool("gp", "a"), L.output("output", "gp")), (8, 8, 1), 2)
    with pytest.raises(ValueError, match="at least 2 agents"):
        SharedQAgents(space, seed=0)
    assert IndependentQAgents(space, seed=0).act("a", np.array([0, 0])) in (0, 1)


# ----------------------------------------------------------- coins, convergence
def test_per_agent_coin_mixes_random_and_greedy_agents(chain, play_design):
    team = SharedQAgents(chain, seed=0, exploration_episodes=0, epsilon=Constant(0.5),
                         coin="agent")
    set_table(team, "a", "b", [[0.0, 9.0, 0.0], [0.0, 0.0, 0.0]])
    set_table(team, "b", "c", [[0.0, 0.0], [9.0, 0.0], [0.0, 0.0]])
    designs = {play_design(team, chain) for _ in range(200)}
    # Greedy a,b with a random c and random a,b with a greedy c both occur.
    assert (0, 1, 1) in designs and (0, 1, 0) in designs and len(designs) > 3


def test_convergence_after_k_identical_exploiting_episodes(chain, play_design):
    team = SharedQAgents(chain, seed=0, exploration_episodes=6, epsilon=Constant(0.0),
                         convergence_window=4)
    rewards = {d: float(sum(d)) for d in np.ndindex(2, 3, 2)}
    history = []
    while not team.converged and len(history) < 50:
        design = play_design(team, chain)
        team.learn(design, rewards[design])
        history.append(design)
    assert team.converged
    assert team.converged_episode == len(history) - 1
    assert history[-4:] == [team.converged_design.actions] * 4
    assert team.converged_design == team.greedy_design()


def test_seeded_teams_act_identically(chain, play_design):
    def run(seed):
        team = SharedQAgents(chain, seed=seed, exploration_episodes=6,
                             epsilon=Constant(0.3), coin="agent")
        out = []
        for k in range(40):
            design = play_design(team, chain)
            team.learn(design, float(k % 5))
            out.append(design)
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_random_choices_match_their_brute_force_definition():
    """Algorithm 1 at a fan-in: uniform among the actions unvisited in the most rows."""
    from agents.exploration import most_unvisited
    from agents.stream import UniformStream

    stream = UniformStream(0)
    rng = np.random.default_rng(1)
    size = 11
    for _ in range(30):
        rows = rng.random((int(rng.integers(1, 6)), size)) < rng.random()
        masks = [sum(1 << int(c) for c in np.flatnonzero(row)) for row in rows]
        counts = rows.sum(axis=0)
        expected = set(range(size)) if counts.max() == 0 else set(
            np.flatnonzero(counts == counts.max()).tolist())
        best = most_unvisited(masks)
        drawn = [stream.pick_bit(best, size) if best else stream.pick(size) for _ in range(300)]
        assert set(drawn) == expected
    # pick_bit is uniform over the set bits, dense (rejection) and sparse (k-th bit) alike.
    for mask in (0b1011_0110_1111, 0b1000_0000_0010):
        draws = np.bincount([stream.pick_bit(mask, 12) for _ in range(6000)], minlength=12)
        bits = [c for c in range(12) if mask >> c & 1]
        assert set(np.flatnonzero(draws)) == set(bits)
        expected = 6000 / len(bits)
        assert np.all(np.abs(draws[bits] - expected) < 5 * np.sqrt(expected))


# ------------------------------------------------------------ plan, fan-ins
class Unplanned:
    """A team asked agent by agent with its tables touched before every act: every agent is
    planned afresh (no agent is served from a plan), the reference of acting agent by agent."""

    def __init__(self, team):
        self.team = team

    def act(self, agent, obs):
        self.team.tables.touch()
        return self.team.act(agent, obs)


def test_the_plan_serves_what_acting_agent_by_agent_chooses(play_design):
    """Same designs and the same generator stream, through the exploration phase and random
    and greedy episodes of the second phase, with the env reset mid-episode now and then (the
    draws of agents not served are given back)."""
    space = get_space("inception_mini")
    kwargs = {"exploration_episodes": 30, "epsilon": ExponentialDecay(1.0, 0.9)}
    planned, by_agent = (SharedQAgents(space, seed=4, **kwargs),
                         SharedQAgents(space, seed=4, **kwargs))
    for k in range(60):
        if k % 5 == 0:                                  # a reset after the first three agents
            obs = np.zeros(space.num_agents + 1, dtype=np.int64)
            for i, agent in enumerate(space.agents[:3]):
                obs[-1] = i
                obs[i] = planned.act(agent, obs) + 1
                assert Unplanned(by_agent).act(agent, obs) == obs[i] - 1
        design = play_design(planned, space)
        assert play_design(Unplanned(by_agent), space) == design
        planned.learn(design, float(k % 7))
        by_agent.learn(design, float(k % 7))
    assert planned.state_dict()[1]["next_uniform"] == by_agent.state_dict()[1]["next_uniform"]


@pytest.mark.parametrize("feeders", [2, 3, 4])
def test_unrolled_fan_in_candidates_match_the_general_count(feeders):
    from agents.exploration import FAN_IN_CANDIDATES, most_unvisited

    rng = np.random.default_rng(feeders)
    rows = tuple(range(0, 40 * feeders, 40))
    for _ in range(300):
        masks = [0] * (40 * feeders + 8)
        decided = tuple(int(d) for d in rng.integers(1, 8, feeders))
        density = rng.random()
        picked = [int(sum(1 << c for c in np.flatnonzero(rng.random(10) < density)))
                  for _ in range(feeders)]
        for r, d, m in zip(rows, decided, picked, strict=True):
            masks[r + d] = m
        counts = np.array([[m >> c & 1 for c in range(10)] for m in picked]).sum(axis=0)
        expected = 0 if counts.max() == 0 else sum(1 << int(c) for c in
                                                     np.flatnonzero(counts == counts.max()))
        assert FAN_IN_CANDIDATES[feeders](masks, rows, decided) == expected
        assert most_unvisited(picked) == expected
