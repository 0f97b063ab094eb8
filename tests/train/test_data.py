"""Tests for cnn_design_env.train.data (small files written into tmp_path)."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from cnn_design_env.train import data
from cnn_design_env.train.data import (
    Dataset,
    get_dataset,
    list_datasets,
    load_cifar,
    load_digits,
    load_idx,
    load_image_folder,
    load_npz,
    make_shapes,
    split_validation,
)

# --------------------------------------------------------------------------- helpers


def _write_idx_images(path: Path, images: np.ndarray, *, magic: int = 2051) -> None:
    n, h, w = images.shape
    raw = struct.pack(">IIII", magic, n, h, w) + images.astype(np.uint8).tobytes()
    _write(path, raw)


def _write_idx_labels(path: Path, labels: np.ndarray, *, magic: int = 2049) -> None:
    raw = struct.pack(">II", magic, len(labels)) + labels.astype(np.uint8).tobytes()
    _write(path, raw)


def _write(path: Path, raw: bytes) -> None:
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def _cifar_batch(path: Path, n: int, label_keys: dict[bytes, list[int]], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    with path.open("wb") as f:
        pickle.dump({b"data": pixels, **label_keys}, f)
    return pixels


def _fake_mnist(n: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 6, 5), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 4
    return images, labels


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_digits()


# --------------------------------------------------------------------------- digits / split


def test_digits_shapes_dtypes_ranges(digits: Dataset) -> None:
    assert digits.task == "classification"
    assert digits.num_classes == 10
    assert digits.input_shape == (8, 8, 1)
    assert digits.x_train.dtype == np.float32 and digits.x_val.dtype == np.float32
    assert digits.y_train.dtype == np.int32 and digits.y_val.dtype == np.int32
    assert len(digits.x_train) + len(digits.x_val) + digits.num_test == 1797
    assert len(digits.x_val) + digits.num_test == round(1797 * 0.2)
    assert digits.num_test == round(1797 * 0.1)
    assert digits.x_train.min() >= 0.0 and digits.x_train.max() == 1.0
    assert set(np.unique(digits.y_train)) == set(range(10))
    assert digits.class_names == tuple(str(i) for i in range(10))


def test_digits_split_is_deterministic(digits: Dataset) -> None:
    again = load_digits()
    np.testing.assert_array_equal(digits.x_train, again.x_train)
    np.testing.assert_array_equal(digits.y_val, again.y_val)
    other = load_digits(seed=1)
    assert not np.array_equal(digits.y_train, other.y_train)


def test_split_is_stratified() -> None:
    y = np.repeat(np.arange(3), [50, 30, 20]).astype(np.int32)
    x = np.arange(100, dtype=np.float32)
    x_tr, y_tr, x_va, y_va = split_validation(x, y, val_fraction=0.2, seed=3)
    assert np.bincount(y_va).tolist() == [10, 6, 4]
    assert np.bincount(y_tr).tolist() == [40, 24, 16]
    # Rows stay paired and nothing is lost or duplicated.
    np.testing.assert_array_equal(y[x_tr.astype(int)], y_tr)
    assert sorted(np.concatenate([x_tr, x_va]).tolist()) == x.tolist()


def test_split_non_classification_targets() -> None:
    x = np.arange(10, dtype=np.float32)
    y = np.zeros((10, 2, 2), dtype=np.int32)
    x_tr, _, x_va, y_va = split_validation(x, y, val_fraction=0.3, seed=0)
    assert len(x_va) == 3 and len(x_tr) == 7 and y_va.shape == (3, 2, 2)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, "half"])
def test_split_rejects_bad_val_fraction(bad: object) -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        split_validation(np.zeros(4), np.zeros(4, dtype=int), val_fraction=bad, seed=0)


def test_split_rejects_length_mismatch() -> None:
    with pytest.raises(ValueError, match="x has 4 examples but y has 3"):
        split_validation(np.zeros(4), np.zeros(3, dtype=int), val_fraction=0.5, seed=0)


def test_subsample_per_class(digits: Dataset) -> None:
    small = digits.subsample(5, seed=0)
    assert np.bincount(small.y_train).tolist() == [5] * 10
    np.testing.assert_array_equal(small.x_val, digits.x_val)
    again = digits.subsample(5, seed=0)
    np.testing.assert_array_equal(small.x_train, again.x_train)
    assert not np.array_equal(small.x_train, digits.subsample(5, seed=1).x_train)
    assert len(digits.subsample(10_000, seed=0).y_train) == len(digits.y_train)
    with pytest.raises(ValueError, match="per_class must be >= 1, got 0"):
        digits.subsample(0, seed=0)


def test_dataset_validates_arrays() -> None:
    x = np.zeros((4, 2, 2, 1), np.float32)
    with pytest.raises(ValueError, match="lengths differ"):
        Dataset("t", x, np.zeros(3, np.int32), x, np.zeros(4, np.int32), 2, "classification")
    with pytest.raises(ValueError, match="4 dims"):
        Dataset(
            "t", x[..., 0], np.zeros(4, np.int32), x, np.zeros(4, np.int32), 2, "classification"
        )
    with pytest.raises(ValueError, match="task must be one of"):
        Dataset("t", x, np.zeros(4, np.int32), x, np.zeros(4, np.int32), 2, "detection")


# --------------------------------------------------------------------------- shapes


def test_shapes_determinism_and_layout() -> None:
    a = make_shapes(n=24, size=16, seed=7)
    b = make_shapes(n=24, size=16, seed=7)
    c = make_shapes(n=24, size=16, seed=8)
    assert a.task == "segmentation" and a.num_classes == 2
    assert a.input_shape == (16, 16, 1)
    assert a.y_train.shape == (len(a.x_train), 16, 16) and a.y_train.dtype == np.int32
    assert len(a.x_train) + len(a.x_val) + a.num_test == 24
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.min() >= 0.0 and a.x_train.max() <= 1.0


def test_shapes_masks_match_images() -> None:
    ds = make_shapes(n=40, size=24, noise=0.02, seed=1)
    x = np.concatenate([ds.x_train, ds.x_val])[..., 0]
    y = np.concatenate([ds.y_train, ds.y_val])
    assert set(np.unique(y)) == {0, 1}
    for img, mask in zip(x, y, strict=True):
        assert mask.any() and not mask.all()
        # Shapes are filled with intensities >= 0.55, background <= 0.3.
        assert img[mask == 1].mean() > img[mask == 0].mean() + 0.2


@pytest.mark.parametrize("k", [3, 4])
def test_shapes_multiclass(k: int) -> None:
    ds = make_shapes(n=60, size=16, num_classes=k, seed=0)
    assert ds.num_classes == k and len(ds.class_names) == k
    y = np.concatenate([ds.y_train, ds.y_val])
    assert set(np.unique(y)) == set(range(k))


def test_shapes_rejects_bad_num_classes() -> None:
    with pytest.raises(ValueError, match="num_classes must be 2, 3 or 4, got 5"):
        make_shapes(n=4, num_classes=5)


def test_shapes_subsample_segmentation() -> None:
    ds = make_shapes(n=40, size=8, seed=0).subsample(3, seed=0)
    assert len(ds.x_train) == 6 and ds.y_train.shape[1:] == (8, 8)


# --------------------------------------------------------------------------- CIFAR


def test_cifar10_reads_batches(tmp_path: Path) -> None:
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    p1 = _cifar_batch(root / "data_batch_1", 10, {b"labels": [i % 10 for i in range(10)]}, 0)
    _cifar_batch(root / "data_batch_2", 10, {b"labels": [i % 10 for i in range(10)]}, 1)
    _cifar_batch(root / "test_batch", 5, {b"labels": [0] * 5}, 2)
    with (root / "batches.meta").open("wb") as f:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, f)

    ds = load_cifar(tmp_path, val_fraction=0.5, seed=0)  # parent dir is accepted too
    assert ds.input_shape == (32, 32, 3) and ds.num_classes == 10
    assert len(ds.x_train) == 10 and len(ds.x_val) == 10
    assert ds.class_names == tuple(f"c{i}" for i in range(10))
    # Pixel layout: CHW row-major -> HWC, /255. Find image 0 of batch 1 (label 0).
    expected = p1[0].reshape(3, 32, 32).transpose(1, 2, 0) / 255.0
    all_x = np.concatenate([ds.x_train, ds.x_val])
    assert any(np.allclose(img, expected) for img in all_x)
    assert get_dataset(str(root), val_fraction=0.5).num_classes == 10


def test_cifar100_fine_and_coarse(tmp_path: Path) -> None:
    labels = {b"fine_labels": list(range(0, 40, 4)), b"coarse_labels": [i % 20 for i in range(10)]}
    _cifar_batch(tmp_path / "train", 10, labels, 0)
    _cifar_batch(tmp_path / "test", 4, {b"fine_labels": [0] * 4, b"coarse_labels": [0] * 4}, 1)
    fine = load_cifar(tmp_path, which=100, val_fraction=0.3, seed=0)
    coarse = load_cifar(tmp_path, which=100, label_mode="coarse", val_fraction=0.3, seed=0)
    assert fine.num_classes == 100 and coarse.num_classes == 20
    assert set(np.concatenate([fine.y_train, fine.y_val])) == set(range(0, 40, 4))
    assert get_dataset(tmp_path, val_fraction=0.3).num_classes == 100


def test_cifar_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="CIFAR directory not found"):
        load_cifar(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        load_cifar(tmp_path)
    _cifar_batch(tmp_path / "data_batch_1", 4, {b"labels": [0, 1, 2]}, 0)
    with pytest.raises(ValueError, match="4 images but 'labels' has shape"):
        load_cifar(tmp_path)
    _cifar_batch(tmp_path / "data_batch_1", 4, {b"fine": [0, 1, 2, 3]}, 0)
    with pytest.raises(ValueError, match="no key 'labels'"):
        load_cifar(tmp_path)
    with pytest.raises(ValueError, match="which must be 10 or 100, got 11"):
        load_cifar(tmp_path, which=11)


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_plain_and_gzip(tmp_path: Path, suffix: str) -> None:
    images, labels = _fake_mnist()
    ip = tmp_path / f"train-images-idx3-ubyte{suffix}"
    lp = tmp_path / f"train-labels-idx1-ubyte{suffix}"
    _write_idx_images(ip, images)
    _write_idx_labels(lp, labels)
    ds = load_idx(ip, lp, val_fraction=0.2, seed=0)
    assert ds.input_shape == (6, 5, 1) and ds.num_classes == 4
    assert len(ds.x_train) == 16 and len(ds.x_val) == 4
    assert np.bincount(ds.y_val).tolist() == [1, 1, 1, 1]
    # Pairing of images and labels survives the split.
    for img, label in zip(ds.x_train, ds.y_train, strict=True):
        raw = np.round(img[..., 0] * 255).astype(np.uint8)
        i = int(np.flatnonzero((images == raw).all(axis=(1, 2)))[0])
        assert labels[i] == label
    via_dir = get_dataset(str(tmp_path), seed=0)
    np.testing.assert_array_equal(via_dir.x_train, ds.x_train)
    via_pair = get_dataset(f"{ip}:{lp}", seed=0)
    np.testing.assert_array_equal(via_pair.y_val, ds.y_val)


def test_idx_gzip_detected_by_magic_bytes(tmp_path: Path) -> None:
    images, labels = _fake_mnist()
    ip, lp = tmp_path / "imgs.idx", tmp_path / "labels.idx"
    ip.write_bytes(gzip.compress(struct.pack(">IIII", 2051, 20, 6, 5) + images.tobytes()))
    _write_idx_labels(lp, labels)
    assert load_idx(ip, lp).input_shape == (6, 5, 1)


def test_idx_errors(tmp_path: Path) -> None:
    images, labels = _fake_mnist()
    ip, lp = tmp_path / "i.idx", tmp_path / "l.idx"
    _write_idx_images(ip, images)
    _write_idx_labels(lp, labels)
    with pytest.raises(FileNotFoundError, match="IDX images file not found"):
        load_idx(tmp_path / "missing", lp)
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        load_idx(lp, lp)
    bad = tmp_path / "bad.idx"
    _write_idx_labels(bad, labels, magic=1234)
    with pytest.raises(ValueError, match="magic number 1234, expected 2049"):
        load_idx(ip, bad)
    _write_idx_labels(bad, labels[:-3])
    with pytest.raises(ValueError, match=r"20 images but .* 17 labels"):
        load_idx(ip, bad)
    bad.write_bytes(struct.pack(">IIII", 2051, 20, 6, 5) + images.tobytes()[:-1])
    with pytest.raises(ValueError, match="599 bytes follow"):
        load_idx(bad, lp)


# --------------------------------------------------------------------------- NPZ


def test_npz_classification_nhw_uint8(tmp_path: Path) -> None:
    x = np.arange(10 * 4 * 4, dtype=np.uint8).reshape(10, 4, 4)
    y = np.arange(10) % 2
    np.savez(tmp_path / "toy.npz", x=x, y=y)
    ds = load_npz(tmp_path / "toy.npz", val_fraction=0.2, seed=0)
    assert ds.name == "toy" and ds.task == "classification" and ds.num_classes == 2
    assert ds.input_shape == (4, 4, 1) and ds.x_train.max() <= 1.0
    assert np.bincount(ds.y_val).tolist() == [1, 1]
    assert get_dataset(str(tmp_path / "toy.npz")).num_train == 8


def test_npz_segmentation_with_val(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((6, 5, 5, 3)).astype(np.float32)
    y = np.zeros((6, 5, 5, 1), dtype=np.uint8)
    y[:, 1:3, 1:3] = 2
    np.savez(tmp_path / "seg.npz", x=x, y=y, x_val=x[:2], y_val=y[:2])
    ds = load_npz(tmp_path / "seg.npz")
    assert ds.task == "segmentation" and ds.num_classes == 3
    assert ds.y_train.shape == (6, 5, 5) and ds.y_val.shape == (2, 5, 5)
    np.testing.assert_array_equal(ds.x_train, x)  # given split is used as is, floats kept


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"x": np.zeros((4, 3, 3)), "y": np.zeros(3, int)}, "x has 4 examples but y has 3"),
        ({"x": np.zeros((4, 3)), "y": np.zeros(4, int)}, r"must have 3 dims .* got shape \(4, 3\)"),
        ({"x": np.zeros((4, 3, 3)), "y": np.array([0.0, 0.5, 1.0, 1.0])}, "non-integer value"),
        ({"x": np.zeros((4, 3, 3)), "y": np.array([0, -1, 1, 1])}, "non-negative.*minimum -1"),
        ({"x": np.zeros((4, 3, 3)), "y": np.array(["a", "b", "c", "d"])}, "integer class"),
        ({"x": np.zeros((4, 3, 3)), "y": np.zeros((4, 2, 2), int)}, r"spatial shape \(2, 2\)"),
        ({"x": np.zeros((4, 3, 3))}, r"lacks array\(s\) \['y'\]"),
        (
            {"x": np.zeros((4, 3, 3)), "y": np.zeros(4, int), "x_val": np.zeros((1, 3, 3))},
            "both 'x_val' and 'y_val'",
        ),
    ],
)
def test_npz_errors(tmp_path: Path, arrays: dict[str, np.ndarray], match: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        load_npz(tmp_path / "bad.npz")


def test_npz_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"npz file not found: .*nope\.npz"):
        load_npz(tmp_path / "nope.npz")


# --------------------------------------------------------------------------- image folder


def test_image_folder_classification(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image", reason="Pillow is not installed")
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog", "emu"):
        (tmp_path / cls).mkdir()
        for i in range(4):
            pixels = rng.integers(0, 256, size=(6, 7, 3), dtype=np.uint8)
            image.fromarray(pixels).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    ds = load_image_folder(tmp_path, val_fraction=0.25, seed=0)
    assert ds.class_names == ("cat", "dog", "emu") and ds.num_classes == 3
    assert ds.input_shape == (6, 7, 3)
    assert np.bincount(ds.y_val).tolist() == [1, 1, 1]
    resized = get_dataset(str(tmp_path), size=4)
    assert resized.input_shape == (4, 4, 3)

    image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(tmp_path / "cat" / "odd.png")
    with pytest.raises(ValueError, match=r"odd.png' has size \(3, 3\).*pass size="):
        load_image_folder(tmp_path)


def test_image_folder_segmentation(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image", reason="Pillow is not installed")
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for i in range(5):
        img = np.full((8, 8), 20, np.uint8)
        mask = np.zeros((8, 8), np.uint8)
        img[2:5, 2:5] = 200
        mask[2:5, 2:5] = 255
        image.fromarray(img).save(tmp_path / "images" / f"s{i}.png")
        image.fromarray(mask).save(tmp_path / "masks" / f"s{i}.png")
    ds = load_image_folder(tmp_path, val_fraction=0.4, seed=0)
    assert ds.task == "segmentation" and ds.num_classes == 2
    assert ds.input_shape == (8, 8, 1) and ds.y_train.shape == (3, 8, 8)
    assert set(np.unique(ds.y_train)) == {0, 1}  # 0/255 masks map to 0/1
    assert np.all((ds.x_train[..., 0] > 0.5) == (ds.y_train == 1))

    (tmp_path / "masks" / "s0.png").unlink()
    with pytest.raises(ValueError, match=r"images without mask \['s0'\]"):
        load_image_folder(tmp_path)


def test_image_folder_errors(tmp_path: Path) -> None:
    pytest.importorskip("PIL.Image", reason="Pillow is not installed")
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        load_image_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="has no sub-directories"):
        load_image_folder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="empty_class' contains no image files"):
        load_image_folder(tmp_path)


# --------------------------------------------------------------------------- dispatch


def test_get_dataset_names_and_errors(tmp_path: Path) -> None:
    assert list_datasets() == ["digits", "shapes"]
    assert get_dataset("shapes", n=8, size=8).task == "segmentation"
    with pytest.raises(FileNotFoundError, match=r"unknown dataset 'mnist'.*\['digits', 'shapes'\]"):
        get_dataset("mnist")
    (tmp_path / "data.csv").write_text("1,2")
    with pytest.raises(ValueError, match=r"suffix '.csv'"):
        get_dataset(str(tmp_path / "data.csv"))
    with pytest.raises(ValueError, match="cannot tell the data set layout"):
        get_dataset(str(tmp_path))
    with pytest.raises(ValueError, match="val_fraction must be in the open interval"):
        get_dataset("digits", val_fraction=1.0)


def test_no_jax_import() -> None:
    modules = sorted(Path(data.__file__).parent.glob("*.py"))
    assert len(modules) > 1  # the package's loader modules, not only its __init__
    for module in modules:
        source = module.read_text()
        assert "import jax" not in source and "from jax" not in source, module.name


# --------------------------------------------------------------------------- test split


def test_test_split_is_disjoint_from_train_and_validation() -> None:
    digits = load_digits(seed=0)
    assert digits.num_train + digits.num_val + digits.num_test == 1797 and digits.num_test == 180
    original = load_digits(seed=0, test_fraction=0)          # the same training split
    np.testing.assert_array_equal(original.x_train, digits.x_train)
    # validation and test partition the held-out examples (by position in the held-out part)
    index: dict[bytes, list[int]] = {}
    for i, image in enumerate(original.x_val):
        index.setdefault(image.tobytes(), []).append(i)
    positions = [index[a.tobytes()].pop() for a in (*digits.x_val, *digits.x_test)]
    assert sorted(positions) == list(range(original.num_val))
    assert set(np.unique(digits.y_test)) == set(range(10))          # stratified
    np.testing.assert_array_equal(load_digits(seed=0).x_test, digits.x_test)


def test_split_train_val_test_positions_are_disjoint() -> None:
    from cnn_design_env.train.data.dataset import split_train_val_test

    x = np.arange(200, dtype=np.float32)[:, None]
    y = (np.arange(200) % 4).astype(np.int32)
    tr, _, va, _, te, _ = split_train_val_test(x, y, val_fraction=0.3, test_fraction=0.1, seed=3)
    sets = [set(p[:, 0].tolist()) for p in (tr, va, te)]
    assert [len(p) for p in sets] == [140, 40, 20]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert sets[0] | sets[1] | sets[2] == set(range(200))
    with pytest.raises(ValueError, match="test_fraction"):
        split_train_val_test(x, y, val_fraction=0.2, test_fraction=0.2, seed=0)


def test_with_noise_is_fixed_clipped_and_refuses_bad_sigma() -> None:
    from cnn_design_env.train.data.builtin import load_digits

    clean = load_digits(val_fraction=0.5, seed=0)
    noisy = clean.with_noise(0.3, seed=5)
    again = clean.with_noise(0.3, seed=5)
    assert np.array_equal(noisy.x_val, again.x_val)
    assert not np.array_equal(noisy.x_train, clean.x_train)
    assert noisy.x_train.min() >= 0.0 and noisy.x_train.max() <= 1.0
    assert np.array_equal(noisy.y_train, clean.y_train)
    assert 0.15 < float(np.std(noisy.x_train - clean.x_train)) < 0.3
    for bad in (0, -1.0, float("nan"), True, "0.3"):
        with pytest.raises(ValueError, match="sigma must be a positive finite number"):
            clean.with_noise(bad, seed=0)
