"""The trainer's per-backend XLA compiler options."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cnn_design_env.train import compiler


def test_options_apply_on_a_cpu_only():
    expected = compiler.CPU_OPTIONS if jax.default_backend() == "cpu" else {}
    assert compiler.compiler_options() == expected
    assert compiler.compiler_options() is not compiler.CPU_OPTIONS  # a copy


def test_compiled_program_computes_the_same_values():
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    fn = lambda x: jnp.tanh(x) @ x.T + 1.0  # noqa: E731
    program = compiler.compile_lowered(jax.jit(fn).lower(x))
    np.testing.assert_allclose(program(x), np.tanh(x) @ x.T + 1.0, rtol=1e-5)


def test_an_option_xla_does_not_know_is_dropped_with_a_warning(monkeypatch, caplog):
    if jax.default_backend() != "cpu":
        pytest.skip("the options apply on a CPU")
    monkeypatch.setitem(compiler.CPU_OPTIONS, "xla_no_such_option", True)
    lowered = jax.jit(lambda x: x + 1).lower(np.zeros(3, np.float32))
    with caplog.at_level("WARNING", logger=compiler.__name__):
        program = compiler.compile_lowered(lowered)
    np.testing.assert_array_equal(program(np.zeros(3, np.float32)), np.ones(3))
    assert "xla_no_such_option" in caplog.text  # it reached XLA, which rejected it
    assert "xla_no_such_option" not in compiler.CPU_OPTIONS
    assert compiler.CPU_OPTIONS  # the known options stay


def test_other_compile_errors_are_not_swallowed(monkeypatch):
    if jax.default_backend() != "cpu":
        pytest.skip("the options apply on a CPU")
    monkeypatch.setitem(compiler.CPU_OPTIONS, "xla_backend_optimization_level", "fast")
    lowered = jax.jit(lambda x: x + 1).lower(np.zeros(3, np.float32))
    with pytest.raises(Exception, match="not a valid int32"):
        compiler.compile_lowered(lowered)
