"""The exact-or-masked cost model (pure logic)."""

import pytest

from cnn_design_env.train.costmodel import CostModel


def test_the_step_line_is_learnt_from_observed_steps():
    model = CostModel()
    for dispatches, flops in ((1, 1e4), (1, 1e5), (16, 3e5), (16, 1e6), (1, 5e5)):
        model.observe_step(1e-3 * dispatches + 2e-11 * 3 * flops * 32, flops, 32, dispatches)
    assert model.step_overhead_s == pytest.approx(1e-3, rel=1e-6)
    assert model.seconds_per_flop == pytest.approx(2e-11, rel=1e-6)


def test_cached_programs_and_cheap_envelopes_favour_the_masked_form():
    model = CostModel(compile_s=1.0, masked_compile_s=0.2, seconds_per_flop=1e-11,
                      step_overhead_s=1e-4)
    assert model.choose(flops=1e4, envelope_flops=1e5, batch=32, steps=100,
                        exact_cached=False, masked_cached=False)[0] == "masked"
    assert model.choose(flops=1e4, envelope_flops=1e5, batch=32, steps=100,
                        exact_cached=True, masked_cached=False)[0] == "exact"
    assert model.choose(flops=1e4, envelope_flops=1e8, batch=32, steps=1000,
                        exact_cached=False, masked_cached=True)[0] == "exact"


def test_compile_times_are_averaged_per_form():
    model = CostModel(compile_s=1.0, masked_compile_s=0.5, alpha=0.5)
    model.observe_compile(0.0)  # an exact cache hit says nothing about compiling
    model.observe_compile(3.0)
    model.observe_compile(0.0, masked=True)  # a shared masked program: nothing compiled
    assert (model.compile_s, model.masked_compile_s) == (2.0, 0.25)
