"""Quality statistics of a table, checked against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from cnn_design_env.space import get_space
from cnn_design_env.tables import load_table
from cnn_design_env.tables.quality import quality_markdown, quality_stats


def test_statistics_of_the_shipped_chain_table():
    table = load_table("table_chain")
    acc, reason = table.arrays["accuracy"], table.arrays["reason"]
    q = quality_stats(acc, reason, space=get_space("table_chain"))
    assert q["spearman_all"] == pytest.approx(spearmanr(acc[:, 0], acc[:, 1]).statistic)
    mean = acc.mean(axis=1)
    top = mean >= np.quantile(mean, 0.9)
    assert q["spearman_top10"] == pytest.approx(
        spearmanr(acc[top, 0], acc[top, 1]).statistic)
    assert q["duplicates"] == 80
    assert q["terminated_share"] == pytest.approx((reason > 0).mean())
    assert q["gap_best_to_q99"] == pytest.approx(mean.max() - np.quantile(mean, 0.99))
    text = quality_markdown({"table_chain": q})
    assert "(below)" in text and "| duplicate networks | 80 |" in text


def test_three_seeds_average_the_pairs():
    rng = np.random.default_rng(0)
    acc = rng.random((50, 3))
    q = quality_stats(acc, np.zeros(acc.shape, int))
    pairs = [spearmanr(acc[:, a], acc[:, b]).statistic for a, b in ((0, 1), (0, 2), (1, 2))]
    assert q["spearman_all"] == pytest.approx(np.mean(pairs))
    assert q["duplicates"] is None and q["seeds"] == 3
