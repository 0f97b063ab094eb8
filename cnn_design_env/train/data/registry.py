"""Dispatch by built-in name or path: :func:`list_datasets` and :func:`get_dataset`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnn_design_env.train.data.builtin import load_digits, make_shapes
from cnn_design_env.train.data.cifar import load_cifar
from cnn_design_env.train.data.dataset import Dataset
from cnn_design_env.train.data.folder import load_image_folder
from cnn_design_env.train.data.idx import load_idx
from cnn_design_env.train.data.npz import load_npz

_BUILTIN: tuple[str, ...] = ("digits", "shapes")


def list_datasets() -> list[str]:
    """Return the names of the built-in data sets accepted by :func:`get_dataset`."""
    return list(_BUILTIN)


def _find_idx_pair(folder: Path, prefix: str = "train") -> tuple[Path, Path] | None:
    def first(stem: str) -> Path | None:
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
        return None

    images = first(f"{prefix}-images-idx3-ubyte")
    labels = first(f"{prefix}-labels-idx1-ubyte")
    if images is not None and labels is not None:
        return images, labels
    return None


def get_dataset(name_or_path: str | Path, **kwargs: Any) -> Dataset:
    """Load a data set by built-in name or from a path.

    Names: ``"digits"`` (:func:`load_digits`) and ``"shapes"`` (:func:`make_shapes`).
    Paths are dispatched on their contents:

    * ``"images.idx:labels.idx"`` -> :func:`load_idx`;
    * a ``.npz`` file -> :func:`load_npz`;
    * a directory with ``data_batch_*`` (or ``cifar-10-batches-py``) -> CIFAR-10, with
      ``train`` + ``test`` files (or ``cifar-100-python``) -> CIFAR-100 (:func:`load_cifar`);
    * a directory with ``train-images-idx3-ubyte[.gz]`` and
      ``train-labels-idx1-ubyte[.gz]`` -> :func:`load_idx`;
    * any other directory with sub-directories -> :func:`load_image_folder`.

    Args:
        name_or_path: Built-in name or path.
        **kwargs: Passed to the selected loader (e.g. ``val_fraction``, ``seed``).

    Returns:
        The loaded :class:`Dataset`.

    Raises:
        FileNotFoundError: If the name is not built in and no such path exists.
        ValueError: If the path's layout is not recognised.
    """
    text = str(name_or_path)
    if text.lower() in _BUILTIN and not isinstance(name_or_path, Path):
        loader = load_digits if text.lower() == "digits" else make_shapes
        return loader(**kwargs)

    path = Path(text).expanduser()
    if not path.exists() and ":" in text:
        parts = text.split(":")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"IDX pair must be given as 'images_path:labels_path', got {text!r}")
        return load_idx(parts[0], parts[1], **kwargs)
    if not path.exists():
        raise FileNotFoundError(
            f"unknown dataset {text!r}: not one of the built-in names "
            f"{list_datasets()} and no such file or directory"
        )
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return load_npz(path, **kwargs)
        raise ValueError(
            f"cannot tell the format of file {text!r} (suffix {path.suffix!r}); expected a "
            f"'.npz' file, an 'images:labels' IDX pair or a directory"
        )

    if (path / "data_batch_1").is_file() or (path / "cifar-10-batches-py").is_dir():
        return load_cifar(path, **{"which": 10, **kwargs})
    if ((path / "train").is_file() and (path / "test").is_file()) or (
        path / "cifar-100-python"
    ).is_dir():
        return load_cifar(path, **{"which": 100, **kwargs})
    pair = _find_idx_pair(path)
    if pair is not None:
        return load_idx(pair[0], pair[1], **kwargs)
    if any(d.is_dir() for d in path.iterdir()):
        return load_image_folder(path, **kwargs)
    raise ValueError(
        f"cannot tell the data set layout of directory {text!r}; expected CIFAR batches, "
        f"train-images-idx3-ubyte + train-labels-idx1-ubyte, images/ + masks/ or "
        f"one sub-directory per class"
    )
