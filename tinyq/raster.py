"""Outputs that overlap their input (vMCU-style): how far a convolution's output may reach into its input.

A convolution kernel that walks its output in raster order stops reading the top of its input early: once it
has finished output row y, no later pixel reads the input rows above row y's receptive field. Its output may
then start that far *into* the input's buffer, and the two share bytes (tinyq.planner places them so).

A record says how its C kernel walks memory with `KernelCall.raster_order()`, a RasterOrder, after a review
of that kernel's loops (each record class names the C functions it stands for). Two figures derive from it:
  * write_limit(): the largest D = output offset - input offset at which no byte the kernel writes lands on
    an input byte it still has to read. Closed form, from the first input byte each block of pixels reads.
  * overlap_faults(): the bytes that go wrong at a given D, found by enumerating every tap of every pixel
    (the last block to read each input byte against the block that writes each output byte). The planner's
    checker runs it on every overlap of every plan; it shares nothing with write_limit() but the RasterOrder.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNLIMITED = 1 << 62  # write_limit() when no write can reach a byte still to be read


@dataclass(frozen=True)
class RasterOrder:
    """A convolution kernel's walk over memory (batch 1, NHWC).

    The kernel computes output pixels row by row, left to right, `block` pixels at a time (blocks start at
    pixel 0; 0 = the whole output is one block). While on a block it reads only input pixels of that block's
    receptive fields (all their channels counted) or its own scratch, and writes only that block's output
    pixels. reads_first: all of a block's input reads come before its first output write (im2col into
    scratch, a whole-input copy); otherwise its reads and writes interleave.
    """

    block: int
    reads_first: bool
    filter: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int]  # before row 0 / column 0


def conv_raster(call, block: int, reads_first: bool) -> RasterOrder | None:
    """The RasterOrder of a record with the convolution geometry fields (batches, filter_height, ...)."""
    if call.batches != 1:
        return None
    return RasterOrder(block, reads_first, (call.filter_height, call.filter_width),
                       (call.stride_height, call.stride_width), (call.dilation_height, call.dilation_width),
                       (call.pad_height, call.pad_width))


def _hwc(shape) -> tuple[int, int, int] | None:
    return tuple(int(d) for d in shape[1:]) if len(shape) == 4 and shape[0] == 1 else None


def _block_of(pixels: int, block: int) -> np.ndarray:
    return np.arange(pixels) // block if block > 0 else np.zeros(pixels, np.int64)


def write_limit(order: RasterOrder, in_shape, out_shape, in_item: int, out_item: int) -> int | None:
    """The largest D (output offset - input offset, bytes) at which the output may overlap the input; None
    when the shapes are not a batch-1 NHWC pair. UNLIMITED when the kernel reads everything before writing."""
    src, dst = _hwc(in_shape), _hwc(out_shape)
    if src is None or dst is None:
        return None
    (h, w, c), (oh, ow, oc) = src, dst
    # first input byte each output pixel reads: its lowest tap row and column inside the image
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = order.filter, order.stride, order.dilation, order.pad
    firsts = []
    for n, size, k, s, d, p in ((oh, h, kh, sh, dh, ph), (ow, w, kw, sw, dw, pw)):
        taps = np.arange(n)[:, None] * s - p + np.arange(k)[None, :] * d
        inside = (taps >= 0) & (taps < size)
        firsts.append(np.where(inside.any(axis=1), np.where(inside, taps, size).min(axis=1), -1))
    fy, fx = np.meshgrid(*firsts, indexing="ij")
    first = np.where((fy >= 0) & (fx >= 0), (fy * w + fx) * c * in_item, UNLIMITED).ravel()
    blocks = _block_of(oh * ow, order.block)
    count = int(blocks[-1]) + 1
    reads = np.full(count, UNLIMITED, np.int64)
    np.minimum.at(reads, blocks, first)
    # the lowest byte read by this block (unless its reads are all done) or any later one
    later = np.minimum.accumulate(reads[::-1])[::-1]
    if order.reads_first:
        later = np.append(later[1:], UNLIMITED)
    ends = np.minimum((np.arange(count) + 1) * (order.block or oh * ow), oh * ow) * oc * out_item
    limits = later - ends
    return int(min(limits.min(), UNLIMITED))


def overlap_faults(order: RasterOrder, in_shape, out_shape, in_item: int, out_item: int, delta: int) -> int:
    """How many output bytes, written at `delta` bytes from the input's start, land on an input byte that the
    block writing them or a later one still reads (one it reads itself is fine when reads_first)."""
    (h, w, c), (oh, ow, oc) = _hwc(in_shape), _hwc(out_shape)
    blocks = _block_of(oh * ow, order.block).reshape(oh, ow)
    last = np.full((h, w), -1, np.int64)  # the last block that reads each input pixel
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = order.filter, order.stride, order.dilation, order.pad
    oy, ox = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    for ky in range(kh):
        for kx in range(kw):
            iy, ix = oy * sh - ph + ky * dh, ox * sw - pw + kx * dw
            inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            np.maximum.at(last, (iy[inside], ix[inside]), blocks[inside])
    last_byte = np.repeat(last.ravel(), c * in_item)
    written = np.arange(oh * ow * oc * out_item)
    writer = np.repeat(blocks.ravel(), oc * out_item)
    at = written + delta
    hit = (at >= 0) & (at < last_byte.size)
    reader = last_byte[at[hit]]
    late = reader >= writer[hit] if not order.reads_first else reader > writer[hit]
    return int(late.sum())
