"""`tinyq build DIR [--profile]`: compile a project made by `tinyq compile` and report its size."""
from __future__ import annotations


from tinyq.commands import positive_float


def add_parser(sub):
    p = sub.add_parser("build", help="build a compiled project for its board (host runner or firmware)")
    p.add_argument("project", help="directory written by `tinyq compile`")
    p.add_argument("--profile", action="store_true", help="build with instruction-count markers (-DTQ_PROFILE)")
    p.add_argument("--timeout", type=positive_float, default=900.0, help="seconds before the build is killed (900)")
    return p


def run(args) -> int:
    from tinyq.commands import project_dir
    from tinyq.targets.build import build_project
    from tinyq.targets.elfsize import format_size_report, format_stack_sizing, stack_sizing

    r = build_project(project_dir(args.project), profile=args.profile, timeout=args.timeout)  # a failure names its log
    how = "cc" if r.board.is_host else "PlatformIO"
    took = f"{r.seconds:.1f} s" if r.log else "up to date"
    print(f"built {r.artifact} for {r.board.name} ({how}, {took})")
    print(format_size_report(r.sizes))
    sizing = None if r.board.is_host else stack_sizing(r.artifact)
    if sizing is not None:
        print(format_stack_sizing(sizing))
    return 0
