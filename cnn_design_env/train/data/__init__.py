"""Dataset loading for CNN training (pure NumPy).

Every loader returns a :class:`Dataset` with a fixed set of conventions:

* Images (``x_train`` / ``x_val``) are ``float32`` arrays in NHWC layout, scaled to
  ``[0, 1]``. ``uint8`` sources are divided by 255 (the scikit-learn digits by 16);
  floating point sources given to :func:`load_npz` are only cast to ``float32`` and are
  assumed to be scaled already. Nothing is standardised here.
* Classification labels are ``int32`` arrays of shape ``(N,)`` holding class indices in
  ``[0, num_classes)``.
* Segmentation labels are ``int32`` arrays of shape ``(N, H, W)`` holding the class index
  of every pixel (``0`` is background for the built-in datasets).

Every random choice is drawn from ``np.random.default_rng(seed)`` with an explicit seed,
so the same arguments always give identical arrays. Besides the bundled scikit-learn
digits and the synthetic ``shapes`` data set, files on disk can be read: CIFAR-10/100
python pickles, MNIST-style IDX files (optionally gzipped), ``.npz`` archives and image
folders (the latter needs Pillow, imported lazily).

Modules (all public names are re-exported here):

* :mod:`.dataset`: :class:`Dataset`, :func:`split_validation` and the shared
  validation / conversion helpers used by every loader.
* :mod:`.builtin`: :func:`load_digits` and :func:`make_shapes`.
* :mod:`.cifar`: :func:`load_cifar`.
* :mod:`.idx`: :func:`load_idx`.
* :mod:`.npz`: :func:`load_npz`.
* :mod:`.folder`: :func:`load_image_folder`.
* :mod:`.registry`: :func:`list_datasets` and :func:`get_dataset` (dispatch by name or path).
"""

from __future__ import annotations

from cnn_design_env.train.data.builtin import load_digits, make_shapes
from cnn_design_env.train.data.cifar import load_cifar
from cnn_design_env.train.data.dataset import Dataset, Task, split_validation
from cnn_design_env.train.data.folder import load_image_folder
from cnn_design_env.train.data.idx import load_idx
from cnn_design_env.train.data.npz import load_npz
from cnn_design_env.train.data.registry import get_dataset, list_datasets

__all__ = [
    "Dataset",
    "Task",
    "get_dataset",
    "list_datasets",
    "load_cifar",
    "load_digits",
    "load_idx",
    "load_image_folder",
    "load_npz",
    "make_shapes",
    "split_validation",
]
