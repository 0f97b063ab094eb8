"""Algorithm 2 (the Q-table update) against Q-values computed by hand for scripted episodes."""

from __future__ import annotations

import numpy as np
import pytest

from agents import Constant, IndependentQAgents, PaperDecay, QTables, SharedQAgents

A = 0.95      # alpha of the exploration phase
G = 0.5       # gamma


def q(team: SharedQAgents, u: str, v: str) -> np.ndarray:
    return team.tables.q_table(u, v)


def test_chain_scripted_episodes(chain):
    team = SharedQAgents(chain, seed=0, gamma=G, exploration_episodes=2)
    # ep 0 (exploration): every look-ahead row is unvisited -> additive; last table additive.
    team.learn((0, 1, 1), 10.0)
    assert q(team, "a", "b")[0, 1] == pytest.approx(A * 10)                  # 9.5
    assert q(team, "b", "c")[1, 1] == pytest.approx(A * 10)                  # 9.5
    # ep 1: row b=1 of (b,c) still has (1,0) unvisited -> additive.
    team.learn((1, 1, 0), 4.0)
    assert q(team, "a", "b")[1, 1] == pytest.approx(A * 4)                   # 3.8
    assert q(team, "b", "c")[1, 0] == pytest.approx(A * 4)                   # 3.8
    # ep 2 (first of the exploration-exploitation phase, alpha = 0.95): row b=1 of (b,c) is now
    # fully visited -> bootstrap with its max (9.5); the last table stays additive.
    assert team.phase == "exploitation" and team.alpha == pytest.approx(A)
    team.learn((0, 1, 0), 6.0)
    assert q(team, "a", "b")[0, 1] == pytest.approx((1 - A) * 9.5 + A * (6 + G * 9.5))  # 10.6875
    assert q(team, "b", "c")[1, 0] == pytest.approx(3.8 + A * 6)                         # 9.5
    # ep 3: the same design again: nothing changes, whatever the reward.
    before = team.tables.q.copy(), team.tables.visits.copy()
    team.learn((0, 1, 0), 100.0)
    assert not team.last_episode.updated
    np.testing.assert_array_equal(team.tables.q, before[0])
    np.testing.assert_array_equal(team.tables.visits, before[1])
    # ep 4: phase episode k = 2 -> alpha = 0.95 * 0.999 ** 2 (plain exponential).
    alpha = 0.95 * 0.999 ** 2
    assert team.alpha == pytest.approx(alpha)
    team.learn((1, 0, 1), 2.0)
    assert q(team, "a", "b")[1, 0] == pytest.approx(alpha * 2)
    assert q(team, "b", "c")[0, 1] == pytest.approx(alpha * 2)
    assert team.last_episode.alpha == pytest.approx(alpha)
    np.testing.assert_array_equal(team.tables.visit_table("a", "b"), [[0, 2, 0], [1, 1, 0]])
    np.testing.assert_array_equal(team.tables.visit_table("b", "c"), [[0, 1], [2, 1], [0, 0]])


def test_chain_standard_step_where_no_look_ahead(chain):
    """additive=False: Q += alpha * (R - Q) on the last table (and unvisited next rows)."""
    team = SharedQAgents(chain, seed=0, gamma=G, additive=False)
    team.learn((0, 1, 1), 10.0)
    team.learn((1, 1, 0), 4.0)
    team.learn((0, 1, 0), 6.0)
    assert q(team, "b", "c")[1, 0] == pytest.approx((1 - A) * 3.8 + A * 6)   # 5.89
    assert q(team, "a", "b")[0, 1] == pytest.approx((1 - A) * 9.5 + A * (6 + G * 9.5))


def test_fan_out_and_fan_in_scripted_episodes(fan):
    """p -> s -> {x, y} -> t: the update into s looks at both of s's tables; x and y each look
    at their own table with t."""
    team = SharedQAgents(fan, seed=0, gamma=G)
    designs = [  # (p, s, x, y, t), R
        ((0, 1, 0, 0, 0), 1.0),
        ((0, 1, 1, 1, 1), 2.0),
        ((1, 1, 0, 2, 1), 3.0),
        ((1, 1, 1, 2, 0), 4.0),
        ((0, 1, 0, 2, 0), 5.0),
    ]
    for design, reward in designs[:3]:
        team.learn(design, reward)
    # eps 0-2: s's row 1 in (s,y) had y=2 unvisited until ep 2 -> (p,s) additive so far.
    assert q(team, "p", "s")[0, 1] == pytest.approx(A * 1 + A * 2)           # 2.85
    assert q(team, "p", "s")[1, 1] == pytest.approx(A * 3)                   # 2.85
    assert q(team, "s", "x")[1, 0] == pytest.approx(A * 1 + A * 3)           # 3.8 (x,t) row 0 open
    assert q(team, "s", "x")[1, 1] == pytest.approx(A * 2)                   # 1.9
    assert q(team, "s", "y")[1, 0] == pytest.approx(A * 1)
    assert q(team, "s", "y")[1, 1] == pytest.approx(A * 2)
    assert q(team, "s", "y")[1, 2] == pytest.approx(A * 3)                   # 2.85
    # ep 3: rows s=1 of (s,x) and (s,y) are full -> bootstrap with the max over BOTH rows:
    # max(max(3.8, 1.9), max(0.95, 1.9, 2.85)) = 3.8.
    team.learn(*designs[3])
    assert q(team, "p", "s")[1, 1] == pytest.approx((1 - A) * 2.85 + A * (4 + G * 3.8))  # 5.7475
    assert q(team, "s", "x")[1, 1] == pytest.approx(A * 2 + A * 4)           # (x,t) row 1 open
    assert q(team, "s", "y")[1, 2] == pytest.approx(A * 3 + A * 4)           # (y,t) row 2 open
    assert q(team, "x", "t")[1, 0] == pytest.approx(A * 4)                   # last tables
    assert q(team, "y", "t")[2, 0] == pytest.approx(A * 4)
    # ep 4: the fan-out max now comes from the (s,y) table: max(3.8, 5.7 | 0.95, 1.9, 6.65).
    team.learn(*designs[4])
    assert q(team, "p", "s")[0, 1] == pytest.approx((1 - A) * 2.85 + A * (5 + G * 6.65))
    # fan-in feeders: (s,x) bootstraps from (x,t) row 0 = max(0.95, 2.85); (s,y) from (y,t)
    # row 2 = max(3.8, 2.85).
    assert q(team, "s", "x")[1, 0] == pytest.approx((1 - A) * 3.8 + A * (5 + G * 2.85))
    assert q(team, "s", "y")[1, 2] == pytest.approx((1 - A) * 6.65 + A * (5 + G * 3.8))
    assert q(team, "x", "t")[0, 0] == pytest.approx(A * 1 + A * 5)
    assert q(team, "y", "t")[2, 0] == pytest.approx(A * 4 + A * 5)
    assert q(team, "p", "s")[0, 1] == pytest.approx(8.05125)                 # by hand


def test_visit_counts_and_free_rows_stay_consistent(fan):
    team = SharedQAgents(fan, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(30):
        team.learn(fan.sample(rng), float(rng.normal()))
    tables = team.tables
    for u, v in tables.edges:
        np.testing.assert_array_equal(tables.free_per_row(u, v),
                                      (tables.visit_table(u, v) == 0).sum(axis=1))
    assert tables.visits.sum() == len(team._seen) * len(tables.edges)


def test_qtables_mapping_is_explicit(fan):
    tables = QTables(fan)
    assert tables.agents["s"].incoming == (("p", "s"),)
    assert tables.agents["s"].outgoing == (("s", "x"), ("s", "y"))
    assert tables.agents["t"].incoming == (("x", "t"), ("y", "t"))
    assert tables.agents["t"].outgoing == ()
    assert tables.q_table("s", "y").shape == (2, 3)
    assert tables.cells == 4 + 4 + 6 + 4 + 6 and tables.max_cells == 6
    with pytest.raises(KeyError, match=r"\('p', 't'\) is not an edge"):
        tables.q_table("p", "t")


def test_independent_update_by_hand(chain):
    team = IndependentQAgents(chain, seed=0, alpha=Constant(0.5))
    team.learn((0, 2, 1), 4.0)
    team.learn((0, 1, 1), 2.0)
    np.testing.assert_allclose(team.q_table("a"), [0.5 * (0.5 * 4) + 0.5 * 2, 0.0])   # 2.0
    np.testing.assert_allclose(team.q_table("b"), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(team.q_table("c"), [0.0, 2.0])
    team.learn((0, 1, 1), 50.0)                                                # repeated
    np.testing.assert_allclose(team.q_table("c"), [0.0, 2.0])


def test_learn_rejects_bad_input(chain):
    team = SharedQAgents(chain, seed=0)
    with pytest.raises(ValueError, match="does not fit space 'chain3'"):
        team.learn((0, 3, 0), 1.0)
    with pytest.raises(ValueError, match="does not fit"):
        team.learn((0, 1), 1.0)
    with pytest.raises(ValueError, match="reward must be finite"):
        team.learn((0, 1, 0), float("nan"))


def test_schedules_follow_the_paper(chain):
    team = SharedQAgents(chain, seed=0, exploration_episodes=3,
                         epsilon=PaperDecay(1.0, 0.99), alpha=PaperDecay(0.95, 0.999))
    rng = np.random.default_rng(0)
    seen = []
    for _ in range(8):
        seen.append((team.phase, team.epsilon, team.alpha))
        team.learn(chain.sample(rng), 1.0)
    assert [p for p, _, _ in seen] == ["exploration"] * 3 + ["exploitation"] * 5
    assert all(e == 1.0 and a == 0.95 for _, e, a in seen[:3])
    for k, (_, eps, alpha) in enumerate(seen[3:]):
        assert eps == pytest.approx(0.99 ** (k * (k + 1) / 2))
        assert alpha == pytest.approx(0.95 * 0.999 ** (k * (k + 1) / 2))


@pytest.mark.parametrize("additive", [True, False])
def test_look_ahead_statistics_match_the_tables(fan, additive):
    """``next_max`` / ``next_free`` (kept up to date by the update, through maxima that go down
    with negative rewards) equal the max and unvisited count over each agent's outgoing rows."""
    team = SharedQAgents(fan, seed=1, additive=additive)
    tables = team.tables
    rng = np.random.default_rng(2)
    for _ in range(60):
        team.learn(fan.sample(rng), float(rng.normal(0.0, 3.0)))
        for name in fan.agents:
            outgoing = tables.agents[name].outgoing
            base = int(tables.action_base[fan.agent_index[name]])
            for a in range(fan.action_sizes[fan.agent_index[name]]):
                if not outgoing:
                    assert tables.next_free[base + a] == 1                 # never bootstraps
                    continue
                rows_q = [tables.q_table(u, v)[a] for u, v in outgoing]
                rows_v = [tables.visit_table(u, v)[a] for u, v in outgoing]
                assert tables.next_max[base + a] == max(r.max() for r in rows_q)
                assert tables.next_free[base + a] == sum(int((r == 0).sum()) for r in rows_v)
