"""The paper's multi-agent Q-learning team designs ``vgg_mini`` on the ``digits`` data set.

Six agents (conv1, conv2, pool1, conv3, pool2, fc1) share one Q-table per pair of connected
layers and play the PettingZoo AEC env; every design is trained for real by
``TrainingEvaluator`` (JAX, a few seconds per design on a CPU; repeated designs come from a
cache). The run has an exploration phase (``--exploration`` episodes, random actions that fill
the Q-tables) and then the exploration-exploitation phase with the paper's decaying epsilon and
learning rate, and stops early once the same design comes out of ``--window`` greedy episodes in
a row. ``--tuned`` switches on the three options that did better than the paper's rules as
written on the test fixture (per-agent epsilon coin, plain exponential epsilon decay, a running
average where Algorithm 2 has no look-ahead).

The default budget is small (16 designs, one to two minutes on a laptop CPU, less when JAX's
compilation cache is warm): the paper's rule would explore for 144 episodes
(the largest table, 12 x 12); pass ``--exploration 144 --episodes 200`` for the full method.
``--checkpoint run.npz`` saves the team and the history every 5 episodes; run the same command
again to resume where it stopped.

Run: ``python examples/marl_vgg_mini.py [--episodes 16] [--exploration 10] [--epochs 2]
[--tuned] [--seed 0] [--checkpoint PATH]``
"""

from __future__ import annotations

import argparse

from agents import ExponentialDecay, SharedQAgents, progress, train
from cnn_design_env import CachedEvaluator, env, get_space
from cnn_design_env.evaluators.training import TrainingEvaluator
from cnn_design_env.render import design_table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=16, help="total episodes")
    parser.add_argument("--exploration", type=int, default=10,
                        help="exploration episodes (the paper's rule: 144)")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs per design")
    parser.add_argument("--window", type=int, default=5,
                        help="identical greedy episodes that count as convergence")
    parser.add_argument("--tuned", action="store_true",
                        help="per-agent coin, exponential epsilon decay, running averages")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=None, help="save/resume file (.npz)")
    args = parser.parse_args(argv)

    space = get_space("vgg_mini")
    evaluator = CachedEvaluator(TrainingEvaluator(space, "digits", epochs=args.epochs))
    game = env(space, evaluator=evaluator)
    options = ({"coin": "agent", "epsilon": ExponentialDecay(1.0, 0.9), "additive": False}
               if args.tuned else {})
    team = SharedQAgents(space, seed=args.seed, exploration_episodes=args.exploration,
                         convergence_window=args.window, **options)
    print(f"{team!r}: {len(team.tables.edges)} Q-tables, {team.tables.nbytes} bytes; training "
          f"each design on 'digits' for {args.epochs} epoch(s)")
    result = train(game, team, episodes=args.episodes, seed=args.seed,
                   callbacks=[progress(1)], stop_on_convergence=True,
                   checkpoint=args.checkpoint, checkpoint_every=5 if args.checkpoint else 0,
                   resume=args.checkpoint is not None)

    best = result.best
    print(f"\nbest reward {best.reward:.3f} (episode {best.episode + 1}, accuracy "
          f"{best.metrics['accuracy']:.3f}, {best.metrics['model_size_mb']:.4f} MB):")
    print(design_table(space, best.design))
    if result.converged_design is not None:
        print(f"converged at episode {result.converged_episode + 1} to "
              f"{result.converged_design.actions}")
    else:
        print(f"not converged after {len(result.history)} episodes; greedy design now "
              f"{team.greedy_design().actions}")
    print(f"{len(evaluator)} distinct designs trained in {len(result.history)} episodes")


if __name__ == "__main__":
    main()
