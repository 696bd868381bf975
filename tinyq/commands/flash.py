"""`tinyq flash DIR`: build a project and program its real board through a debug probe."""
from __future__ import annotations

from tinyq.commands import positive_float


def add_parser(sub):
    p = sub.add_parser("flash", help="build and upload a project to a real board (needs a debug probe)")
    p.add_argument("project", help="directory written by `tinyq compile --board <real board>`")
    p.add_argument("--timeout", type=positive_float, default=180.0, help="seconds before the upload is killed (180)")
    return p


def run(args) -> int:
    from tinyq.commands import project_dir
    from tinyq.targets.flash import flash_project
    from tinyq.targets.manifest import read_manifest

    flash_project(project_dir(args.project), timeout=args.timeout)
    board = read_manifest(args.project).board
    print(f"flashed {args.project} to {board}; its UART prints TINYQ_OUTPUT/TINYQ_STATUS lines")
    return 0
