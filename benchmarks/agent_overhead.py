"""What the shared-Q-table team costs per episode on top of the env, against random actions.

For each space (default ``vgg16``, ``googlenet``, ``unet``) and a constant evaluator (evaluation
costs nothing), one run of the team through the wrapped AEC env:

* the whole exploration phase (the paper's length: the largest table's cell count) and then
  ``--exploit`` episodes of the exploration-exploitation phase with the paper's schedules;
* the same number of episodes of the same loop with uniform random actions (one vectorised draw
  per episode: the cheapest random policy), interleaved in blocks with the team's episodes so
  that machine load hits both alike.

Prints microseconds per episode for both loops, their difference (the team's overhead: its
actions for every agent plus one ``learn``) per phase and over the whole run, and
``agents.train``'s own per-episode cost (history records, metrics). Both teams play through
``agents.train``'s textbook AEC loop: one ``act`` per agent (the tabular team plans the episode
on its first agent's ``act``). The paper reports 2 ms per episode of agent overhead
over random search; the floor checked here is 0.2 ms (PASS/FAIL per space, on the whole run).

Times are CPU time of this process by default (``--clock cpu``): on a shared, loaded machine the
wall clock mostly measures other processes (``--clock wall`` for wall time). Where numba is
installed the team plans exploring episodes and updates with compiled kernels
(``agents.kernels``); loading them (or compiling them, the first time on a machine) is a one-time
cost per process, paid by a warm-up episode before the timed runs and printed apart
(``--reference``: the pure Python/NumPy team instead).

Run: ``python benchmarks/agent_overhead.py [--spaces vgg16 googlenet unet] [--exploit 200]
[--max-episodes N] [--clock cpu|wall] [--reference]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import ConstantEvaluator

import cnn_design_env
from agents import SharedQAgents, train
from agents.loop import play_episode
from cnn_design_env.observations import agent_ids
from cnn_design_env.space import Design, get_space

PAPER_MS = 2.0
FLOOR_MS = 0.2
BLOCK = 50
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
clock = time.process_time


class RandomTeam:
    """Uniform random actions: one vectorised draw per episode, read back per agent."""

    def __init__(self, space, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._sizes = np.array(space.action_sizes)
        self._agents = agent_ids(space)  # the env's agent ids
        self._first = self._agents[0]
        self._index = {agent: i for i, agent in enumerate(self._agents)}
        self._design: list[int] = []

    def act(self, agent: str, observation) -> int:
        if agent == self._first:
            self._design = self._rng.integers(self._sizes).tolist()
        return self._design[self._index[agent]]

    def learn(self, design, reward, metrics=None) -> None:
        pass


def timed_episodes(env, team, n: int) -> float:
    """Seconds for ``n`` episodes of play + learn."""
    start = clock()
    for _ in range(n):
        info = play_episode(env, team)
        team.learn(Design(info["design"]), info["reward"])
    return clock() - start


def warm_up(compiled: bool | None) -> float:
    """Seconds of one episode of a fresh team in this process (kernels loaded or compiled)."""
    space = get_space("vgg_mini")
    start = clock()
    timed_episodes(cnn_design_env.env(space, evaluator=ConstantEvaluator(space)),
                   SharedQAgents(space, seed=0, compiled=compiled), 1)
    return clock() - start


def measure(name: str, exploit: int, max_episodes: int | None,
            compiled: bool | None = None) -> dict[str, float]:
    space = get_space(name)
    env_team = cnn_design_env.env(space, evaluator=ConstantEvaluator(space))
    env_rand = cnn_design_env.env(space, evaluator=ConstantEvaluator(space))
    env_team.reset(seed=0)
    env_rand.reset(seed=0)
    team = SharedQAgents(space, seed=0, compiled=compiled)
    rand = RandomTeam(space, seed=0)
    explore = team.exploration_episodes
    if max_episodes is not None:
        explore = min(explore, max_episodes)
        team.exploration_episodes = explore
    players = (team, rand)
    totals = {"explore_team": 0.0, "explore_rand": 0.0, "exploit_team": 0.0, "exploit_rand": 0.0}
    for phase, count in (("explore", explore), ("exploit", exploit)):
        done = 0
        while done < count:
            block = min(BLOCK, count - done)
            totals[f"{phase}_team"] += timed_episodes(env_team, players[0], block)
            totals[f"{phase}_rand"] += timed_episodes(env_rand, players[1], block)
            done += block
    assert team.phase == "exploitation" or exploit == 0
    # agents.train on top (records, Metrics objects), on a short fresh run.
    short = min(200, explore)
    start = clock()
    train(cnn_design_env.env(space, evaluator=ConstantEvaluator(space)),
          SharedQAgents(space, seed=1, compiled=compiled), episodes=short, seed=0)
    train_s = (clock() - start) / short
    start = clock()
    timed_episodes(cnn_design_env.env(space, evaluator=ConstantEvaluator(space)),
                   SharedQAgents(space, seed=1, compiled=compiled), short)
    plain_s = (clock() - start) / short
    return {**totals, "explore": explore, "exploit": exploit, "agents": space.num_agents,
            "tables": len(team.tables.edges), "train_extra": train_s - plain_s,
            "compiled": team.tables.compiled}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", nargs="+", default=["vgg16", "googlenet", "unet"])
    parser.add_argument("--exploit", type=int, default=200,
                        help="episodes of the exploration-exploitation phase")
    parser.add_argument("--max-episodes", type=int, default=None,
                        help="cap the exploration phase (quick runs)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: CPU time of this process (robust to machine load); wall")
    parser.add_argument("--reference", action="store_true",
                        help="the team without compiled kernels (pure Python/NumPy)")
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    compiled = False if args.reference else None
    print(f"warm-up (one-time per process: imports, compiled kernels loaded or compiled): "
          f"{warm_up(compiled):.2f} s")
    print(f"team overhead = (team + env) - (uniform random actions + env), constant evaluator, "
          f"{args.clock} time; paper "
          f"{PAPER_MS} ms/episode, floor {FLOOR_MS} ms")
    header = (f"{'space':<10}{'agents':>7}{'tables':>7}{'phase':>9}{'episodes':>9}"
              f"{'team us':>9}{'random us':>10}{'overhead us':>12}{'x paper':>8}")
    print(header)
    failed = []
    for name in args.spaces:
        r = measure(name, args.exploit, args.max_episodes, compiled)
        rows = [("explore", r["explore"], r["explore_team"], r["explore_rand"]),
                ("exploit", r["exploit"], r["exploit_team"], r["exploit_rand"]),
                ("run", r["explore"] + r["exploit"], r["explore_team"] + r["exploit_team"],
                 r["explore_rand"] + r["exploit_rand"])]
        for phase, n, team_s, rand_s in rows:
            if n == 0:
                continue
            team_us, rand_us = 1e6 * team_s / n, 1e6 * rand_s / n
            over = team_us - rand_us
            print(f"{name:<10}{r['agents']:>7}{r['tables']:>7}{phase:>9}{n:>9}{team_us:>9.0f}"
                  f"{rand_us:>10.0f}{over:>12.0f}{over / (1e3 * PAPER_MS):>8.2f}")
        run_over = 1e3 * ((r["explore_team"] + r["exploit_team"])
                          - (r["explore_rand"] + r["exploit_rand"])) / (r["explore"]
                                                                        + r["exploit"])
        ok = run_over < FLOOR_MS
        failed += [] if ok else [name]
        print(f"{name:<10} agents.train bookkeeping on top: {1e6 * r['train_extra']:.0f} us/"
              f"episode; {'compiled kernels' if r['compiled'] else 'Python/NumPy'}; floor: "
              f"{run_over:.3f} ms {'<' if ok else '>='} {FLOOR_MS} ms -> "
              f"{'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
