"""The Optuna searchers' parameters are the hyperparameters (``layer.hyperparameter`` = value),
mapped one to one onto the design's actions; curves are reported to the trials."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("optuna")

from baselines import make_searcher
from baselines.optuna_params import parameters_of
from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, get_space

SPACE = get_space("vgg_mini")  # three tuned hyperparameters per conv layer (18 actions)


def test_parameters_are_named_layer_dot_hyperparameter_with_the_values_as_choices() -> None:
    searcher = make_searcher("tpe", SPACE, seed=0)
    assert list(searcher.distributions)[:3] == ["conv1.kernels", "conv1.kernel_size",
                                                "conv1.stride"]
    assert searcher.distributions["conv1.kernels"].choices == (8, 16, 32)
    expected = {f"{a}.{k}" for a in SPACE.agents for k in SPACE.by_name[a].choices}
    assert set(searcher.distributions) == expected
    assert parameters_of(SPACE)[0][1] == ("conv1.kernel_size", "kernel_size", (3, 5))


@pytest.mark.parametrize("distribution", ["categorical", "int"])
def test_every_action_maps_to_its_values_and_back(distribution) -> None:
    searcher = make_searcher("tpe", SPACE, seed=0, distribution=distribution)
    sizes = SPACE.action_sizes
    for action in range(max(sizes)):  # every action of every agent, in a few designs
        design = Design(tuple(min(action, n - 1) for n in sizes))
        params = searcher.params_of(design)
        for agent, chosen in zip(SPACE.agents, design.actions, strict=True):
            layer = SPACE.by_name[agent]
            for key, value in layer.action_values(chosen).items():
                position = layer.choices[key].index(value)
                assert params[f"{agent}.{key}"] == (value if distribution == "categorical"
                                                    else position)
        assert searcher.design_of(params) == design


def test_a_value_outside_the_choices_is_refused_by_name() -> None:
    searcher = make_searcher("tpe", SPACE, seed=0)
    params = searcher.params_of(Design((0,) * SPACE.num_agents))
    with pytest.raises(ValueError, match=r"'conv1.kernels' = 12 is not one of its choices"):
        searcher.design_of({**params, "conv1.kernels": 12})
    del params["fc1.units"]
    with pytest.raises(ValueError, match=r"'fc1\.units' is missing"):
        searcher.design_of(params)


def test_asked_trials_hold_values_and_told_ones_the_curve_and_reward() -> None:
    searcher = make_searcher("tpe", SPACE, seed=3, n_startup_trials=2)
    curve = (0.5, 0.7, float("nan"), 0.8)
    for step in range(4):
        design = searcher.ask()
        searcher.tell(design, float(step), Metrics(accuracy=0.8, accuracy_curve=curve))
    trials = searcher.study.trials
    assert [t.value for t in trials] == [0.0, 1.0, 2.0, 3.0]
    assert trials[0].intermediate_values == {1: 0.5, 2: 0.7, 4: 0.8}  # NaN left out
    assert searcher.study.metric_names == ["reward"]
    for trial in trials:
        design = searcher.design_of(trial.params)
        values = SPACE.hyperparameters(design)
        assert all(trial.params[f"{a}.{k}"] == values[a][k]
                   for a in SPACE.agents for k in SPACE.by_name[a].choices)


def test_a_warm_start_is_a_finished_trial_with_values_and_curve() -> None:
    searcher = make_searcher("tpe", SPACE, seed=0)
    design = Design(tuple(n - 1 for n in SPACE.action_sizes))
    searcher.tell(design, 2.5, Metrics(accuracy=0.9, accuracy_curve=(0.6, 0.9)))
    (trial,) = searcher.study.trials
    assert trial.state.name == "COMPLETE" and trial.value == 2.5
    assert trial.params["conv1.kernels"] == 32 and trial.params["conv1.stride"] == 2
    assert trial.intermediate_values == {1: 0.6, 2: 0.9}
    assert trial.user_attrs["design"] == list(design.actions)


def test_nsga2_names_its_objectives_and_reports_no_curve() -> None:
    searcher = make_searcher("nsga2", SPACE, seed=0, population_size=4)
    assert searcher.study.metric_names == ["accuracy", "model_size_mb", "infer_ms_per_batch"]
    design = searcher.ask()
    searcher.tell(design, 1.0, Metrics(accuracy=0.7, model_size_mb=0.1, accuracy_curve=(0.7,)))
    (trial,) = searcher.study.trials
    assert trial.values == [0.7, 0.1, 0.0] and trial.intermediate_values == {}


def test_the_seeded_designs_are_the_same_twice() -> None:
    def designs(seed: int) -> list[Design]:
        searcher = make_searcher("tpe", SPACE, seed=seed, n_startup_trials=3)
        out = []
        for _ in range(8):
            out.append(searcher.ask())
            searcher.tell(out[-1], float(sum(out[-1].actions) % 5))
        return out

    assert designs(1) == designs(1)
    assert designs(1) != designs(2)


def test_a_trial_asked_before_a_checkpoint_gets_its_curve_after_the_resume(tmp_path) -> None:
    def bound(directory):
        searcher = make_searcher("tpe", SPACE, seed=2, n_startup_trials=2)
        searcher.bind_storage(directory, "study")
        return searcher

    (tmp_path / "a").mkdir()
    searcher = bound(tmp_path / "a")
    searcher.tell(searcher.ask(), 1.0)
    design = searcher.ask()  # in flight at the checkpoint
    arrays, meta = searcher.state_dict()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    restored = bound(tmp_path / "b")
    restored.load_state_dict(arrays, meta)
    restored.tell(design, 2.0, Metrics(accuracy=0.9, accuracy_curve=(0.4, 0.9)))
    trial = restored.study.trials[1]
    assert trial.state.name == "COMPLETE" and trial.value == 2.0
    assert trial.intermediate_values == {1: 0.4, 2: 0.9}
    assert restored.design_of(trial.params) == design == Design(tuple(trial.user_attrs["design"]))
