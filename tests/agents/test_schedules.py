"""The default schedules (plain exponential decays), the compounding option and the exploration
length, against values computed by hand."""

from __future__ import annotations

import math

import pytest

from agents import (
    COMPOUNDING_ALPHA,
    COMPOUNDING_EPSILON,
    PAPER_ALPHA,
    PAPER_EPSILON,
    ExponentialDecay,
    PaperDecay,
    SharedQAgents,
)
from cnn_design_env.space import get_space


@pytest.mark.parametrize(("k", "epsilon", "alpha"), [
    (0, 1.0, 0.95),
    (50, 0.605006, 0.903645),      # 0.99 ** 50; 0.95 * 0.999 ** 50
    (260, 0.073308, 0.732404),     # 0.99 ** 260; 0.95 * 0.999 ** 260
])
def test_default_schedules_are_plain_exponentials(k, epsilon, alpha):
    assert isinstance(PAPER_EPSILON, ExponentialDecay) and isinstance(PAPER_ALPHA, ExponentialDecay)
    assert PAPER_EPSILON.value(k) == pytest.approx(epsilon, abs=1e-6)
    assert PAPER_ALPHA.value(k) == pytest.approx(alpha, abs=1e-6)
    assert round(PAPER_EPSILON.value(50), 3) == 0.605
    assert round(PAPER_EPSILON.value(260), 3) == 0.073


@pytest.mark.parametrize(("k", "epsilon", "alpha"), [
    (0, 1.0, 0.95),
    (50, 2.7219e-6, 0.265290),     # 0.99 ** 1275; 0.95 * 0.999 ** 1275
    (260, 0.99 ** 33930, 0.95 * 0.999 ** 33930),   # k (k + 1) / 2 = 33930
])
def test_compounding_option(k, epsilon, alpha):
    assert isinstance(COMPOUNDING_EPSILON, PaperDecay)
    assert COMPOUNDING_EPSILON.value(k) == pytest.approx(epsilon, rel=1e-4, abs=1e-300)
    assert COMPOUNDING_ALPHA.value(k) == pytest.approx(alpha, rel=1e-4, abs=1e-300)


def test_halving_the_rate_halves_the_phase_only_when_plain():
    """Section VIII-G: 0.98 ** n instead of 0.99 ** n "cuts the phase to half"."""
    def episodes_to(schedule, level=0.05):
        return next(k for k in range(100000) if schedule.value(k) < level)

    plain = episodes_to(ExponentialDecay(1.0, 0.98)) / episodes_to(ExponentialDecay(1.0, 0.99))
    compounding = episodes_to(PaperDecay(1.0, 0.98)) / episodes_to(PaperDecay(1.0, 0.99))
    assert plain == pytest.approx(0.5, abs=0.02)
    assert compounding == pytest.approx(1 / math.sqrt(2), abs=0.03)


@pytest.mark.parametrize(("name", "cells", "episodes"), [
    ("vgg_mini", 144, 180), ("table_chain", 10, 13), ("unet", 1764, 2205), ("vgg16", 400, 500),
])
def test_default_exploration_length_has_the_papers_margin(name, cells, episodes):
    team = SharedQAgents(get_space(name), seed=0)
    assert team.tables.max_cells == cells
    assert team.exploration_episodes == episodes == math.ceil(1.25 * cells)


def test_team_uses_the_default_schedules():
    team = SharedQAgents(get_space("vgg_mini"), seed=0, exploration_episodes=0)
    assert team.epsilon == 1.0 and team.alpha == 0.95
    team.episodes = 50
    assert team.epsilon == pytest.approx(0.99 ** 50) and team.alpha == pytest.approx(
        0.95 * 0.999 ** 50)
