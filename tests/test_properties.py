"""Property-based tests (Hypothesis) of issue 17's invariant over careless input: a clear
exception of a documented type, or a correct result; never silent nonsense.

Spaces, layer values, training settings, actions (AEC, Gym, ``Design``), rewards and data files
(npz and CIFAR, built and mutilated). The profile (``tests/conftest.py``) keeps CI fast; set
``HYPOTHESIS_PROFILE=dev`` for a longer run.
"""

from __future__ import annotations

import contextlib
import io
import math
import pickle
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from fixtures import FixtureEvaluator
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import cnn_design_env
from cnn_design_env.evaluators import Metrics
from cnn_design_env.gym_env import CNNDesignGymEnv
from cnn_design_env.reward import Constraint, PaperReward, WeightedReward
from cnn_design_env.space import Design, SearchSpace, analyze, get_space
from cnn_design_env.space import layers as L
from cnn_design_env.space.checks import ACTIVATION_NAMES
from cnn_design_env.train.data import load_cifar, load_npz
from cnn_design_env.train.data.checks import DataWarning
from cnn_design_env.train.data.safe_pickle import load_restricted

SPACE = get_space("vgg_mini")

# anything a careless caller might pass where a number or a name is expected
junk = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=6), st.sampled_from(ACTIVATION_NAMES), st.just(np.int64(4)),
    st.just(np.float32(0.5)), st.just(1 + 2j), st.lists(st.integers(1, 8), max_size=3),
)
positive = st.integers(1, 48)


def _is_int(value: object) -> bool:
    """An integer action: Python / NumPy integers and 0-d integer arrays, never ``bool``."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "iu"
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


# ------------------------------------------------------------------------- spaces and layers
@st.composite
def conv_specs(draw):
    """Keyword arguments of a conv layer: mostly plausible, sometimes junk."""
    value = st.one_of(positive, junk)
    kwargs = {"kernels": draw(value), "kernel_size": draw(st.one_of(st.integers(1, 5), junk)),
              "stride": draw(st.one_of(st.integers(1, 3), junk))}
    if draw(st.booleans()):
        kwargs["activation"] = draw(st.one_of(st.sampled_from(ACTIVATION_NAMES), junk))
    tune = draw(st.dictionaries(st.sampled_from(["kernels", "kernel_size", "stride"]),
                                st.one_of(st.lists(value, min_size=1, max_size=3), junk),
                                min_size=1, max_size=2))
    return kwargs, tune


@given(specs=st.lists(conv_specs(), min_size=1, max_size=3),
       dense=st.one_of(positive, junk), flat=st.booleans(),
       training=st.dictionaries(st.sampled_from(["learning_rate", "batch_size", "optimizer",
                                                 "momentum", "optimiser", "loss"]), junk,
                                max_size=2))
def test_spaces_are_valid_or_refused(specs, dense, flat, training):
    try:
        layers = [L.input_layer()]
        prev = "input"
        for i, (kwargs, tune) in enumerate(specs):
            layers.append(L.conv(f"c{i}", prev, tune=tune, **kwargs))
            prev = f"c{i}"
        if flat:
            layers.append(L.flatten("f", prev))
            prev = "f"
        layers += [L.dense("d", prev, units=dense, tune={"units": (4, 8)}),
                   L.output("output", "d")]
        space = SearchSpace("fuzz", tuple(layers), (8, 8, 1), 3, training=training)
    except ValueError as error:
        assert str(error)  # a message, naming what was wrong
        return
    assert flat  # a dense layer on a feature map is always refused
    for layer in space.layers:
        for key in ("kernels", "kernel_size", "stride", "units"):
            for value in (layer.params.get(key), *layer.choices.get(key, ())):
                assert value is None or (type(value) is int and value >= 1)
        for key in ("activation", "fn"):
            assert layer.params.get(key) in (None, *ACTIVATION_NAMES)
    assert set(space.training) <= {"optimizer", "learning_rate", "momentum", "weight_decay",
                                   "batch_size", "loss", "activation"}
    rng = np.random.default_rng(0)
    for _ in range(3):
        info = analyze(space, space.sample(rng))
        assert info.params > 0 and info.output_shape == (3,)


# ------------------------------------------------------------------------------------ actions
actions = st.one_of(junk, st.integers(-2, 14), st.just(np.int64(3)), st.just(np.array(2)),
                    st.just(np.True_), st.just(np.uint8(1)))


@given(st.lists(actions, min_size=1, max_size=8), st.booleans())
def test_env_actions_are_taken_exactly_or_refused(sequence, wrapped):
    factory = cnn_design_env.env if wrapped else cnn_design_env.raw_env
    env = factory(SPACE, FixtureEvaluator(SPACE))
    env.reset(seed=0)
    taken = []
    for action in sequence:
        episode = env.unwrapped._episode
        if episode.done:
            break
        size = SPACE.action_sizes[episode.position]
        legal = _is_int(action) and np.ndim(action) == 0 and 0 <= int(action) < size
        try:
            env.step(action)
        except ValueError as error:
            assert not legal and repr(episode.agent) in str(error)
            continue
        assert legal
        taken.append(int(action))
    assert env.unwrapped._episode.actions == tuple(taken)


@given(st.lists(actions, min_size=1, max_size=8))
def test_gym_actions_are_taken_exactly_or_refused(sequence):
    env = CNNDesignGymEnv(SPACE, FixtureEvaluator(SPACE), invalid_action="raise")
    env.reset(seed=0)
    taken = []
    for action in sequence:
        if env._over:
            with pytest.raises(RuntimeError):
                env.step(0)
            break
        size = SPACE.action_sizes[env._episode.position]
        legal = _is_int(action) and np.ndim(action) == 0 and 0 <= int(action) < size
        try:
            env.step(action)
        except ValueError:
            assert not legal
            continue
        assert legal
        taken.append(int(action))
    assert env._episode.actions == tuple(taken)


@given(st.lists(actions, min_size=0, max_size=8))
def test_designs_are_exact_or_refused(values):
    integral = all(_is_int(v) and np.ndim(v) == 0 for v in values)
    try:
        design = Design(tuple(values))
    except ValueError:
        assert not integral
        return
    assert integral and design.actions == tuple(int(v) for v in values)
    assert all(type(a) is int for a in design.actions)
    in_space = len(values) == SPACE.num_agents and all(
        0 <= a < n for a, n in zip(design.actions, SPACE.action_sizes, strict=False))
    try:
        assert SPACE.validate(design) == design
    except ValueError:
        assert not in_space
        return
    assert in_space


# ------------------------------------------------------------------------------------ rewards
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                    st.booleans(), st.text(max_size=2), st.none())
metrics = st.builds(Metrics, accuracy=st.floats(0, 1), epochs=st.integers(1, 10),
                    model_size_mb=st.floats(0, 1e3), params=st.integers(0, 10**9),
                    infer_ms_per_batch=st.floats(0, 1e3))


@given(c=st.one_of(st.floats(0, 1), numbers), scale=numbers, penalty=numbers, m=metrics)
def test_paper_reward_is_finite_or_refused(c, scale, penalty, m):
    try:
        reward = PaperReward(c_accuracy=c, c_size=1 - c if isinstance(c, float) else c,
                             accuracy_scale=scale, penalty=penalty)
    except (ValueError, TypeError) as error:
        # TypeError only where ``1 - c`` itself is not defined (the caller's expression)
        assert isinstance(error, ValueError) or not isinstance(c, float)
        return
    assert math.isfinite(reward(m))


@given(weights=st.dictionaries(st.sampled_from(["accuracy", "model_size_mb", "params", "bogus"]),
                               numbers, max_size=3),
       bound=numbers, m=metrics)
def test_weighted_reward_is_finite_or_refused(weights, bound, m):
    try:
        reward = WeightedReward(weights, [Constraint("params", maximum=bound)])
    except ValueError:
        return
    assert math.isfinite(reward(m))


# --------------------------------------------------------------------------------- data files
@st.composite
def npz_content(draw):
    x = draw(hnp.arrays(draw(st.sampled_from([np.uint8, np.int32, np.float32, np.float64,
                                              np.complex64, np.bool_])),
                        st.tuples(st.integers(2, 10), st.integers(1, 4), st.integers(1, 4))))
    n = len(x)
    y = draw(st.one_of(hnp.arrays(np.int64, n, elements=st.integers(0, 3)),
                       hnp.arrays(np.int64, n, elements=st.sampled_from([0, 5, 10**6])),
                       hnp.arrays(np.float64, n), hnp.arrays(np.int64, n + 1)))
    return x, y


@given(content=npz_content(), num_classes=st.one_of(st.none(), junk))
def test_npz_loads_correctly_or_is_refused(content, num_classes):
    x, y = content
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.npz"
        np.savez(path, x=x, y=y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            try:
                ds = load_npz(path, num_classes=num_classes, val_fraction=0.5)
            except ValueError as error:
                assert "d.npz" in str(error) or "num_classes" in str(error)
                return
    assert not np.iscomplexobj(x) and len(np.unique(y)) >= 2
    both = np.concatenate([ds.x_train, ds.x_val])
    assert both.dtype == np.float32 and np.isfinite(both).all() and np.abs(both).max() <= 255
    labels = np.concatenate([ds.y_train, ds.y_val])
    assert ds.num_classes >= 2 and labels.min() >= 0 and labels.max() < ds.num_classes
    assert ds.num_classes <= 2 * len(np.unique(labels)) or num_classes is not None


def _valid_npz_bytes() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez_compressed(buffer, x=rng.random((16, 3, 3)), y=np.arange(16) % 2)
    return buffer.getvalue()


def _valid_cifar_bytes() -> bytes:
    rng = np.random.default_rng(0)
    return pickle.dumps({b"data": rng.integers(0, 256, (6, 3072), dtype=np.uint8),
                         b"labels": [0, 1, 2, 0, 1, 2]}, protocol=2)


@st.composite
def mutilated(draw, original: bytes):
    """``original`` truncated, with bytes flipped, or replaced by random bytes."""
    kind = draw(st.sampled_from(["truncate", "flip", "random"]))
    if kind == "truncate":
        return original[:draw(st.integers(0, len(original) - 1))]
    if kind == "random":
        return draw(st.binary(max_size=200))
    raw = bytearray(original)
    for position in draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=4)):
        raw[position] ^= draw(st.integers(1, 255))
    return bytes(raw)


@given(mutilated(_valid_npz_bytes()))
def test_mutilated_npz_files_are_named_or_load(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        path.write_bytes(content)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            try:
                ds = load_npz(path)
            except ValueError as error:
                assert "m.npz" in str(error)
                return
    assert np.isfinite(ds.x_train).all() and ds.num_classes >= 2


@given(mutilated(_valid_cifar_bytes()))
def test_mutilated_cifar_files_are_named_or_load(content):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "data_batch_1").write_bytes(content)
        try:
            ds = load_cifar(folder, val_fraction=0.5)
        except ValueError as error:
            assert "data_batch_1" in str(error)
            return
    assert ds.x_train.shape[1:] == (32, 32, 3) and ds.num_classes == 10


@given(st.binary(max_size=300))
def test_restricted_unpickler_raises_only_unpickling_error_on_random_bytes(content):
    assume(content)
    with contextlib.suppress(pickle.UnpicklingError):  # UnsafePickleError included
        load_restricted(io.BytesIO(content))
