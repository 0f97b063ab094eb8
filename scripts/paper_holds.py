"""Regenerate the README section "Does the paper hold here?" (one command, whatever it shows).

Part 1, the search methods on both shipped tables: the paper's team with its default settings
(``marl``) against random search, regularized evolution and MetaQNN-style Q-learning, 20 seeds,
budgets of 100 and 300 evaluations, scored as ``cnn-design benchmark`` scores them (the true
quality of the design each method recommends, regret, share of runs recommending a top-1 % design,
over all runs).

Part 2, the paper's Table V: the recommended design of a real-training search (``cnn-design
search``) against the original network, both trained to convergence (``cnn-design train``) and
scored on the held-out test split, for ``vgg_mini`` on digits and ``unet_mini`` on shapes.

Usage::

    python scripts/paper_holds.py                 # both parts, rewrites the README section
    python scripts/paper_holds.py --part tables   # only part 1 (part 2 kept as it is)
    python scripts/paper_holds.py --part table5 --out runs/paper_holds
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- paper-holds:{part}:start -->", "<!-- paper-holds:{part}:end -->"
TABLES = ("table_chain", "table_inception")
METHODS = ("marl", "random", "evolution", "qlearning")
BUDGETS = (100, 300)
SEEDS = 20
TABLE_V = (
    # space, data, search episodes, exploration episodes, final-training max epochs
    ("vgg_mini", "digits", 90, 48, 60),
    ("unet_mini", "shapes", 12, 6, 20),
)


def _fmt(mean: float, se: float | None = None, digits: int = 3) -> str:
    if mean is None or mean != mean:
        return "-"
    if se is None or se != se:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def tables_part() -> str:
    """Part 1 as Markdown."""
    from baselines.compare import benchmark, summarize
    from cnn_design_env.evaluators.tabular import TabularEvaluator
    from cnn_design_env.reward import PaperReward

    reward = PaperReward()
    lines = []
    start = time.perf_counter()
    for name in TABLES:
        evaluator = TabularEvaluator(name, seed=0)
        lines += [f"`{name}` (optimum quality {{optimum}}, top 1 % from {{top}}):", "",
                  "| budget | method | recommended (true quality) | regret | in top 1 % | "
                  "best observed | distinct designs |", "|---|---|---|---|---|---|---|"]
        header = len(lines) - 4
        for budget in BUDGETS:
            result = benchmark(list(METHODS), evaluator, reward, seeds=SEEDS,
                               budget_episodes=budget)
            for row in summarize(result, fractions=(1.0,)):
                runs = result.histories[row["method"]]
                distinct = sum(len({e.design for e in h}) for h in runs) / len(runs)
                lines.append(
                    f"| {budget} | {row['method']} | {_fmt(row['quality@1'], row['quality@1_se'])}"
                    f" | {_fmt(row['regret@1'], row['regret@1_se'])} | "
                    f"{round(row['top_share@1'] * row['runs'])}/{row['runs']} | "
                    f"{_fmt(row['best@1'], row['best@1_se'])} | {distinct:.0f} |")
        lines[header] = lines[header].format(optimum=_fmt(result.optimum),
                                             top=_fmt(result.quality_threshold()))
        lines.append("")
    wall = time.perf_counter() - start
    return "\n".join([
        f"Made by `python scripts/paper_holds.py --part tables` ({wall:.0f} s wall on "
        f"{_machine()}): {SEEDS} seeds per method and budget, reward `PaperReward()` "
        "(Eq. 2 with N_epoch >= 3), the methods' default settings (`marl`: the paper's team, "
        "exploration ceil(1.25 x 10 cells) = 13 episodes, epsilon 0.99^k, alpha 0.95 x 0.999^k;"
        " `qlearning`: MetaQNN's schedule spread over the budget). Values: mean ± standard error "
        "over all runs. *Recommended*: the true quality (mean reward over the table's two "
        "recorded seeds) of the design the method recommends at the end (the best of its top 3 "
        "by mean observed reward, re-evaluated on every recorded seed); *regret*: the table "
        "optimum minus it; *in top 1 %*: runs whose recommendation is among the table's best "
        "1 % of designs by true quality; *best observed*: the luckiest single reward a run saw "
        "(not the score).", "", *lines])


def _machine() -> str:
    import os

    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, shared"


def _cli(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "cnn_design_env.cli", *args], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"cnn-design {' '.join(args)} failed:\n{done.stderr}")


def table5_part(out: Path) -> str:
    """Part 2 as Markdown (runs the searches and the final trainings)."""
    rows = []
    commands = []
    for space, data, episodes, exploration, max_epochs in TABLE_V:
        run = out / f"{space}_{data}"
        search = ["search", "--space", space, "--data", data, "--episodes", str(episodes),
                  "--exploration", str(exploration), "--out", str(run), "--overwrite",
                  "--quiet"]
        train = ["train", "--design", str(run), "--max-epochs", str(max_epochs),
                 "--patience", "5"]
        start = time.perf_counter()
        _cli(*search)
        searched = time.perf_counter() - start
        _cli(*train)
        trained = time.perf_counter() - start - searched
        commands.append(f"cnn-design {' '.join(search)}  # {searched:.0f} s")
        commands.append(f"cnn-design {' '.join(train)}  # {trained:.0f} s")
        summary = json.loads((run / "summary.json").read_text())
        final = json.loads((run / "final_training.json").read_text())
        mine, original = final["results"]
        rec = summary["recommendation"]
        rows.append((space, data, mine, original, rec, summary))
    lines = ["| CNN | data | network | design | params | size MB | test accuracy | "
             "train ms/batch | infer ms/batch | epochs (best) |", "|---" * 10 + "|"]
    ratios = ["", "| CNN | params | size | test accuracy | train ms/batch | infer ms/batch |",
              "|---|---|---|---|---|---|"]
    for space, data, mine, original, _, _ in rows:
        for label, r in (("recommended", mine), ("original", original)):
            lines.append(f"| `{space}` | {data} | {label} | {tuple(r['design'])} | "
                         f"{r['params']:,} | {r['model_size_mb']:.4f} | "
                         f"{_fmt(r['test_accuracy'], digits=4)} | "
                         f"{r['train_ms_per_batch']:.2f} | {r['infer_ms_per_batch']:.2f} | "
                         f"{r['epochs']} ({r['best_epoch']}) |")

        def ratio(key: str, mine: dict = mine, original: dict = original) -> str:
            return f"{mine[key] / original[key]:.2f}x" if original[key] else "-"

        ratios.append(f"| `{space}` | {ratio('params')} | {ratio('model_size_mb')} | "
                      f"{mine['test_accuracy'] - original['test_accuracy']:+.4f} | "
                      f"{ratio('train_ms_per_batch')} | {ratio('infer_ms_per_batch')} |")
    searches = "; ".join(
        f"`{s}`: {summ['evaluations']} evaluations ({summ['distinct_designs']} distinct), "
        f"recommended {tuple(rec['design'])} with validation reward "
        f"{_fmt(rec['mean_reward'], rec['sd_reward'])} (n={rec['n']})"
        for s, _, _, _, rec, summ in rows)
    return "\n".join([
        f"Made by `python scripts/paper_holds.py --part table5` on {_machine()}, with these "
        "commands (wall times measured):", "", "```bash", *commands, "```", "",
        "Searches: the paper's team with real training (3 epochs per design), ended by the "
        "final choice (top 3 re-evaluated on 2 more seeds); " + searches + ". Final training: "
        "both networks from the same seed until validation accuracy has not improved for 5 "
        "epochs (at most the given epochs), the best epoch's parameters scored on the held-out "
        "test split (digits: 180 images, shapes: 51; Dice for shapes). Times are medians per "
        "batch of the training batch size on this busy CPU.", "", *lines, *ratios, ""])


def replace_part(text: str, part: str, body: str) -> str:
    """``text`` with the section between ``part``'s markers replaced by ``body``."""
    start, end = START.format(part=part), END.format(part=part)
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"README has no {start} ... {end} markers")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "tables", "table5"), default="all")
    parser.add_argument("--out", default="runs/paper_holds", help="run folders of part 2")
    parser.add_argument("--print", action="store_true", help="print instead of editing README")
    args = parser.parse_args(argv)
    parts: dict[str, str] = {}
    if args.part in ("all", "tables"):
        parts["tables"] = tables_part()
    if args.part in ("all", "table5"):
        parts["table5"] = table5_part(ROOT / args.out)
    if args.print:
        print("\n\n".join(parts.values()))
        return 0
    text = README.read_text()
    for part, body in parts.items():
        text = replace_part(text, part, body)
    README.write_text(text)
    print(f"rewrote {', '.join(parts)} in {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


