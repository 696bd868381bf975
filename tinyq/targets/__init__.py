"""Firmware backend: everything after the generated C sources exist.

Public API (each in its own module):
    project.write_project(out_dir, board, manifest) -> list[Path]     harness, kernel library, PlatformIO files
    build.build_project(project_dir, *, profile=False, timeout=900) -> BuildResult
    run.run_project(project_dir, arrays, *, timeout=120, build=True) -> RunResult
    flash.flash_project(project_dir, *, timeout=180) -> Completed
    icount.count_instructions(project_dir, arrays=None, *, timeout=120) -> InstructionCounts
    console.parse_console(text, manifest) -> dict[str, ndarray]      a real board's UART output
Boards are described in tinyq.boards; the dev-platform lives in firmware/platform/.
"""
