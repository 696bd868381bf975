"""Many small models in one firmware image, so that a per-op grid runs on every emulated board with a few builds.

Each model is compiled once for the board with its own prefix (g<k>, k its place in the list) into src/g<k>/ of
one PlatformIO project;
a generated main.c reads, for each model in turn, a uint32 sample count and that many samples (every input's raw
bytes), invokes the model on each and writes every output's raw bytes. The kernels and the code generator are the
ones a single-model build uses: only the harness differs.
"""
from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyq.boards import load_board
from tinyq.compiler import compile_model
from tinyq.targets.build import artifact_path, build_project
from tinyq.targets.manifest import MANIFEST_NAME, read_manifest
from tinyq.targets.project import write_library, write_project
from tinyq.targets.run import pack_inputs, run_binary

RUN_TIMEOUT = 600.0


@dataclass
class GridModel:
    name: str
    tflite: bytes | Path  # what compile_model takes
    inputs: list[np.ndarray]  # one (N, *shape) batch per model input
    want: list[np.ndarray]  # the simulator's outputs, (N, *shape) each
    weights: str = "auto"  # compile_model's weights option (e.g. "smallest" for the encoded models)
    specialize_calls: bool = True  # False: the variants kernel_select picks, without the prepared kernels
    patch: str | int = "auto"  # compile_model's patch option (tinyq.patch: chains run in bands)
    weights_layout: str = "auto"  # compile_model's weights_layout option (--weights-layout)
    compiled: Path | None = None  # already compiled for the board (project=False, a unique prefix): used as it is


def _pack(tensors, batches) -> bytes:
    n = batches[0].shape[0]
    rows = [np.ascontiguousarray(b, dtype=np.dtype(t.dtype).newbyteorder("<")).reshape(n, -1).view(np.uint8)
            for b, t in zip(batches, tensors)]
    return np.concatenate(rows, axis=1).tobytes()


def compile_alone(model: GridModel, board: str, out: Path, prefix: str) -> Path:
    """The model compiled for the board the way a single-model build compiles it, without the project files."""
    compile_model(model.tflite, out, board=board, prefix=prefix, project=False, weights=model.weights,
                  specialize_calls=model.specialize_calls, patch=model.patch, weights_layout=model.weights_layout)
    return out


def _main_c(manifests) -> str:
    lines = ["/* Grid harness (tests/firmware/grid_image.py): every model's samples in turn. */",
             "#include <stdint.h>", "#include <stdio.h>"]
    lines += [f'#include "{m.prefix}/model.h"' for m in manifests]
    for m in manifests:
        k = m.prefix
        for j, t in enumerate(m.inputs):
            lines.append(f"static uint8_t {k}_in{j}[{t.bytes}] __attribute__((aligned(16)));")
        for j, t in enumerate(m.outputs):
            lines.append(f"static uint8_t {k}_out{j}[{t.bytes}] __attribute__((aligned(16)));")
        ins = ", ".join(f"{k}_in{j}" for j in range(len(m.inputs)))
        outs = ", ".join(f"{k}_out{j}" for j in range(len(m.outputs)))
        lines.append(f"static const void *const {k}_inputs[] = {{{ins}}};")
        lines.append(f"static void *const {k}_outputs[] = {{{outs}}};")
        lines.append(f"static uint8_t *const {k}_in_bufs[] = {{{ins}}};")
        sizes_in = ", ".join(str(t.bytes) for t in m.inputs)
        sizes_out = ", ".join(str(t.bytes) for t in m.outputs)
        lines.append(f"static const size_t {k}_in_sizes[] = {{{sizes_in}}};")
        lines.append(f"static const size_t {k}_out_sizes[] = {{{sizes_out}}};")
    lines += ["typedef struct {", "    tq_status (*invoke)(const void *const *, void *const *);",
              "    const void *const *in; void *const *out; uint8_t *const *in_bufs;",
              "    const size_t *in_sizes, *out_sizes; size_t n_in, n_out;", "} grid_model;",
              "static const grid_model models[] = {"]
    for m in manifests:
        k = m.prefix
        lines.append(f"    {{{k}_invoke_v, {k}_inputs, {k}_outputs, {k}_in_bufs, {k}_in_sizes, {k}_out_sizes, "
                     f"{len(m.inputs)}, {len(m.outputs)}}},")
    lines += ["};", r"""
int main(int argc, char **argv)
{
    if (argc != 3) return 2;
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    if (!in || !out) return 4;
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        const grid_model *g = &models[k];
        uint32_t n;
        if (fread(&n, 4, 1, in) != 1) return 4;
        for (uint32_t s = 0; s < n; s++) {
            for (size_t j = 0; j < g->n_in; j++)
                if (fread(g->in_bufs[j], 1, g->in_sizes[j], in) != g->in_sizes[j]) return 4;
            if (g->invoke(g->in, g->out) != TQ_OK) return 3;
            for (size_t j = 0; j < g->n_out; j++)
                if (fwrite(g->out[j], 1, g->out_sizes[j], out) != g->out_sizes[j]) return 4;
        }
    }
    return fclose(out) == 0 ? 0 : 4;
}
"""]
    return "\n".join(lines) + "\n"


def _groups(manifests, board) -> list[list[int]]:
    """Group the compiled models so that each image's arenas fit half the RAM and its weights half the weight
    region (the fewer images, the fewer library builds)."""
    ram = board.ram.size // 2 if not board.is_host else 1 << 30
    flash = board.weight_region.size // 2 if not board.is_host else 1 << 30
    groups, used_ram, used_flash = [[]], 0, 0
    for k, man in enumerate(manifests):
        need_ram = man.arena_bytes + sum(t.bytes for t in man.inputs + man.outputs)
        need_flash = man.weight_bytes
        if groups[-1] and (used_ram + need_ram > ram or used_flash + need_flash > flash):
            groups.append([])
            used_ram = used_flash = 0
        groups[-1].append(k)
        used_ram += need_ram
        used_flash += need_flash
    return groups


def run_grid(models: list[GridModel], board: str, work: Path) -> list[str]:
    """Build the models into as few images as fit `board`, run them, and assert every output byte equals the
    simulator's. The message names the model and the sample of the first difference. Returns each model's
    generated model.c, in order (the tests check which kernels it calls)."""
    b = load_board(board)
    dirs = [m.compiled or compile_alone(m, board, work / f"m{k}", f"g{k}") for k, m in enumerate(models)]
    manifests = [read_manifest(d) for d in dirs]
    assert len({m.prefix for m in manifests}) == len(manifests), "grid models need distinct prefixes"
    sources = [(d / "src" / "model.c").read_text() for d in dirs]
    for gi, group in enumerate(_groups(manifests, b)):
        proj = work / f"image{gi}"
        src = proj / "src"
        src.mkdir(parents=True)
        data = b""
        for k in group:
            shutil.copytree(dirs[k] / "src", src / manifests[k].prefix, ignore=shutil.ignore_patterns("main.c"))
            n = models[k].inputs[0].shape[0]
            data += struct.pack("<I", n) + pack_inputs(manifests[k], models[k].inputs)
        shutil.copy(dirs[group[0]] / MANIFEST_NAME, proj / MANIFEST_NAME)  # the board, for build_project
        write_project(proj, b, manifests[group[0]])  # platformio.ini and the dev-platform; main.c is replaced below
        (src / "main.c").write_text(_main_c([manifests[k] for k in group]))
        write_library(proj)  # the kernels every model of the image calls
        build_project(proj)
        got, _ = run_binary(b, artifact_path(proj, b), data, timeout=RUN_TIMEOUT)
        offset = 0
        for k in group:
            man = manifests[k]
            want = _pack(man.outputs, models[k].want)
            part = got[offset:offset + len(want)]
            if part != want:
                per = sum(t.bytes for t in man.outputs)
                bad = next(i for i in range(len(want)) if i >= len(part) or part[i] != want[i])
                raise AssertionError(f"{board}: model {models[k].name}: firmware != simulator, first at sample "
                                     f"{bad // per}, byte {bad % per} ({len(part)} of {len(want)} bytes written)")
            offset += len(want)
        assert offset == len(got), f"{board}: the image wrote {len(got) - offset} bytes too many"
    return sources
