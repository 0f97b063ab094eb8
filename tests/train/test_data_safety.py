"""Issue 17: data files cannot run code, and degenerate or broken data is named, not trained on.

Reproductions: the CIFAR loader unpickled anything; one-class data gave accuracy 1.0 for every
design; one label of 10**6 made a 1,000,001-class output layer; pixels in 0-255 or near 1e30
were not normalised; complex pixels lost their imaginary part; truncated or empty files gave a
bare ``UnpicklingError`` / ``EOFError`` / ``BadZipFile`` without the file's name.
"""

from __future__ import annotations

import io
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from cnn_design_env.train.data import load_cifar, load_idx, load_image_folder, load_npz
from cnn_design_env.train.data.checks import DataWarning
from cnn_design_env.train.data.safe_pickle import UnsafePickleError, load_restricted


class _Payload:
    """Unpickling this runs ``os.system(command)`` (on a plain ``pickle.load``)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _cifar_dir(tmp_path: Path, payload: object = None, *, protocol: int = 4) -> Path:
    rng = np.random.default_rng(0)
    batch = {b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8),
             b"labels": [i % 10 for i in range(20)], b"batch_label": b"training batch 1 of 5",
             b"filenames": [f"img{i}.png".encode() for i in range(20)]}
    if payload is not None:
        batch[b"extra"] = payload
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=protocol))
    return tmp_path


def test_a_malicious_cifar_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    root = _cifar_dir(tmp_path, _Payload(f"touch {marker}"))
    with pytest.raises(UnsafePickleError, match=r"data_batch_1'.*names posix.system.*refused "
                                                r"without running it"):
        load_cifar(root)
    assert not marker.exists()
    # the same file through a plain pickle.load would have run the payload
    pickle.loads((root / "data_batch_1").read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("payload", [
    b"cos\nsystem\n(S'echo x'\ntR.",                 # protocol 0, os.system
    b"cbuiltins\neval\n(S'1+1'\ntR.",                # eval
    b"cnumpy\nload\n(S'x.npy'\ntR.",                 # a NumPy function that is not admitted
    b"c__builtin__\ngetattr\n(c__builtin__\nobject\nS'__subclasses__'\ntR.",
])
def test_restricted_unpickler_refuses_every_other_global(payload: bytes) -> None:
    with pytest.raises(UnsafePickleError, match="refused without running it"):
        load_restricted(io.BytesIO(payload))


def test_restricted_unpickler_refuses_codecs_other_than_latin1() -> None:
    blob = b"c_codecs\nencode\n(X\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13tR."
    with pytest.raises(UnsafePickleError, match="codec 'rot13'"):
        load_restricted(io.BytesIO(blob))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_real_cifar_layout_loads_at_every_protocol(tmp_path: Path, protocol: int) -> None:
    ds = load_cifar(_cifar_dir(tmp_path, protocol=protocol), val_fraction=0.5)
    assert ds.num_classes == 10 and ds.num_train == 10 and ds.x_train.dtype == np.float32
    obj = load_restricted(io.BytesIO(pickle.dumps(
        {"a": [1, 2.5, None, True], "b": (b"x", "y"), "c": {1, 2}, "d": frozenset({3}),
         "e": bytearray(b"z"), "f": np.arange(3, dtype=np.int16), "g": np.float32(2)},
        protocol=protocol)))
    assert obj["c"] == {1, 2} and obj["f"].tolist() == [0, 1, 2] and obj["g"] == 2


@pytest.mark.parametrize("content", [b"", b"\x80\x04\x95", b"not a pickle at all", b"\x80\x02}q"])
def test_truncated_or_empty_cifar_file_names_the_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "data_batch_1").write_bytes(content)
    with pytest.raises(ValueError, match=r"cannot read CIFAR file '.*data_batch_1' \(empty, "
                                         r"truncated or not a pickle: .*\); expected a CIFAR "
                                         r"python pickle"):
        load_cifar(tmp_path)


def test_one_class_cifar_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(
        {b"data": rng.integers(0, 256, (8, 3072), dtype=np.uint8), b"labels": [3] * 8}))
    with pytest.raises(ValueError, match="only label 3; at least two classes are needed"):
        load_cifar(tmp_path)


# ------------------------------------------------------------------------------------ npz


def _npz(tmp_path: Path, name: str = "d.npz", **arrays) -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _images(n: int = 12, dtype=np.float32, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(0).random((n, 4, 4, 1)) * scale).astype(dtype)


def test_one_class_npz_is_refused(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=_images(), y=np.zeros(12, int))
    with pytest.raises(ValueError, match=r"npz file '.*d.npz': only label 0; at least two "
                                         r"classes are needed"):
        load_npz(path)


def test_a_huge_label_is_mapped_with_a_notice(tmp_path: Path) -> None:
    y = np.array([0, 1] * 5 + [1_000_000, 1_000_000])
    path = _npz(tmp_path, x=_images(), y=y)
    with pytest.warns(DataWarning, match=r"labels \[0, 1, 1000000\] would make 1000001 output "
                                         r"classes, 999998 of them empty; mapped to 0..2"):
        ds = load_npz(path, val_fraction=0.5)
    assert ds.num_classes == 3
    assert sorted(set(ds.y_train) | set(ds.y_val)) == [0, 1, 2]
    # an explicit num_classes keeps the labels
    assert load_npz(path, num_classes=1_000_001, val_fraction=0.5).num_classes == 1_000_001


def test_one_based_labels_are_kept_with_a_notice(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=_images(), y=np.arange(12) % 3 + 1)
    with pytest.warns(DataWarning, match=r"classes \[0\] of 0..3 have no example; kept"):
        assert load_npz(path).num_classes == 4


def test_num_classes_must_be_an_integer(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=_images(), y=np.arange(12) % 2)
    for bad in (2.7, True, 1, "3"):
        with pytest.raises(ValueError, match=r"num_classes must be an integer >= 2"):
            load_npz(path, num_classes=bad)


@pytest.mark.parametrize("scale, rule", [(255.0, "divided by 255"),
                                         (1e30, "divided by their maximum"),
                                         (-1e30, "min-max scaled")])
def test_pixel_ranges_are_normalised_with_a_notice(tmp_path: Path, scale: float, rule: str) -> None:
    x = _images(dtype=np.float64, scale=scale)
    path = _npz(tmp_path, x=x, y=np.arange(12) % 2, x_val=x[:4], y_val=np.arange(4) % 2)
    with pytest.warns(DataWarning, match=rf"pixel values lie in .*, not \[0, 1\]: {rule}"):
        ds = load_npz(path)
    both = np.concatenate([ds.x_train, ds.x_val])
    assert np.isfinite(both).all() and both.min() >= 0 and both.max() <= 1
    np.testing.assert_allclose(ds.x_val, ds.x_train[:4], rtol=1e-6)  # one rule for both splits


def test_unit_range_and_standardised_pixels_are_kept(tmp_path: Path) -> None:
    for x in (_images(), _images() * 6 - 3):
        path = _npz(tmp_path, x=x, y=np.arange(12) % 2, x_val=x[:2], y_val=np.arange(2))
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataWarning)
            np.testing.assert_array_equal(load_npz(path).x_train, x)


@pytest.mark.parametrize("x, match", [
    (_images().astype(np.complex64) + 1j, r"must be real numbers, got complex dtype complex64"),
    (np.where(np.arange(12 * 16).reshape(12, 4, 4, 1) == 37, np.nan, 0.5),
     r"must be finite: 1 value\(s\) are NaN or infinite, the first nan at index \(2, 1, 1, 0\)"),
    (np.full((12, 4, 4), np.inf), r"must be finite: 192 value\(s\)"),
])
def test_complex_and_non_finite_pixels_are_refused(tmp_path: Path, x, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_npz(_npz(tmp_path, x=x, y=np.arange(12) % 2))


def test_inconsistent_image_sizes_are_refused(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=_images(), y=np.arange(12) % 2,
                x_val=np.zeros((2, 5, 4, 1), np.float32), y_val=np.arange(2))
    with pytest.raises(ValueError, match=r"'x_val' images have shape \(5, 4, 1\), expected "
                                         r"\(4, 4, 1\)"):
        load_npz(path)


@pytest.mark.parametrize("mutilate", ["empty", "truncated", "garbage", "npy", "object"])
def test_broken_npz_files_name_the_file_and_the_format(tmp_path: Path, mutilate: str) -> None:
    good = _npz(tmp_path, "good.npz", x=_images(), y=np.arange(12) % 2).read_bytes()
    path = tmp_path / "bad.npz"
    if mutilate == "empty":
        path.write_bytes(b"")
    elif mutilate == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif mutilate == "garbage":
        path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    elif mutilate == "npy":
        with path.open("wb") as f:
            np.save(f, np.zeros(3))
    else:
        np.savez(path, x=np.array([None] * 12, dtype=object), y=np.arange(12) % 2)
    with pytest.raises(ValueError, match=r"npz file '.*bad.npz'.*expected a NumPy .npz archive"):
        load_npz(path)


def test_a_corrupted_member_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    np.savez_compressed(path, x=_images(200), y=np.arange(200) % 2)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0xFF  # flip a byte inside the compressed data
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"npz file '.*c.npz'"):
        load_npz(path)


# ----------------------------------------------------------------------- IDX / image folder


def test_idx_labels_with_one_class_are_refused(tmp_path: Path) -> None:
    import struct

    (tmp_path / "i").write_bytes(struct.pack(">IIII", 2051, 4, 2, 2) + bytes(16))
    (tmp_path / "l").write_bytes(struct.pack(">II", 2049, 4) + bytes([7] * 4))
    with pytest.raises(ValueError, match=r"IDX labels file '.*l': only label 7"):
        load_idx(tmp_path / "i", tmp_path / "l")


def test_image_folder_needs_two_classes_and_names_a_broken_image(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    (tmp_path / "only").mkdir()
    for i in range(3):
        pil.fromarray(np.full((4, 4), i * 50, np.uint8)).save(tmp_path / "only" / f"{i}.png")
    with pytest.raises(ValueError, match=r"image folder '.*': only label 0; at least two"):
        load_image_folder(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    with pytest.raises(ValueError, match=r"cannot read image '.*broken.png' \(expected an image "
                                         r"file Pillow can open\)"):
        load_image_folder(tmp_path)


def test_grey_level_masks_are_mapped_to_classes(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for i in range(4):
        pil.fromarray(np.full((4, 4), 100, np.uint8)).save(tmp_path / "images" / f"{i}.png")
        mask = np.zeros((4, 4), np.uint8)
        mask[:2] = 128
        mask[3] = 255
        pil.fromarray(mask).save(tmp_path / "masks" / f"{i}.png")
    with pytest.warns(DataWarning, match=r"labels \[0, 128, 255\] would make 256 output classes"):
        ds = load_image_folder(tmp_path)
    assert ds.num_classes == 3 and set(np.unique(ds.y_train)) == {0, 1, 2}
