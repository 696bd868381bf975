"""Many small models in one firmware image, so that a per-op grid runs on every emulated board with a few builds.

Each model is compiled for the board with its own prefix (g0, g1, ...) into src/g<k>/ of one PlatformIO project;
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
from tinyq.targets.manifest import read_manifest
from tinyq.targets.project import write_library
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


def _pack(tensors, batches) -> bytes:
    n = batches[0].shape[0]
    rows = [np.ascontiguousarray(b, dtype=np.dtype(t.dtype).newbyteorder("<")).reshape(n, -1).view(np.uint8)
            for b, t in zip(batches, tensors)]
    return np.concatenate(rows, axis=1).tobytes()


def _main_c(manifests) -> str:
    lines = ["/* Grid harness (tests/firmware/grid_image.py): every model's samples in turn. */",
             "#include <stdint.h>", "#include <stdio.h>"]
    lines += [f'#include "g{k}/model.h"' for k in range(len(manifests))]
    for k, m in enumerate(manifests):
        for j, t in enumerate(m.inputs):
            lines.append(f"static uint8_t g{k}_in{j}[{t.bytes}] __attribute__((aligned(16)));")
        for j, t in enumerate(m.outputs):
            lines.append(f"static uint8_t g{k}_out{j}[{t.bytes}] __attribute__((aligned(16)));")
        ins = ", ".join(f"g{k}_in{j}" for j in range(len(m.inputs)))
        outs = ", ".join(f"g{k}_out{j}" for j in range(len(m.outputs)))
        lines.append(f"static const void *const g{k}_inputs[] = {{{ins}}};")
        lines.append(f"static void *const g{k}_outputs[] = {{{outs}}};")
        lines.append(f"static uint8_t *const g{k}_in_bufs[] = {{{ins}}};")
        sizes_in = ", ".join(str(t.bytes) for t in m.inputs)
        sizes_out = ", ".join(str(t.bytes) for t in m.outputs)
        lines.append(f"static const size_t g{k}_in_sizes[] = {{{sizes_in}}};")
        lines.append(f"static const size_t g{k}_out_sizes[] = {{{sizes_out}}};")
    lines += ["typedef struct {", "    tq_status (*invoke)(const void *const *, void *const *);",
              "    const void *const *in; void *const *out; uint8_t *const *in_bufs;",
              "    const size_t *in_sizes, *out_sizes; size_t n_in, n_out;", "} grid_model;",
              "static const grid_model models[] = {"]
    for k, m in enumerate(manifests):
        lines.append(f"    {{g{k}_invoke_v, g{k}_inputs, g{k}_outputs, g{k}_in_bufs, g{k}_in_sizes, g{k}_out_sizes, "
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


def _groups(models: list[GridModel], board, work: Path) -> list[list[int]]:
    """Compile each model alone (prefix g0, in its own directory) and group them so that each image's arenas fit
    half the RAM and its weights half the weight region (the fewer images, the fewer library builds)."""
    ram = board.ram.size // 2 if not board.is_host else 1 << 30
    flash = board.weight_region.size // 2 if not board.is_host else 1 << 30
    groups, used_ram, used_flash = [[]], 0, 0
    for k, m in enumerate(models):
        r = compile_model(m.tflite, work / f"m{k}", board=board.name, prefix="g0", project=False, weights=m.weights,
                          specialize_calls=m.specialize_calls, patch=m.patch, weights_layout=m.weights_layout)
        need_ram, need_flash = r.plan.arena_bytes + r.plan.io_bytes, r.plan.weight_bytes
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
    sources = [""] * len(models)
    for gi, group in enumerate(_groups(models, b, work)):
        proj = work / f"image{gi}"
        first = models[group[0]]  # its project files (harness, platformio.ini); the library follows src/ below
        compile_model(first.tflite, proj, board=board, prefix="g0", weights=first.weights,
                      specialize_calls=first.specialize_calls, patch=first.patch, weights_layout=first.weights_layout)
        src = proj / "src"
        shutil.rmtree(src)
        src.mkdir()
        manifests, data = [], b""
        for slot, k in enumerate(group):
            alone = work / f"image{gi}_g{slot}"
            compile_model(models[k].tflite, alone, board=board, prefix=f"g{slot}", project=False,
                          weights=models[k].weights, specialize_calls=models[k].specialize_calls, patch=models[k].patch,
                          weights_layout=models[k].weights_layout)
            sources[k] = (alone / "src" / "model.c").read_text()
            shutil.move(alone / "src", src / f"g{slot}")
            (src / f"g{slot}" / "main.c").unlink(missing_ok=True)
            man = read_manifest(alone)
            manifests.append(man)
            n = models[k].inputs[0].shape[0]
            data += struct.pack("<I", n) + pack_inputs(man, models[k].inputs)
        (src / "main.c").write_text(_main_c(manifests))
        write_library(proj)  # the kernels every model of the image calls
        build_project(proj)
        got, _ = run_binary(b, artifact_path(proj, b), data, timeout=RUN_TIMEOUT)
        offset = 0
        for k, man in zip(group, manifests):
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
