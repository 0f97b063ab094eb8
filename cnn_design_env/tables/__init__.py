"""Shipped tabular benchmarks: every design of a space trained with several seeds.

A table is one compressed ``.npz`` file of NumPy arrays (no pickles, no object arrays), named
after its space (``table_chain.npz``, ``table_inception.npz``) and read by :func:`load_table`.

**Versions.** :func:`save_table` writes version 2 (:data:`FORMAT_VERSION`): version 1's arrays
plus ``checksum``, the SHA-256 of every other array (:mod:`cnn_design_env.tables.checksum`),
which the loader checks; it may add the optional per-design arrays of :data:`OPTIONAL`
(predicted inference latency). Version 1 (the two small shipped tables, generated before
checksums) is still read, without a checksum. A file of any other version, or of version 2 with
a checksum that does not match, is refused with an error naming the file. The arrays:

=====================  ===========  ============================================================
key                    shape        meaning
=====================  ===========  ============================================================
``format_version``     ()           :data:`FORMAT_VERSION`
``metadata``           ()           JSON string: space, fingerprint, command, code version,
                                    machine, date, settings, generation time
``action_sizes``       (N,)         ``|A_i|`` per agent; row = mixed-radix number of the
                                    actions, the last agent varying fastest
``seeds``              (S,)         the training seeds, in column order
``params``, ``flops``  (D,)         per design (analytic, seed-independent)
``model_size_mb``      (D,)
``accuracy``           (D, S)       final validation accuracy (0 when terminated before any)
``accuracy_curve``     (D, S, E)    validation accuracy per epoch, NaN after the last epoch
``loss_curve``         (D, S, E)    training loss per epoch, NaN after the last epoch
``epochs``             (D, S)       epochs of the last run
``total_epochs``       (D, S)       epochs over every run (restarts included)
``epochs_to_threshold``  (D, S)     first epoch meeting the loss threshold, -1 for none
``restarts``           (D, S)
``train_ms``           (D, S)       median training ms per batch
``infer_ms``           (D, S)
``cost_s``             (D, S)       seconds of a cold evaluation: training + this architecture's
                                    compile time (see ``measured_cost_s``)
``compile_s``          (D, S)       the architecture's compile seconds (first time it was built)
``measured_cost_s``    (D, S)       wall seconds as measured (0 compile when the program was
                                    reused from an earlier design or seed)
``reason``             (D, S)       index into ``reasons``; 0 = not terminated
``reasons``            (R,)         termination reason strings, ``reasons[0] == ""``
``checksum``           ()           version 2: hex SHA-256 of every other array
``latency_ms``         (D, 2)       optional: predicted inference ms per batch of 1 and of 256
=====================  ===========  ============================================================

``D`` = designs, ``S`` = seeds, ``E`` = the fixed number of epochs trained.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from cnn_design_env.space import Design, SearchSpace
from cnn_design_env.tables.checksum import CHECKSUM_KEY, table_checksum

FORMAT_VERSION = 2
"""Version of the table file format written by this code."""
READ_VERSIONS = (1, 2)
"""Versions :func:`load_table` reads (version 1 has no checksum)."""

TABLE_DIR = Path(__file__).resolve().parent
"""Folder of the shipped tables."""

PER_DESIGN = ("params", "flops", "model_size_mb")
PER_SEED = ("accuracy", "epochs", "total_epochs", "epochs_to_threshold", "restarts", "train_ms",
            "infer_ms", "cost_s", "compile_s", "measured_cost_s", "reason")
CURVES = ("accuracy_curve", "loss_curve")
REQUIRED = ("format_version", "metadata", "action_sizes", "seeds", "reasons",
            *PER_DESIGN, *PER_SEED, *CURVES)
OPTIONAL = ("latency_ms",)
"""Arrays a version-2 table may carry: ``latency_ms`` (D, 2), predicted inference ms per batch
of 1 and of 256 (:mod:`cnn_design_env.tables.latency`)."""


def space_fingerprint(space: SearchSpace) -> str:
    """A short hash of everything that defines ``space``'s designs and their training.

    Two spaces with the same fingerprint give the same meaning to every design, so a table built
    for one answers for the other.

    Example:
        >>> from cnn_design_env.space.tables import table_chain
        >>> space_fingerprint(table_chain()) == space_fingerprint(table_chain())
        True
    """
    layers = [[la.name, la.kind, list(la.inputs),
               sorted((k, repr(v)) for k, v in la.params.items()),
               [[k, [repr(v) for v in vs]] for k, vs in la.choices.items()]]
              for la in space.layers]
    data = [space.name, layers, list(space.input_shape), space.num_classes, space.task,
            sorted((k, repr(v)) for k, v in space.training.items())]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


def row_radix(action_sizes: tuple[int, ...] | np.ndarray) -> np.ndarray:
    """Mixed-radix place values: ``row = sum(actions * radix)``, the last agent fastest.

    Example:
        >>> row_radix((2, 3, 4)).tolist()
        [12, 4, 1]
    """
    sizes = np.asarray(action_sizes, dtype=np.int64)
    radix = np.ones_like(sizes)
    radix[:-1] = np.cumprod(sizes[::-1])[::-1][1:]
    return radix


def design_of_row(row: int, action_sizes: tuple[int, ...]) -> Design:
    """Inverse of the row encoding: the design stored in ``row``.

    Example:
        >>> design_of_row(7, (2, 3, 4)).actions
        (0, 1, 3)
    """
    return Design(tuple(int(a) for a in np.unravel_index(int(row), tuple(action_sizes))))


@dataclass(frozen=True, eq=False)
class Table:
    """A loaded table: its arrays and metadata (see the module docstring for the keys).

    Attributes:
        arrays: The ``.npz`` arrays by key.
        metadata: The decoded ``metadata`` JSON.
        path: Where it was loaded from (``None`` if built in memory).
    """

    arrays: dict[str, np.ndarray]
    metadata: dict[str, Any]
    path: Path | None = None

    @property
    def name(self) -> str:
        """The table's space name."""
        return str(self.metadata["space"])

    @property
    def fingerprint(self) -> str:
        """:func:`space_fingerprint` of the space the table was generated for."""
        return str(self.metadata["fingerprint"])

    @cached_property
    def action_sizes(self) -> tuple[int, ...]:
        """``|A_i|`` per agent."""
        return tuple(int(n) for n in self.arrays["action_sizes"])

    @cached_property
    def radix(self) -> np.ndarray:
        """Mixed-radix place values of the row encoding."""
        return row_radix(self.action_sizes)

    @property
    def num_designs(self) -> int:
        """``D``: rows of the table."""
        return int(self.arrays["accuracy"].shape[0])

    @property
    def seeds(self) -> tuple[int, ...]:
        """The training seeds, in column order."""
        return tuple(int(s) for s in self.arrays["seeds"])

    def row(self, design: Design | tuple[int, ...]) -> int:
        """Row of ``design`` (no range check: see ``TabularEvaluator``)."""
        return int(np.dot(np.asarray(tuple(design), dtype=np.int64), self.radix))

    def complete(self) -> bool:
        """Whether every design has every seed (a finite accuracy and at least one epoch or a
        termination reason)."""
        acc = self.arrays["accuracy"]
        ran = (self.arrays["epochs"] > 0) | (self.arrays["reason"] > 0)
        return bool(acc.shape == (int(np.prod(self.action_sizes)), len(self.seeds))
                    and np.isfinite(acc).all() and ran.all())


def load_table(name_or_path: str | Path) -> Table:
    """Load a table by space name (a shipped table) or by ``.npz`` path.

    Raises:
        FileNotFoundError: If there is no such table.
        ValueError: If the file is not a table, is of a format version other than
            :data:`READ_VERSIONS`, or (version 2) its checksum does not match its arrays; the
            message names the file.
    """
    text = str(name_or_path)
    path = Path(text) if text.endswith(".npz") else TABLE_DIR / f"{text}.npz"
    if not path.is_file():
        shipped = sorted(p.stem for p in TABLE_DIR.glob("*.npz"))
        raise FileNotFoundError(f"no table {text!r} (looked for {path}); shipped tables: "
                                f"{shipped}")
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    missing = [key for key in REQUIRED if key not in arrays]
    if missing:
        raise ValueError(f"{path} is not a table: missing arrays {missing}")
    version = int(arrays["format_version"])
    if version not in READ_VERSIONS:
        raise ValueError(f"{path} has table format version {version}; this code reads versions "
                         f"{READ_VERSIONS}: regenerate it with scripts/make_table.py")
    if version >= 2:
        stored = str(arrays.get(CHECKSUM_KEY, ""))
        actual = table_checksum(arrays)
        if stored != actual:
            raise ValueError(f"{path}: checksum mismatch (stored {stored[:16] or 'none'}..., "
                             f"arrays give {actual[:16]}...): the file was changed or damaged "
                             "after it was written; regenerate or restore it")
        arrays.pop(CHECKSUM_KEY)
    metadata = json.loads(str(arrays.pop("metadata")))
    return Table(arrays, metadata, path)


def save_table(path: str | Path, arrays: dict[str, np.ndarray], metadata: dict[str, Any]
               ) -> Path:
    """Write a table (compressed ``.npz``, no pickles) and return its path.

    Raises:
        ValueError: If a required array is missing.
    """
    missing = [key for key in REQUIRED if key not in arrays and key not in
               ("format_version", "metadata")]
    if missing:
        raise ValueError(f"cannot save table: missing arrays {missing}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    full = {**arrays, "format_version": np.int64(FORMAT_VERSION),
            "metadata": np.str_(json.dumps(metadata, sort_keys=True))}
    full[CHECKSUM_KEY] = np.str_(table_checksum(full))
    np.savez_compressed(path, **full)
    return path


def list_tables() -> list[str]:
    """Names of the shipped tables."""
    return sorted(p.stem for p in TABLE_DIR.glob("*.npz"))


__all__ = ["FORMAT_VERSION", "OPTIONAL", "READ_VERSIONS", "TABLE_DIR", "Table", "design_of_row",
           "list_tables", "load_table", "row_radix", "save_table", "space_fingerprint"]
