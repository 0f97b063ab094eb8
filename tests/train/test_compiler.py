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


def test_options_reach_xla(monkeypatch):
    if jax.default_backend() != "cpu":
        pytest.skip("the options apply on a CPU")
    monkeypatch.setitem(compiler.CPU_OPTIONS, "xla_no_such_option", True)
    lowered = jax.jit(lambda x: x + 1).lower(np.zeros(3, np.float32))
    with pytest.raises(Exception, match="xla_no_such_option"):
        compiler.compile_lowered(lowered)
