"""tinyq.io and the simulator's float QUANTIZE: NaN is refused with its position, +-inf and out-of-range values
saturate as TFLite's QUANTIZE does, no NumPy warning; output paths are checked and written exactly as given."""
import os
import warnings

import numpy as np
import pytest

from tinyq.errors import InputError
from tinyq.io import load_inputs, output_dir, output_file, quantize_float, save_outputs
from tinyq.lower.quantize import QuantizeCall
from tinyq.quant import round_half_away
from tinyq.sim.kernels import get_kernel
from tinyq.sim.kernels.quantize import quantize_f32
from tinyq.targets.manifest import TensorSpec

X = TensorSpec("serving_default_x:0", (1, 2, 6, 3), "int8", 0.05, -3, 36)
FLOAT_X = TensorSpec("x_float", (1, 4), "float32", 0.0, 0, 16)


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_nan_is_refused_naming_file_tensor_sample_and_index(tmp_path):
    x = np.zeros((5, 2, 6, 3), np.float32)
    x[3, 0, 5, 2] = np.nan
    x[4, 1, 0, 0] = np.nan
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(InputError) as e:
        load_inputs(tmp_path / "x.npy", [X])
    assert str(e.value) == f"{tmp_path / 'x.npy'}: input 'serving_default_x:0' sample 3 index [0, 5, 2] is NaN"


def test_nan_is_refused_for_a_float_input_too(tmp_path):
    np.save(tmp_path / "x.npy", np.array([[1.0, 2.0, np.nan, 0.0]], np.float32))
    with pytest.raises(InputError, match=r"x.npy: input 'x_float' sample 0 index \[2\] is NaN"):
        load_inputs(tmp_path / "x.npy", [FLOAT_X])


def test_infinities_and_out_of_range_values_saturate():
    x = np.array([[np.inf, -np.inf, 3e38, -3e38, 1e9, -1e9, 6.3, -6.5, 0.0]], np.float32)
    q = quantize_float(x, 0.05, -3, "int8")
    np.testing.assert_array_equal(q, [[127, -128, 127, -128, 127, -128, 123, -128, -3]])
    assert q.dtype == np.int8
    q16 = quantize_float(x, 0.001, 7, "int16")
    np.testing.assert_array_equal(q16[0, :6], [32767, -32768, 32767, -32768, 32767, -32768])


def test_float64_beyond_float32_saturates_without_a_warning():
    x = np.array([[1e300, -1e300, 0.1, -0.1]], np.float64)
    np.testing.assert_array_equal(quantize_float(x, 0.05, -3, "int8"), [[127, -128, -1, -5]])
    (b,) = load_inputs(x, [FLOAT_X])
    assert b.dtype == np.float32 and b.reshape(-1).tolist() == [np.inf, -np.inf, np.float32(0.1), np.float32(-0.1)]


def _reference(x32: np.ndarray, scale: float, zero_point: int, lo: int, hi: int) -> list[int]:
    """TFLite: roundf(x / scale) (float32 division, ties away from zero) + zero point, saturated."""
    out = []
    for v in x32.ravel():
        q = float(np.float32(v) / np.float32(scale))
        out.append(min(max(round_half_away(q) + zero_point, lo), hi))
    return out


def test_finite_values_round_half_away_from_zero_in_float32():
    rng = np.random.default_rng(7)
    x = np.concatenate([
        rng.uniform(-8, 8, 2000).astype(np.float32),
        # ties and the float just below 0.5, where x + 0.5 rounds up in float32 but roundf does not
        np.float32(0.05) * np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5], np.float32),
        np.array([np.nextafter(np.float32(0.5), np.float32(0)) * np.float32(0.05)], np.float32),
    ])
    got = quantize_f32(x, 0.05, -3, np.int8)
    assert got.tolist() == _reference(x, 0.05, -3, -128, 127)
    got16 = quantize_f32(x, 1e-3, 11, np.int16)
    assert got16.tolist() == _reference(x, 1e-3, 11, -32768, 32767)


@pytest.mark.parametrize("kernel, dtype, lo, hi", [("tq_quantize_f32_s8", np.int8, -128, 127),
                                                  ("tq_quantize_f32_s16", np.int16, -32768, 32767)])
def test_simulator_quantize_kernel_follows_the_agreed_rule(kernel, dtype, lo, hi):
    """+inf and too large -> max, -inf and too small -> min, NaN -> zero point; finite in-range values unchanged."""
    x = np.array([[np.inf, -np.inf, np.nan, 3e38, -3e38, 1e9, -1e9, 0.25, -0.25, 0.0]], np.float32)
    call = QuantizeCall(kernel=kernel, layer=0, opcode="QUANTIZE", inputs=(0,), outputs=(1,),
                        size=x.size, scale=0.1, output_offset=3)
    got = get_kernel(kernel)(call, x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [[hi, lo, 3, hi, lo, hi, lo, 6, 0, 3]])


def test_int_data_out_of_range_names_the_position(tmp_path):
    x = np.zeros((2, 2, 6, 3), np.int32)
    x[1, 1, 2, 0] = 300
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(InputError, match=r"input 'serving_default_x:0' sample 1 index \[1, 2, 0\] is 300, "
                                         r"outside the int8 range \[-128, 127\]"):
        load_inputs(tmp_path / "x.npy", [X])


@pytest.mark.parametrize("data, message", [
    (b"", "file is empty"),
    (b"not numpy at all", "not an .npy or .npz file"),
    (b"PK\x03\x04broken", "cannot read this .npy/.npz file"),
])
def test_unreadable_input_files(tmp_path, data, message):
    (tmp_path / "x.npy").write_bytes(data)
    with pytest.raises(InputError, match=message):
        load_inputs(tmp_path / "x.npy", [X])


def test_input_paths(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_inputs(tmp_path / "missing.npy", [X])
    with pytest.raises(InputError, match="is a directory, not a file"):
        load_inputs(tmp_path, [X])


def test_output_without_suffix_is_written_exactly_there(tmp_path):
    out = tmp_path / "result"
    save_outputs(out, [np.arange(8, dtype=np.int8).reshape(2, 1, 4)], [TensorSpec("y", (1, 4), "int8", 1.0, 0, 4)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]
    np.testing.assert_array_equal(np.load(out), np.arange(8).reshape(2, 4))


def test_npz_output_without_suffix_is_refused(tmp_path):
    specs = [TensorSpec("a", (1, 1), "int8", 1.0, 0, 1), TensorSpec("b", (1, 1), "int8", 1.0, 0, 1)]
    with pytest.raises(InputError, match="the model has 2 outputs; write an .npz"):
        save_outputs(tmp_path / "y.npy", [np.zeros((1, 1), np.int8)] * 2, specs)
    save_outputs(tmp_path / "y.npz", [np.zeros((1, 1), np.int8), np.ones((1, 1), np.int8)], specs)
    with np.load(tmp_path / "y.npz") as z:
        assert z.files == ["a", "b"] and z["b"].tolist() == [[1]]


@pytest.mark.parametrize("path, message", [
    ("/dev/null", "not a regular file"),
    ("/dev/full", "not a regular file"),
    ("DIR", "is a directory, not a file"),
    ("FILE/y.npy", "is not a directory"),
])
def test_unwritable_output_files_are_refused(tmp_path, path, message):
    (tmp_path / "FILE").write_bytes(b"x")
    path = path.replace("DIR", str(tmp_path)).replace("FILE", str(tmp_path / "FILE"))
    with pytest.raises(InputError, match=f"--output {path}: .*{message}"):
        output_file(path, "--output")


def test_output_dirs(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    assert output_dir(tmp_path / "new" / "deeper", "--out") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checked, not created
    with pytest.raises(InputError, match="exists and is not a directory"):
        output_dir(tmp_path / "f", "--out")
    with pytest.raises(InputError, match="is not a directory"):
        output_dir(tmp_path / "f" / "sub", "--out")
    with pytest.raises(InputError, match="not a directory"):
        output_dir("/dev/null", "--out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_no_permission(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(InputError, match="no permission to write in"):
            output_file(ro / "y.npy", "--output")
    finally:
        ro.chmod(0o700)



U8_X = TensorSpec("image", (1, 2, 3), "uint8", 1 / 255, 0, 6)


def test_uint8_input_takes_uint8_and_in_range_integer_arrays():
    x = np.array([[[0, 1, 2], [128, 254, 255]]], np.uint8)
    (b,) = load_inputs(x, [U8_X])
    assert b.dtype == np.uint8 and b.shape == (1, 1, 2, 3) and np.array_equal(b.reshape(x.shape), x)
    (b,) = load_inputs(x.astype(np.int64), [U8_X])  # other integer dtypes, when every value fits
    assert b.dtype == np.uint8 and np.array_equal(b.reshape(x.shape), x)


@pytest.mark.parametrize("value,dtype", [(-1, np.int8), (256, np.int32), (-128, np.int16)])
def test_uint8_input_refuses_integers_outside_0_255(tmp_path, value, dtype):
    x = np.zeros((2, 2, 3), dtype)
    x[1, 0, 2] = value
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(InputError) as e:
        load_inputs(tmp_path / "x.npy", [U8_X])
    assert str(e.value) == (f"{tmp_path / 'x.npy'}: input 'image' sample 1 index [0, 2] is {value}, "
                            f"outside the uint8 range [0, 255]")


def test_float_data_for_a_uint8_input_is_quantized_into_0_255():
    x = np.array([[[0.0, 0.5, 1.0], [-0.25, 2.0, np.inf]], [[-np.inf, 0.2, 0.7], [1e-3, 0.999, 0.5 / 255]]],
                 np.float32)
    (b,) = load_inputs(x, [U8_X])
    assert b.dtype == np.uint8
    finite = np.isfinite(x.reshape(-1))
    assert b.reshape(-1)[finite].tolist() == _reference(x.reshape(-1)[finite], 1 / 255, 0, 0, 255)
    assert b.reshape(-1).tolist()[:7] == [0, 127, 255, 0, 255, 255, 0]  # 0.5 / float32(1/255) = 127.49999...
    shifted = TensorSpec("image", (1, 2, 3), "uint8", 0.25, 200, 6)  # exact ties: round half away from zero
    (b,) = load_inputs(np.array([[[-50.0, -50.125, 0.125], [-0.125, 13.625, 13.375]]]), [shifted])
    assert b.reshape(-1).tolist() == [0, 0, 201, 199, 255, 254]
    x[1, 1, 1] = np.nan
    with pytest.raises(InputError, match=r"input 'image' sample 1 index \[1, 1\] is NaN"):
        load_inputs(x, [U8_X])
