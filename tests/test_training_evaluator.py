"""TrainingEvaluator end to end: real training of tiny networks on tiny data (seconds each)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from cnn_design_env.evaluators import Metrics
from cnn_design_env.evaluators.training import TrainingEvaluator
from cnn_design_env.space import Design, SearchSpace, analyze, get_space
from cnn_design_env.space import layers as L
from cnn_design_env.train import loop
from cnn_design_env.train.augment import Augmentation
from cnn_design_env.train.data import Dataset, load_digits, make_shapes
from cnn_design_env.train.grouprun import GroupRun
from cnn_design_env.train.settings import TrainerSettings
from cnn_design_env.train.termination import TerminationConfig

DATA = {"vgg_mini": "digits", "inception_mini": "digits", "unet_mini": "shapes"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("jax_cache")


@pytest.fixture(scope="module")
def datasets() -> dict[str, Dataset]:
    return {"digits": load_digits(seed=0), "shapes": make_shapes(n=256, seed=0)}


def original(space: SearchSpace) -> Design:
    return space.design_from_hyperparameters({a: space.by_name[a].params for a in space.agents})


def make(name: str, datasets, cache_dir, **kwargs) -> TrainingEvaluator:
    return TrainingEvaluator(get_space(name), datasets[DATA[name]], cache_dir=cache_dir,
                             **kwargs)


@pytest.mark.parametrize("name", list(DATA))
def test_every_small_preset_trains_one_epoch_on_tiny_data(name, datasets, cache_dir) -> None:
    evaluator = make(name, datasets, cache_dir, epochs=1, subsample_per_class=16)
    space = evaluator.space
    design = original(space)
    metrics = evaluator.evaluate(design, seed=0)
    assert isinstance(metrics, Metrics)
    assert not metrics.terminated, metrics.reason
    analysis = analyze(space, design)
    assert (metrics.params, metrics.flops) == (analysis.params, analysis.flops)
    assert metrics.model_size_mb == pytest.approx(analysis.model_size_mb)
    assert metrics.epochs == 1 and len(metrics.loss_curve) == len(metrics.accuracy_curve) == 1
    assert 0.0 <= metrics.accuracy <= 1.0 and np.isfinite(metrics.loss_curve[0])
    assert metrics.train_ms_per_batch > 0 and metrics.infer_ms_per_batch > 0
    assert 0 < metrics.compile_s < metrics.cost_s
    assert metrics.extra["device"] in ("cpu", "gpu", "cuda", "rocm", "tpu")
    again = evaluator.evaluate(design, seed=0)  # compiled steps reused in-process
    assert again.compile_s == 0.0 and again.extra["compiled_cached"]
    assert again.loss_curve == metrics.loss_curve and again.accuracy == metrics.accuracy


def test_vgg_mini_reaches_90_percent_on_digits_with_default_settings(datasets, cache_dir
                                                                      ) -> None:
    evaluator = make("vgg_mini", datasets, cache_dir)  # defaults: 10 epochs, Table II settings
    start = time.perf_counter()
    metrics = evaluator.evaluate(original(evaluator.space), seed=0)
    seconds = time.perf_counter() - start
    print(f"vgg_mini on digits: accuracy {metrics.accuracy:.3f} in {seconds:.1f} s "
          f"(compile {metrics.compile_s:.1f} s, {metrics.train_ms_per_batch:.2f} ms/batch)")
    assert not metrics.terminated, metrics.reason
    assert metrics.epochs == 10 and metrics.accuracy >= 0.90
    assert metrics.epochs_to_threshold is not None and metrics.epochs_to_threshold <= 3
    assert metrics.cost_s == pytest.approx(seconds, rel=0.05)


@pytest.mark.parametrize("name", ["inception_mini", "unet_mini"])
def test_inception_and_unet_designs_train_with_falling_loss(name, datasets, cache_dir) -> None:
    evaluator = make(name, datasets, cache_dir, epochs=4)
    metrics = evaluator.evaluate(original(evaluator.space), seed=1)
    assert not metrics.terminated, metrics.reason
    curve = metrics.loss_curve
    assert len(curve) == 4 and curve[-1] < 0.8 * curve[0], curve
    floor = 0.8 if name == "inception_mini" else 0.5  # accuracy on digits, Dice on shapes
    assert metrics.accuracy > floor, metrics.accuracy_curve


def tiny_vgg(datasets, cache_dir, **kwargs) -> tuple[TrainingEvaluator, Design]:
    evaluator = make("vgg_mini", datasets, cache_dir, subsample_per_class=16, **kwargs)
    return evaluator, original(evaluator.space)


def test_slow_batches_terminate_at_once(datasets, cache_dir) -> None:
    config = TerminationConfig(batch_time_s=1e-9, batch_time_patience=2)
    evaluator, design = tiny_vgg(datasets, cache_dir, epochs=3, termination=config)
    metrics = evaluator.evaluate(design, seed=0)
    assert metrics.terminated and metrics.reason == "batch_time"
    assert metrics.restarts == 0 and metrics.epochs == 1  # stopped inside the first epoch
    assert metrics.params == analyze(evaluator.space, design).params


def test_high_loss_restarts_once_then_is_penalised(datasets, cache_dir) -> None:
    config = TerminationConfig(loss_threshold=1e-6, loss_threshold_relative=False,
                               loss_patience=2)
    evaluator, design = tiny_vgg(datasets, cache_dir, epochs=5, termination=config)
    metrics = evaluator.evaluate(design, seed=0)
    assert metrics.terminated and metrics.reason == "loss"
    assert metrics.restarts == 1
    assert metrics.epochs == 2  # the second run's two epochs
    assert metrics.epochs_to_threshold is None


def test_nan_loss_terminates(datasets, cache_dir) -> None:
    digits = datasets["digits"]
    x = digits.x_train.copy()
    x[:, 0, 0, 0] = np.nan
    poisoned = dataclasses.replace(digits, x_train=x)
    evaluator = TrainingEvaluator(get_space("vgg_mini"), poisoned, epochs=2,
                                  subsample_per_class=8, cache_dir=cache_dir)
    metrics = evaluator.evaluate(original(evaluator.space), seed=0)
    assert metrics.terminated and metrics.reason == "nan"


@pytest.mark.parametrize("error", [RuntimeError("boom"), MemoryError("out of memory")])
def test_any_exception_becomes_a_terminated_metrics(error, datasets, cache_dir,
                                                    monkeypatch) -> None:
    evaluator, design = tiny_vgg(datasets, cache_dir, epochs=1, form="exact")

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(loop, "train_epoch", fail)
    monkeypatch.setattr(GroupRun, "run", fail)  # the masked form's loop
    metrics = evaluator.evaluate(design, seed=0)
    assert metrics.terminated
    assert metrics.reason == f"exception: {type(error).__name__}: {error}"
    assert metrics.params == analyze(evaluator.space, design).params and metrics.cost_s > 0
    bad = evaluator.evaluate(Design((99,) * evaluator.space.num_agents), seed=0)
    assert bad.terminated and bad.reason.startswith("exception: ValueError: action 99")
    masked, _ = tiny_vgg(datasets, cache_dir, epochs=1, form="masked")
    for metrics in (masked.evaluate(design, seed=0), *masked.evaluate_many([design, bad_design(
            masked.space)], [0, 1])):
        assert metrics.terminated and metrics.reason.startswith("exception: ")


def bad_design(space: SearchSpace) -> Design:
    return Design((99,) * space.num_agents)


def test_seeded_results_and_automatic_epochs(datasets, cache_dir) -> None:
    evaluator = make("vgg_mini", datasets, cache_dir, subsample_per_class=60, epochs=6,
                     auto_epochs=True, augment=Augmentation(shift=1))
    design = original(evaluator.space)
    assert evaluator.epochs == 6
    first = evaluator.evaluate(design, seed=3)
    assert not first.terminated and first.epochs == 6
    assert first.epochs_to_threshold is not None and first.epochs_to_threshold < 6
    assert evaluator.epochs == max(3, first.epochs_to_threshold)  # paper VI-A
    second = evaluator.evaluate(design, seed=3)
    assert second.epochs == evaluator.epochs
    assert second.loss_curve == first.loss_curve[:second.epochs]  # same seed, same numbers
    other = evaluator.evaluate(design, seed=4)
    assert other.loss_curve != second.loss_curve


def test_train_agents_set_the_training_hyperparameters(datasets, cache_dir) -> None:
    base = get_space("vgg_mini")
    tuner = L.train("hp", tune={"optimizer": ("sgd", "adam"), "learning_rate": (0.01, 0.003),
                                "batch_size": (24, 48)})
    space = SearchSpace("tuned", (*base.layers, tuner), base.input_shape, base.num_classes)
    evaluator = TrainingEvaluator(space, datasets["digits"], epochs=1, subsample_per_class=16,
                                  cache_dir=cache_dir)
    values = {a: space.by_name[a].params for a in base.agents}
    values["hp"] = {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 24}
    metrics = evaluator.evaluate(space.design_from_hyperparameters(values), seed=0)
    assert not metrics.terminated, metrics.reason
    assert metrics.extra["batch_size"] == 24
    assert metrics.extra["settings"]["optimizer"] == "adam"


def test_data_must_fit_the_space_unless_adapted(datasets) -> None:
    with pytest.raises(ValueError, match="segmentation"):
        TrainingEvaluator(get_space("vgg_mini"), datasets["shapes"], persistent_cache=False)
    digits = datasets["digits"]
    big = dataclasses.replace(digits, x_train=np.repeat(np.repeat(digits.x_train, 2, 1), 2, 2),
                              x_val=np.repeat(np.repeat(digits.x_val, 2, 1), 2, 2))
    with pytest.raises(ValueError, match="adapt_space=True"):
        TrainingEvaluator(get_space("vgg_mini"), big, persistent_cache=False)
    adapted = TrainingEvaluator(get_space("vgg_mini"), big, adapt_space=True,
                                persistent_cache=False)
    assert adapted.space.input_shape == (16, 16, 1)
    assert adapted.space.agents == get_space("vgg_mini").agents


def test_persistent_cache_directory_from_argument_and_environment(tmp_path, monkeypatch,
                                                                  datasets) -> None:
    import jax

    from cnn_design_env.train import jaxcache

    before = jax.config.jax_compilation_cache_dir
    monkeypatch.setenv(jaxcache.ENV_VAR, str(tmp_path / "env"))
    assert jaxcache.default_cache_dir() == tmp_path / "env"
    space = get_space("vgg_mini")
    assert TrainingEvaluator(space, datasets["digits"]).cache_dir == tmp_path / "env"
    assert TrainingEvaluator(space, datasets["digits"], persistent_cache=False).cache_dir is None
    evaluator = TrainingEvaluator(space, datasets["digits"], cache_dir=tmp_path / "arg",
                                  epochs=1, subsample_per_class=4)
    assert evaluator.cache_dir == tmp_path / "arg"
    assert not evaluator.evaluate(original(space), seed=0).terminated
    assert list((tmp_path / "arg").glob("*.xla"))  # compiled programs stored there
    fresh = TrainingEvaluator(space, datasets["digits"], cache_dir=tmp_path / "arg", epochs=1,
                              subsample_per_class=4)
    assert fresh.evaluate(original(space), seed=0).compile_s < 5.0
    assert jax.config.jax_compilation_cache_dir == before  # nothing process-wide changed
    with pytest.raises(ValueError, match="not both"):
        TrainingEvaluator(space, datasets["digits"], settings=TrainerSettings(), form="exact")
