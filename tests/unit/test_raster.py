"""tinyq.raster: the closed-form overlap limit is exactly the edge the byte-by-byte enumeration finds."""
import itertools

import numpy as np
import pytest

from tinyq.raster import UNLIMITED, RasterOrder, overlap_faults, write_limit


def _geometries(n, seed=5):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        k = tuple(int(v) for v in rng.integers(1, 4, 2))
        s = tuple(int(v) for v in rng.integers(1, 3, 2))
        d = tuple(int(v) for v in rng.integers(1, 3, 2))
        p = tuple(int(v) for v in rng.integers(0, 3, 2))
        h, w = (int(v) for v in rng.integers(1, 9, 2))
        oh = max(1, (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1)
        ow = max(1, (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1)
        c, oc = (int(v) for v in rng.integers(1, 6, 2))
        items = tuple(int(v) for v in rng.choice([1, 2], 2))
        yield (1, h, w, c), (1, oh, ow, oc), k, s, d, p, items


@pytest.mark.parametrize("block,reads_first", list(itertools.product([0, 1, 2, 4], [False, True])))
def test_write_limit_is_the_last_safe_offset(block, reads_first):
    for shape_in, shape_out, k, s, d, p, (a, b) in _geometries(60, seed=block * 2 + reads_first):
        order = RasterOrder(block, reads_first, k, s, d, p)
        limit = write_limit(order, shape_in, shape_out, a, b)
        if limit >= UNLIMITED:  # no write can reach a byte still to be read: any offset is fine
            assert block == 0 and reads_first
            limit = int(np.prod(shape_in)) * a
            assert overlap_faults(order, shape_in, shape_out, a, b, -int(np.prod(shape_out)) * b + 1) == 0
        assert overlap_faults(order, shape_in, shape_out, a, b, limit) == 0
        assert overlap_faults(order, shape_in, shape_out, a, b, limit - 7) == 0  # further down is safe too
        if limit < int(np.prod(shape_in)) * a:  # one byte further reaches a byte still to be read
            assert overlap_faults(order, shape_in, shape_out, a, b, limit + 1) > 0


def test_depthwise_3x3_leads_its_input_by_a_row_and_a_pixel():
    order = RasterOrder(1, False, (3, 3), (1, 1), (1, 1), (1, 1))
    assert write_limit(order, (1, 25, 5, 64), (1, 25, 5, 64), 1, 1) == -(5 + 2) * 64


def test_pointwise_im2col_pairs_write_in_place():
    order = RasterOrder(2, True, (1, 1), (1, 1), (1, 1), (0, 0))  # each pair read into scratch before its stores
    assert write_limit(order, (1, 25, 5, 64), (1, 25, 5, 64), 1, 1) == 0


def test_not_batch_one_nhwc_has_no_limit():
    order = RasterOrder(1, False, (1, 1), (1, 1), (1, 1), (0, 0))
    assert write_limit(order, (2, 4, 4, 8), (2, 4, 4, 8), 1, 1) is None
    assert write_limit(order, (1, 16), (1, 16), 1, 1) is None
