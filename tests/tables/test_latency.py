"""The per-layer latency table: timed layers, predictions, and accuracy shares computed."""

from __future__ import annotations

import pytest

import cnn_design_env.tables.latency as lat
from cnn_design_env.space import Design, SearchSpace, analyze
from cnn_design_env.space import layers as L


def tiny_space() -> SearchSpace:
    layers = (L.input_layer(),
              L.conv("conv", "input", kernels=4, tune={"kernels": (2, 4)}),
              L.pool("pool", "conv", tune={"pool_size": (2, 4)}),
              L.flatten("flatten", "pool"),
              L.dense("fc", "flatten", units=8),
              L.output("output", "fc"))
    return SearchSpace("tiny_latency", layers, (8, 8, 1), 10)


def test_measured_layers_predict_a_positive_latency():
    space = tiny_space()
    table = lat.LatencyTable(space)
    design = Design((1, 0))
    table.measure_design(design, (1, 4))
    keys = {k for k, _ in table.layers}
    assert len(keys) == 5  # conv, pool, flatten, fc, output
    for batch in (1, 4):
        assert table.overhead[batch] > 0
        assert table.predict(design, batch) > 0
    assert lat.measure_network(space, design, 4) > 0
    with pytest.raises(KeyError):
        table.predict(Design((0, 1)), 1)  # a conv of 2 kernels was never measured


def test_validation_shares_follow_the_errors(monkeypatch):
    space = tiny_space()
    table = lat.LatencyTable(space)
    designs = [Design((a, b)) for a in (0, 1) for b in (0, 1)]
    table.overhead[1] = 0.0
    for design in designs:
        for info in analyze(space, design).layers[1:]:
            table.layers[(lat.layer_key(space, info), 1)] = 1.0  # 5 layers: 5 ms predicted
    exact = {designs[0]: 5.0, designs[1]: 4.7, designs[2]: 4.3, designs[3]: 2.0}
    monkeypatch.setattr(lat.LatencyTable, "measure_design", lambda self, d, b: None)
    monkeypatch.setattr(lat, "measure_network", lambda space, d, b, repeats: exact[d])
    result = lat.validate(table, designs, (1,))[1]
    # errors: 0, 6.4 %, 16.3 %, 150 %
    assert result["within_10"] == 0.5 and result["within_20"] == 0.75
    assert result["designs"] == 4


def test_time_call_needs_five_repeats():
    with pytest.raises(ValueError, match="repeats >= 5"):
        lat.time_call(lambda: None, [], repeats=3)


def test_calibration_fits_measured_on_layer_sums(monkeypatch):
    space = tiny_space()
    table = lat.LatencyTable(space)
    designs = [Design((a, b)) for a in (0, 1) for b in (0, 1)]
    table.overhead[1] = 0.0
    for design in designs:
        for info in analyze(space, design).layers[1:]:
            slow = info.kind == "conv" and info.hparams["kernels"] == 4
            table.layers[(lat.layer_key(space, info), 1)] = 3.0 if slow else 1.0
    raw = {d: table.predict(d, 1) for d in designs}
    assert sorted(set(raw.values())) == [5.0, 7.0]
    monkeypatch.setattr(lat.LatencyTable, "measure_design", lambda self, d, b: None)
    monkeypatch.setattr(lat, "measure_network", lambda space, d, b, repeats: 0.5 * raw[d] + 1)
    table.calibrate(designs, (1,))
    assert table.calibration[1] == pytest.approx((1.0, 0.5))
    assert table.predict(designs[3], 1) == pytest.approx(0.5 * raw[designs[3]] + 1)
    assert lat.validate(table, designs, (1,))[1]["within_10"] == 1.0
