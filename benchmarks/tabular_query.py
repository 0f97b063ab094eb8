"""How fast the tabular benchmark answers, alone and through the env with the paper's agents.

Prints, in one run, for each shipped table:

* microseconds to build an entry's ``Metrics`` the first time it is answered (kept afterwards),
  and per ``TabularEvaluator.evaluate`` on random designs and seeds (best of repeats, warm),
  against the floor (10 us) and against the table's recorded cost of really training a design
  (the speed-up the table buys);
* complete episodes per second through the wrapped env (``cnn_design_env.env(space,
  evaluator=TabularEvaluator)``) driven by the paper's team (``agents.SharedQAgents`` with
  ``agents.train``: act, reward, learn), against the floor (2,000/s), beside the same loop with a
  constant evaluator (the table's share of the time) and with random actions (the agents'
  share).

Run: ``python benchmarks/tabular_query.py [--queries 20000] [--episodes 2000] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import ConstantEvaluator, best_seconds

import agents
import cnn_design_env
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.tables import list_tables

QUERY_FLOOR_US = 10.0
EPISODES_FLOOR = 2000.0


def query_us(evaluator: TabularEvaluator, *, queries: int, repeats: int) -> float:
    """Best microseconds per ``evaluate`` over random designs and seeds."""
    rng = np.random.default_rng(0)
    designs = [evaluator.space.sample(rng) for _ in range(queries)]
    seeds = rng.integers(2**31, size=queries).tolist()
    pairs = list(zip(designs, seeds, strict=True))

    def run() -> None:
        for design, seed in pairs:
            evaluator.evaluate(design, seed=seed)

    return 1e6 * best_seconds(run, number=1, repeats=repeats) / queries


class RandomTeam:
    """Random legal actions, learns nothing: the env + evaluator cost without the agents."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, agent: str, obs: dict) -> int:
        return int(self.rng.integers(len(obs["action_mask"])))

    def learn(self, design, reward, metrics=None) -> None:
        return None


def episodes_per_s(space, evaluator, make_team, *, episodes: int, repeats: int) -> float:
    """Best complete episodes per second of ``agents.train`` (fresh team each repeat)."""
    best = float("inf")
    for repeat in range(repeats + 1):  # the first run warms caches and is not counted
        env = cnn_design_env.env(space, evaluator=evaluator)
        team = make_team(repeat)
        start = time.perf_counter()
        agents.train(env, team, episodes=episodes, seed=repeat)
        if repeat:
            best = min(best, time.perf_counter() - start)
    return episodes / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    ok = True
    for name in list_tables():
        evaluator = TabularEvaluator(name, seed=0)
        space = evaluator.space
        us = query_us(evaluator, queries=args.queries, repeats=args.repeats)
        train_s = float(np.mean(evaluator.table.arrays["cost_s"]))
        cold = TabularEvaluator(name, seed=0)
        entries = [(r, c) for r in range(cold.table.num_designs)
                   for c in range(len(cold.table.seeds))]
        start = time.perf_counter()
        for row, column in entries:
            cold.query(row, column)
        cold_us = 1e6 * (time.perf_counter() - start) / len(entries)
        print(f"{name}: first answer of an entry (builds its Metrics, then kept): "
              f"{cold_us:.1f} us")
        print(f"{name}: {us:.2f} us per query (floor {QUERY_FLOOR_US:.0f} us: "
              f"{'ok' if us <= QUERY_FLOOR_US else 'FAIL'}); recorded training cost "
              f"{train_s:.2f} s per evaluation -> {train_s * 1e6 / us:,.0f}x faster")
        ok &= us <= QUERY_FLOOR_US

        def shared(seed: int, space=space):
            return agents.SharedQAgents(space, seed=seed)

        rates = {
            "SharedQAgents + table": episodes_per_s(space, TabularEvaluator(name, seed=0),
                                                    shared, episodes=args.episodes,
                                                    repeats=args.repeats),
            "SharedQAgents + constant": episodes_per_s(space, ConstantEvaluator(space), shared,
                                                       episodes=args.episodes,
                                                       repeats=args.repeats),
            "random actions + table": episodes_per_s(space, TabularEvaluator(name, seed=0),
                                                     RandomTeam, episodes=args.episodes,
                                                     repeats=args.repeats),
        }
        base = rates["SharedQAgents + table"]
        for label, rate in rates.items():
            print(f"  {label:26s} {rate:8,.0f} episodes/s  ({rate / base:.2f}x of the first)")
        print(f"  floor {EPISODES_FLOOR:,.0f} episodes/s with the paper's agents: "
              f"{'ok' if base >= EPISODES_FLOOR else 'FAIL'}")
        ok &= base >= EPISODES_FLOOR
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
