"""Search quality on the vgg_mini fixture: the team against random search at the same budget.

Prints a table (run with ``-s``): best reward found per seed for the team with the paper's rules
as written, the team with three documented options (per-agent coin, plain exponential epsilon
decay, running-average step where Algorithm 2 has no look-ahead), the independent-learner
ablation with the same options, and random search.
"""

from __future__ import annotations

import numpy as np
from fixtures import FixtureEvaluator

import cnn_design_env
from agents import ExponentialDecay, IndependentQAgents, SharedQAgents, train
from cnn_design_env.reward import PaperReward
from cnn_design_env.space import get_space

BUDGET = 300
SEEDS = range(10)
OPTIONS = {"coin": "agent", "epsilon": ExponentialDecay(1.0, 0.99)}


def best_of_team(space, make_team, seed: int) -> float:
    env = cnn_design_env.env(space, evaluator=FixtureEvaluator(space))
    return train(env, make_team(seed), episodes=BUDGET, seed=seed).best.reward


def best_of_random(space, seed: int) -> float:
    evaluator, reward = FixtureEvaluator(space), PaperReward()
    rng = np.random.default_rng(seed)
    return max(reward(evaluator.evaluate(space.sample(rng), seed=0)) for _ in range(BUDGET))


def test_team_beats_random_search_at_the_same_budget():
    space = get_space("vgg_mini")
    optimum = PaperReward()(FixtureEvaluator(space).evaluate(FixtureEvaluator(space).best,
                                                             seed=0))
    rows = {
        "shared Q, paper as written": lambda s: SharedQAgents(space, seed=s),
        "shared Q, options": lambda s: SharedQAgents(space, seed=s, additive=False, **OPTIONS),
        "independent Q, options": lambda s: IndependentQAgents(space, seed=s, **OPTIONS),
    }
    results = {name: [best_of_team(space, make, s) for s in SEEDS] for name, make in rows.items()}
    results["random search"] = [best_of_random(space, s) for s in SEEDS]
    print(f"\nvgg_mini + FixtureEvaluator, {BUDGET} episodes, best reward per seed "
          f"(optimum {optimum:.2f}):")
    for name, values in results.items():
        print(f"  {name:<28}" + "".join(f"{v:8.2f}" for v in values)
              + f"   mean {np.mean(values):.2f}")
    team, rand = np.array(results["shared Q, options"]), np.array(results["random search"])
    assert team.mean() > rand.mean() + 0.5
    assert (team >= rand).sum() >= 8
