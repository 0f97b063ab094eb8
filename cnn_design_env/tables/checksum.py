"""The checksum of a table file: SHA-256 over every array but ``checksum`` itself.

Each array contributes its key, dtype, shape and bytes (C order), in sorted key order, so a
table's checksum does not depend on how ``np.savez`` ordered the members, and any change to a
value, a shape or the metadata string changes it.

Example:
    >>> import numpy as np
    >>> a = {"x": np.arange(3), "metadata": np.str_("{}")}
    >>> table_checksum(a) == table_checksum(dict(reversed(list(a.items()))))
    True
    >>> table_checksum(a) == table_checksum({**a, "x": np.arange(1, 4)})
    False
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

CHECKSUM_KEY = "checksum"
"""Key of the checksum array (a string) in a table file."""


def table_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """Hex SHA-256 of ``arrays`` (the ``checksum`` entry, if present, is left out).

    Raises:
        ValueError: If an array holds Python objects (tables never do).
    """
    digest = hashlib.sha256()
    for key in sorted(k for k in arrays if k != CHECKSUM_KEY):
        value = np.ascontiguousarray(arrays[key])
        if value.dtype == object:
            raise ValueError(f"array {key!r} holds Python objects; a table stores none")
        digest.update(f"{key}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


__all__ = ["CHECKSUM_KEY", "table_checksum"]
