"""A restricted unpickler for the CIFAR python files: data only, no code.

A pickle is a program: loading one calls whatever callables it names (``os.system`` included).
:func:`load_restricted` admits only the globals that a CIFAR batch needs to rebuild a dict of
bytes, lists and NumPy arrays, each of which builds data and runs nothing:

* NumPy array and dtype reconstruction (``numpy.ndarray``, ``numpy.dtype``,
  ``numpy[._]core.multiarray._reconstruct`` and ``scalar``, ``numpy[._]core.numeric._frombuffer``);
* builtin containers (``list``, ``dict``, ``tuple``, ``set``, ``frozenset``, ``bytearray``,
  ``bytes``, ``str``, ``int``, ``float``, ``complex``);
* ``_codecs.encode`` with the ``latin1`` codec (how Python 3 writes ``bytes`` at protocol 2).

Dicts, lists, tuples, strings, bytes and numbers need no global at all. Any other global (a
function, a class, a module) raises :class:`UnsafePickleError` *before* it is looked up, so its
payload never runs. Python 2 names (``__builtin__``, ``copy_reg``) are mapped as ``pickle`` does.

Example:
    >>> import io, pickle
    >>> import numpy as np
    >>> blob = pickle.dumps({b"data": np.zeros((2, 3), np.uint8), b"labels": [0, 1]})
    >>> load_restricted(io.BytesIO(blob))[b"data"].shape
    (2, 3)
    >>> class Payload:
    ...     def __reduce__(self):
    ...         return (print, ("this never runs",))
    >>> load_restricted(io.BytesIO(pickle.dumps(Payload())))
    Traceback (most recent call last):
    ...
    cnn_design_env.train.data.safe_pickle.UnsafePickleError: the pickle names builtins.print, \
which a data file does not need; refused without running it (only NumPy arrays, dtypes and \
builtin containers are admitted)
"""

from __future__ import annotations

import _compat_pickle
import builtins
import codecs
import pickle
from typing import IO, Any

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    *(("builtins", name) for name in ("list", "dict", "tuple", "set", "frozenset", "bytearray",
                                      "bytes", "str", "int", "float", "complex")),
})
"""``(module, name)`` pairs a data pickle may name; everything else is refused."""


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle names a global outside :data:`ALLOWED_GLOBALS` (it could run code)."""


def _resolve(module: str, name: str) -> Any:
    """The admitted object, taken from NumPy / builtins directly (no import by name)."""
    if module == "builtins":
        return getattr(builtins, name)
    import numpy as np

    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    if module == "numpy":
        return getattr(np, name)
    return getattr(multiarray if module.endswith("multiarray") else numeric, name)


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    try:
        latin1 = codecs.lookup(encoding).name == "iso8859-1"
    except (LookupError, TypeError):
        latin1 = False
    if not latin1:
        raise UnsafePickleError(f"the pickle calls _codecs.encode with codec {encoding!r}; only "
                                "latin1 (bytes written at protocol 2) is admitted")
    return codecs.encode(text, "latin1", errors)


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        """The admitted global ``module.name``, else :class:`UnsafePickleError`."""
        # Python 2 names (no Python 3 module has them, so map them at any protocol)
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"the pickle names {module}.{name}, which a data file does not need; refused "
                "without running it (only NumPy arrays, dtypes and builtin containers are "
                "admitted)")
        return _resolve(module, name)


def load_restricted(file: IO[bytes], *, encoding: str = "bytes") -> Any:
    """Unpickle ``file`` admitting only data (see the module docstring).

    Args:
        file: A binary file object.
        encoding: How Python 2 ``str`` objects are decoded (``"bytes"`` keeps them as bytes,
            which is how the CIFAR files are meant to be read).

    Raises:
        UnsafePickleError: If the pickle names a global that is not admitted.
        pickle.UnpicklingError: If the bytes are not a valid pickle (empty, truncated, corrupt:
            whatever the unpickler raised, ``EOFError`` included, is chained as the cause).
    """
    try:
        return RestrictedUnpickler(file, encoding=encoding).load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # corrupt bytes raise anything: give one documented type
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise pickle.UnpicklingError(reason) from exc
