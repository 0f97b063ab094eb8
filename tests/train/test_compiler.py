"""The trainer's per-backend XLA compiler options, passed explicitly, and the program store."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cnn_design_env.train import compiler
from cnn_design_env.train.jaxcache import ProgramStore
from cnn_design_env.train.settings import TrainerSettings, compile_with


def test_options_apply_on_a_cpu_only():
    expected = dict(compiler.CPU_OPTIONS) if jax.default_backend() == "cpu" else {}
    assert compiler.compiler_options() == expected
    assert compiler.compiler_options("gpu") == {}
    with pytest.raises(TypeError):  # read-only: nothing can change them for the process
        compiler.CPU_OPTIONS["xla_backend_optimization_level"] = 0


def test_compiled_program_computes_the_same_values():
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    fn = lambda x: jnp.tanh(x) @ x.T + 1.0  # noqa: E731
    program = compiler.compile_lowered(jax.jit(fn).lower(x))
    np.testing.assert_allclose(program(x), np.tanh(x) @ x.T + 1.0, rtol=1e-5)


def test_an_option_xla_does_not_know_is_dropped_with_a_warning(caplog):
    if jax.default_backend() != "cpu":
        pytest.skip("the options apply on a CPU")
    options = {**compiler.CPU_OPTIONS, "xla_no_such_option": True}
    lowered = jax.jit(lambda x: x + 1).lower(np.zeros(3, np.float32))
    with caplog.at_level("WARNING", logger=compiler.__name__):
        program = compiler.compile_lowered(lowered, options)
    np.testing.assert_array_equal(program(np.zeros(3, np.float32)), np.ones(3))
    assert "xla_no_such_option" in caplog.text  # it reached XLA, which rejected it
    assert "xla_no_such_option" in options  # the caller's mapping is left alone


def test_other_compile_errors_are_not_swallowed():
    if jax.default_backend() != "cpu":
        pytest.skip("the options apply on a CPU")
    lowered = jax.jit(lambda x: x + 1).lower(np.zeros(3, np.float32))
    with pytest.raises(Exception, match="not a valid int32"):
        compiler.compile_lowered(lowered, {"xla_backend_optimization_level": "fast"})


def test_settings_are_frozen_and_checked(tmp_path):
    settings = TrainerSettings(xla_options={"b": 1, "a": 2}, cache_dir=tmp_path)
    assert settings.xla_options == (("a", 2), ("b", 1)) and settings.options() == {"a": 2, "b": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.form = "masked"
    assert hash(settings) == hash(TrainerSettings(xla_options={"a": 2, "b": 1},
                                                  cache_dir=tmp_path))
    assert TrainerSettings(cache_dir=None).store() is None
    assert settings.store() is settings.store() and settings.store().directory == tmp_path
    for bad in ({"form": "fast"}, {"group_size": 0}, {"compiled_cache_size": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TrainerSettings(**bad)


def test_program_store_loads_what_it_compiled_and_changes_no_jax_config(tmp_path):
    before = (jax.config.jax_compilation_cache_dir, jax.config.jax_enable_compilation_cache)
    x = np.arange(6, dtype=np.float32)
    lowered = jax.jit(lambda v: jnp.cumsum(v) * 2).lower(x)
    store = ProgramStore(tmp_path)
    first = store.compile(lowered, {})
    second = ProgramStore(tmp_path).compile(lowered, {})  # a new process would do this
    np.testing.assert_array_equal(first(x), second(x))
    assert store.misses == 1 and len(list(tmp_path.glob("*.xla"))) == 1
    other = ProgramStore(tmp_path)
    other.compile(lowered, {})
    assert other.hits == 1 and other.misses == 0
    if jax.default_backend() == "cpu":  # other options: another program
        other.compile(lowered, {"xla_backend_optimization_level": 2})
        assert other.misses == 1
    (tmp_path / (store.key(lowered, {}) + ".xla")).write_bytes(b"garbage")
    np.testing.assert_array_equal(ProgramStore(tmp_path).compile(lowered, {})(x), first(x))
    settings = TrainerSettings(cache_dir=tmp_path / "s")
    np.testing.assert_array_equal(compile_with(settings, lowered)(x), first(x))
    assert (jax.config.jax_compilation_cache_dir,
            jax.config.jax_enable_compilation_cache) == before
