"""`tinyq export`: a compiled model, with tinyq's kernel library, for a firmware project of one's own.

Copies the generated sources (model.h, model.c, model_data.[ch]) into OUT/model/ and the kernel library into
OUT/tinyq/ (include/, and the sources of src/ that the model calls), and with --format make or cmake writes the build glue:
  * make: OUT/tinyq.mk (TINYQ_SRCS, TINYQ_INCLUDES, TINYQ_CPU_FLAGS, TINYQ_CFLAGS, to include from a Makefile)
    and OUT/Makefile, which builds OUT/lib<prefix>.a with them;
  * cmake: OUT/CMakeLists.txt, a static library target named after the prefix (add_subdirectory(OUT), then
    target_link_libraries(app PRIVATE <prefix>)).
The CPU flags are those of the board the model was compiled for: its calls name the kernel variants chosen for
that core (Arm DSP, Helium), which exist only when the library is compiled for it. Nothing names the tinyq
installation: the exported directory can move anywhere.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from tinyq.errors import InputError

FORMATS = ("files", "make", "cmake")
GENERATED = ("model.h", "model.c", "model_data.h", "model_data.c")
CFLAGS = ("-std=c99", "-O2")


def _board(manifest):
    from tinyq.boards import load_board

    return load_board(manifest.board or "host")


def export_project(compiled: Path | str, out: Path | str, fmt: str = "files") -> list[Path]:
    """Export the directory `tinyq compile` wrote; returns the files written."""
    from tinyq.resources import data_dir
    from tinyq.targets.manifest import read_manifest

    if fmt not in FORMATS:
        raise InputError(f"--format '{fmt}': expected one of {', '.join(FORMATS)}")
    compiled, out = Path(compiled), Path(out)
    manifest = read_manifest(compiled)  # refuses a directory compile did not write
    src = compiled / "src"
    missing = [name for name in GENERATED if not (src / name).is_file()]
    if missing:
        raise InputError(f"{compiled}: no {src / missing[0]} (compile it again with `tinyq compile`)")
    if out.resolve() == compiled.resolve() or compiled.resolve() in out.resolve().parents:
        raise InputError(f"--out {out}: must not be inside the compiled directory {compiled}")
    board = _board(manifest)
    library = data_dir("firmware")
    written = []
    (out / "model").mkdir(parents=True, exist_ok=True)
    for name in GENERATED:
        written.append(Path(shutil.copy2(src / name, out / "model" / name)))
    needed = _needed_kernels(library, [(src / name).read_text(encoding="utf-8") for name in GENERATED
                                       if name.endswith(".c")])
    for part in ("include", "src"):
        target = out / "tinyq" / part
        if target.exists():
            shutil.rmtree(target)  # an earlier export's library: replaced whole, so no stale kernel stays
        shutil.copytree(library / part, target, ignore=lambda d, names: [
            n for n in names if n.endswith(".c") and (Path(d) / n).relative_to(library) not in needed])
        written += sorted(p for p in target.rglob("*") if p.is_file())
    flags = " ".join(board.arch_flags)
    import json

    model = json.loads((compiled / "tinyq.json").read_text(encoding="utf-8")).get("model", "a model")
    title = f"tinyq export of {model} for {board.name} (prefix {manifest.prefix})"
    if fmt == "make":
        written += [_write(out / "tinyq.mk", _make_fragment(title, flags)),
                    _write(out / "Makefile", _makefile(title, manifest.prefix, board))]
    elif fmt == "cmake":
        written.append(_write(out / "CMakeLists.txt", _cmake(title, manifest.prefix, flags, board.is_host)))
    return written


def _needed_kernels(library: Path, model_sources: list[str]) -> set[Path]:
    """The kernel sources (paths relative to the library) that the generated C calls, as a PlatformIO project gets them
    (tinyq.targets.kernel_sources): an exported build compiles those, not all of them. Headers all go."""
    from tinyq.targets.kernel_sources import library_texts, needed_sources

    return needed_sources(library_texts(library), model_sources)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _make_fragment(title: str, flags: str) -> str:
    return f"""# {title}
# Include from your Makefile; compile TINYQ_SRCS with TINYQ_CFLAGS (the board's CPU flags: the model calls the
# kernel variants chosen for that core).
TINYQ_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
TINYQ_SRCS := $(wildcard $(TINYQ_DIR)/model/*.c) $(wildcard $(TINYQ_DIR)/tinyq/src/*.c)
TINYQ_INCLUDES := -I$(TINYQ_DIR)/model -I$(TINYQ_DIR)/tinyq/include
TINYQ_CPU_FLAGS := {flags}
TINYQ_CFLAGS := {' '.join(CFLAGS)} -ffunction-sections -fdata-sections $(TINYQ_CPU_FLAGS) $(TINYQ_INCLUDES)
"""


def _makefile(title: str, prefix: str, board) -> str:
    cc = "cc" if board.is_host else "arm-none-eabi-gcc"
    ar = "ar" if board.is_host else "arm-none-eabi-ar"
    return f"""# {title}
# `make` builds lib{prefix}.a here (CC and AR may be overridden); link it with -lm on a host.
include tinyq.mk
CC ?= {cc}
ifeq ($(origin CC),default)
CC := {cc}
endif
AR := {ar}
BUILD := build
OBJS := $(patsubst $(TINYQ_DIR)/%.c,$(BUILD)/%.o,$(TINYQ_SRCS))

lib{prefix}.a: $(OBJS)
\t$(AR) rcs $@ $^

$(BUILD)/%.o: $(TINYQ_DIR)/%.c
\t@mkdir -p $(dir $@)
\t$(CC) $(TINYQ_CFLAGS) -c $< -o $@

clean:
\trm -rf $(BUILD) lib{prefix}.a

.PHONY: clean
"""


def _cmake(title: str, prefix: str, flags: str, host: bool) -> str:
    link = f"\ntarget_link_libraries({prefix} PUBLIC m)\n" if host else "\n"
    return f"""# {title}
# add_subdirectory() this directory, then target_link_libraries(your_app PRIVATE {prefix}). The library is
# compiled with TINYQ_CPU_FLAGS, the board's CPU flags: the model calls the kernel variants chosen for that core.
cmake_minimum_required(VERSION 3.13)
project({prefix}_tinyq C)
set(TINYQ_CPU_FLAGS "{flags}" CACHE STRING "CPU flags the exported model was compiled for")
file(GLOB TINYQ_SOURCES CONFIGURE_DEPENDS
     "${{CMAKE_CURRENT_LIST_DIR}}/model/*.c" "${{CMAKE_CURRENT_LIST_DIR}}/tinyq/src/*.c")
add_library({prefix} STATIC ${{TINYQ_SOURCES}})
target_include_directories({prefix} PUBLIC "${{CMAKE_CURRENT_LIST_DIR}}/model" "${{CMAKE_CURRENT_LIST_DIR}}/tinyq/include")
set_target_properties({prefix} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
separate_arguments(TINYQ_CPU_FLAG_LIST UNIX_COMMAND "${{TINYQ_CPU_FLAGS}}")
target_compile_options({prefix} PRIVATE -O2 -ffunction-sections -fdata-sections ${{TINYQ_CPU_FLAG_LIST}}){link}"""
