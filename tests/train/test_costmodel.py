"""The exact-or-masked cost model (pure logic) and its ledger of programs asked for."""

import math

import pytest

from cnn_design_env.train.costmodel import CostModel, FormChoice, ProgramLedger


def test_new_programs_and_wide_envelopes_decide_the_form():
    model = CostModel(compile_s=1.0, program_compile_s=0.1,
                      seconds_per_flop=1e-11, step_overhead_s=1e-4, dispatch_s=1e-5)
    short = dict(flops=1e4, envelope_flops=1e5, batch=32, steps=100)
    assert model.choose(**short, exact_new=1, masked_new=0).form == "masked"
    assert model.choose(**short, exact_new=0, masked_new=0).form == "exact"  # tie: exact
    assert model.choose(**short, exact_new=0, masked_new=1).form == "exact"
    wide = dict(flops=1e4, envelope_flops=1e8, batch=32, steps=1000)
    assert model.choose(**wide, exact_new=1, masked_new=0).form == "exact"
    # layer programs are charged per (weighted) program: 2 new ones cost 2 * 0.1 s
    layer = model.choose(**short, exact_new=1, masked_new=2.0, masked_mode="layer",
                         masked_dispatches=10)
    assert layer.masked_s == pytest.approx(0.2 + 100 * (10 * 1e-5 + 3 * 1e5 * 32 * 1e-11))
    assert layer.exact_s == pytest.approx(1.0 + 100 * (1e-4 + 3 * 1e4 * 32 * 1e-11))


def test_the_choice_is_a_pure_function_and_says_why():
    model = CostModel()
    args = dict(flops=2e5, envelope_flops=9e5, batch=32, steps=108, exact_new=1,
                masked_new=12, masked_mode="layer", masked_dispatches=16)
    first = model.choose(**args)
    assert all(model.choose(**args) == first for _ in range(3))
    assert isinstance(first, FormChoice)
    assert first.reason.startswith("cost model: exact ") and "(estimated)" in first.reason
    assert model == CostModel() and hash(model) == hash(CostModel())  # frozen, hashable


@pytest.mark.parametrize("field", ["compile_s", "program_compile_s",
                                   "seconds_per_flop", "step_overhead_s", "dispatch_s"])
@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf, "1"])
def test_bad_constants_are_refused_by_name(field, value):
    with pytest.raises(ValueError, match=rf"CostModel\.{field} must be a finite number > 0"):
        CostModel(**{field: value})


def test_unknown_compile_modes_are_refused():
    with pytest.raises(ValueError, match="unknown compile mode 'fast'"):
        CostModel().train_s(1e5, 32, 10, mode="fast")


def test_bad_horizons_are_refused():
    with pytest.raises(ValueError, match=r"CostModel\.horizon must be a finite number >= 0"):
        CostModel(horizon=-1.0)
    with pytest.raises(ValueError, match=r"horizon must be a finite number >= 0, got inf"):
        ProgramLedger().new([("a",)], horizon=math.inf)


def test_the_ledger_counts_programs_not_asked_for_before():
    ledger = ProgramLedger()
    assert ledger.new([("a",), ("b",), ("a",)]) == 2.0  # duplicates compile once
    ledger.record(chosen=[("a",)], wanted=[("b",)])
    assert ledger.new([("a",), ("b",)]) == 1.0 and len(ledger) == 1 and ("a",) in ledger


def test_programs_many_requests_wanted_are_charged_less():
    ledger = ProgramLedger()
    for _ in range(8):  # every request wanted "common", none chose it
        ledger.record(chosen=[("own",)], wanted=[("common",)])
    common = ledger.new([("common",)], horizon=16.0)
    rare = ledger.new([("rare",)], horizon=16.0)
    assert common == pytest.approx(1 / (1 + 16 * 9 / 10))
    assert rare == pytest.approx(1 / (1 + 16 * 1 / 10))
    assert common < rare < ledger.new([("rare",)]) == 1.0
