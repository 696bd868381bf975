"""`tinyq export DIR --out OUT [--format files|make|cmake]`: a compiled model and the kernel library, for a
firmware project of one's own (tinyq.export)."""
from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("export", help="copy a compiled model and tinyq's kernel library into a directory, with Make "
                       "or CMake glue, for an existing firmware project (docs/integration.md)")
    p.add_argument("project", help="directory written by `tinyq compile`")
    p.add_argument("--out", "-o", required=True, help="directory to write")
    p.add_argument("--format", choices=("files", "make", "cmake"), default="files",
                   help="files: the sources only (default); make: also tinyq.mk and a Makefile for a static "
                        "library; cmake: also a CMakeLists.txt with a static library target")
    return p


def run(args) -> int:
    from tinyq.commands import project_dir
    from tinyq.export import export_project
    from tinyq.io import output_dir

    output_dir(args.out, "--out")
    files = export_project(project_dir(args.project), args.out, args.format)
    print(f"exported {args.project} to {args.out}/ ({len(files)} files, format {args.format}): model/ (generated), "
          f"tinyq/ (kernel library)" + {"files": "", "make": ", tinyq.mk, Makefile",
                                         "cmake": ", CMakeLists.txt"}[args.format])
    return 0
