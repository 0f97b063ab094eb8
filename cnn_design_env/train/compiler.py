"""XLA compiler options of the trainer's programs, per backend, passed explicitly.

On a CPU a new candidate's evaluation is dominated by XLA compiling its train step, and that
time grows with the number of kernels XLA generates code for (about 15-35 ms each on a 2-core
machine), not with the network's FLOPs. Three XLA CPU options cut it by 40% without slowing
the steps of the networks measured (``benchmarks/trainer_throughput.py``):

* ``xla_cpu_use_fusion_emitters=False``: the older loop emitters generate elementwise kernels
  faster than the MLIR fusion emitters;
* ``xla_backend_optimization_level=1``: a lighter LLVM pipeline. The matrix products and
  convolutions run in library kernels (XNNPACK / Eigen), which no LLVM pass touches; level 0
  was measured 3-8x slower per step;
* ``xla_cpu_prefer_vector_width=128``: LLVM vectorises the generated loops for 128-bit
  registers, another ~10% off the compile time; the steps of ``vgg_mini`` designs and of the
  VGG-16 blocks ran as fast (those kernels are memory-bound).

Measured together (2-core CPU, 20 new ``vgg_mini`` designs, median): about 0.8 s of compilation
per design instead of 1.35 s. A width of 64 (no vectorised loops) compiles another ~20% faster
but made the steps of ``vgg_mini`` and ``unet_mini`` 10-20% slower: worth it only for very
short trainings, so it is not the default.

Nothing here is process-wide state: the options are an argument of every compilation
(``Lowered.compile(compiler_options)``), normally the ``xla_options`` of a frozen
:class:`~cnn_design_env.train.settings.TrainerSettings`; they touch no ``XLA_FLAGS`` and no
program compiled elsewhere in the process.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import jax

logger = logging.getLogger(__name__)
_UNKNOWN = re.compile(r"No such compile option: '(\w+)'")

CPU_OPTIONS: Mapping[str, Any] = MappingProxyType({
    "xla_cpu_use_fusion_emitters": False,
    "xla_backend_optimization_level": 1,
    "xla_cpu_prefer_vector_width": 128,
})
"""The trainer's default options of every program it compiles on a CPU (read-only)."""


def compiler_options(backend: str | None = None) -> dict[str, Any]:
    """The default options for ``backend`` (default: JAX's): :data:`CPU_OPTIONS` on a CPU,
    none elsewhere (a fresh dict)."""
    backend = backend or jax.default_backend()
    return dict(CPU_OPTIONS) if backend == "cpu" else {}


def compile_lowered(lowered: jax.stages.Lowered,
                    options: Mapping[str, Any] | None = None) -> jax.stages.Compiled:
    """``lowered.compile(options)`` (``None``: :func:`compiler_options`).

    An option this version of XLA does not know is dropped for this compilation (with a
    warning naming it) and the program compiled without it, so an older or newer ``jaxlib``
    costs compile time, never an evaluation. Other compile errors propagate.
    """
    options = compiler_options() if options is None else dict(options)
    while options:
        try:
            return lowered.compile(options)
        except Exception as error:  # XLA raises its own runtime error type
            match = _UNKNOWN.search(str(error))
            if match is None or match.group(1) not in options:
                raise
            name = match.group(1)
            logger.warning("XLA does not know the compile option %r; compiling without it", name)
            options.pop(name)
    return lowered.compile()
