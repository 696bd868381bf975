"""Calibration/evaluation data loading and checks (tinyq.quantize.data): no TensorFlow needed."""

import wave

import numpy as np
import pytest

from tinyq.errors import InputError
from tinyq.quantize.data import InputSpec, load_labels, load_samples

IMAGE = (InputSpec("image", (8, 8, 1)),)


def test_npy_is_memory_mapped_and_batched(tmp_path):
    x = np.random.default_rng(0).random((10, 8, 8, 1), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    samples = load_samples(tmp_path / "x.npy", IMAGE, "calibration data")
    assert samples.count == 10 and samples.shapes == ((8, 8, 1),)
    assert isinstance(samples.arrays[0], np.memmap)
    batches = list(samples.batches(4))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)


def test_float64_is_accepted_and_streamed_as_float32():
    x = np.zeros((3, 8, 8, 1), np.float64)
    (batch,) = load_samples(x, IMAGE, "data").batches(8)
    assert batch[0].dtype == np.float32


def test_none_dimensions_take_the_data_shape():
    samples = load_samples(np.zeros((2, 50, 3), np.float32), (InputSpec("seq", (None, 3)),), "data")
    assert samples.shapes == ((50, 3),)


@pytest.mark.parametrize(
    "array, message",
    [
        (
            np.zeros((5, 8, 8), np.float32),
            r"shape \[5, 8, 8\] does not fit model input 'image' \(N, 8, 8, 1\) \(add a trailing",
        ),
        (np.zeros((5, 8, 8, 3), np.float32), r"shape \[5, 8, 8, 3\] does not fit"),
        (np.zeros((5, 8, 8, 1), np.int8), r"dtype int8 for model input 'image', which takes float values"),
        (np.zeros((0, 8, 8, 1), np.float32), r"calibration data is empty \(0 samples\)"),
    ],
)
def test_bad_arrays_name_the_problem(array, message):
    with pytest.raises(InputError, match=message):
        load_samples(array, IMAGE, "calibration data")


def test_nan_names_the_sample():
    x = np.zeros((6, 8, 8, 1), np.float32)
    x[4, 2, 2, 0] = np.nan
    with pytest.raises(InputError, match="sample 4 of model input 'image' contains NaN"):
        load_samples(x, IMAGE, "calibration data")


def test_file_problems(tmp_path):
    with pytest.raises(InputError, match="no such file or directory"):
        load_samples(tmp_path / "missing.npy", IMAGE, "calibration data")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match=r"'.*bad.npy': not a readable .npy file"):
        load_samples(tmp_path / "bad.npy", IMAGE, "calibration data")
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(InputError, match="unsupported file type '.csv'"):
        load_samples(tmp_path / "x.csv", IMAGE, "calibration data")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="is empty"):
        load_samples(tmp_path / "empty", IMAGE, "calibration data")


def test_npz_feeds_several_inputs_by_name_or_position(tmp_path):
    specs = (InputSpec("a", (3,)), InputSpec("b", (2,)))
    np.savez(tmp_path / "d.npz", b=np.ones((4, 2), np.float32), a=np.zeros((4, 3), np.float32))
    samples = load_samples(tmp_path / "d.npz", specs, "data")
    assert samples.shapes == ((3,), (2,))
    np.savez(tmp_path / "p.npz", np.zeros((4, 3), np.float32), np.ones((4, 2), np.float32))  # arr_0, arr_1
    assert load_samples(tmp_path / "p.npz", specs, "data").count == 4
    np.savez(tmp_path / "c.npz", a=np.zeros((4, 3), np.float32), b=np.ones((5, 2), np.float32))
    with pytest.raises(InputError, match=r"different sample counts \[4, 5\]"):
        load_samples(tmp_path / "c.npz", specs, "data")
    with pytest.raises(InputError, match="no array for model input 'b'"):
        load_samples({"a": np.zeros((4, 3), np.float32)}, specs, "data")


def test_image_directory_is_resized_and_scaled(tmp_path):
    from PIL import Image

    for k in range(3):
        Image.fromarray(np.full((16, 16), 255 * (k % 2), np.uint8)).save(tmp_path / f"{k}.png")
    samples = load_samples(tmp_path, IMAGE, "calibration data", image_range=(-1.0, 1.0))
    x = samples.materialize()[0]
    assert x.shape == (3, 8, 8, 1)
    np.testing.assert_array_equal(x[:, 0, 0, 0], [-1.0, 1.0, -1.0])


def test_wav_directory_is_cut_and_padded(tmp_path):
    for k, n in enumerate((100, 30)):
        with wave.open(str(tmp_path / f"{k}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(np.full(n, 16384, "<i2").tobytes())
    x = load_samples(tmp_path, (InputSpec("audio", (50, 1)),), "calibration data").materialize()[0]
    assert x.shape == (2, 50, 1)
    np.testing.assert_array_equal(x[0, :, 0], np.full(50, 0.5, np.float32))
    np.testing.assert_array_equal(x[1, :, 0], np.r_[np.full(30, 0.5), np.zeros(20)].astype(np.float32))


def test_labels_are_checked_against_the_sample_count(tmp_path):
    np.save(tmp_path / "y.npy", np.arange(5))
    assert load_labels(tmp_path / "y.npy", 5).shape == (5,)
    with pytest.raises(InputError, match=r"labels '.*y.npy' has 5 rows, but the data has 6 samples"):
        load_labels(tmp_path / "y.npy", 6)
    with pytest.raises(InputError, match="NaN"):
        load_labels(np.array([0.5, np.nan]), 2)
