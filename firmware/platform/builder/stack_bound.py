# The worst-case stack of a call tree, from GCC's per-object call graphs (-fstack-usage -fcallgraph-info=su:
# one .ci file beside each object, its nodes labelled with the function's frame size).
#
# bound(ci_files, roots) is the deepest sum of frames along any call path from a root. What the call graphs
# cannot show is charged by a stated rule:
#   * a function with no frame size (defined outside the compiled sources: newlib's memcpy and memset, libgcc
#     helpers) is charged EXTERNAL_BYTES, as a leaf;
#   * an indirect call (GCC's "__indirect_call" node) is charged the deepest function defined in the same
#     object (tinyq's function pointers, kernel inner-loop variants and the level table, are static there);
#   * what assembly statements push beyond their function's frame, which GCC does not see, is charged
#     ASM_BYTES once a path: such statements are inner loops of leaf kernels (the most, the M55 GEMM core's
#     push {r4-r11, lr}, vpush {d8-d13} and 32 B: 116 B; the M4 FC group loop's push {r4-r11}: 32 B).
# It returns None, with the reason, when the bound does not exist: a dynamic frame (alloca, a VLA), recursion,
# or no root found. Plain Python (no tinyq import): the PlatformIO builder runs it before the link.
import re

EXTERNAL_BYTES = 128
ASM_BYTES = 128

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_FRAME = re.compile(r"\\n(\d+) bytes \(([a-z,]+)\)")


def read_graphs(ci_files):
    """(frames, calls, home): frame bytes per defined function (None: dynamic), callees per caller, and the
    object each defined function belongs to."""
    frames, calls, home = {}, {}, {}
    for path in ci_files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()

        def key(title):  # a static function ("file.c:name") is its object's own: one per object that has it
            return path + "|" + title if ":" in title else title

        for title, label in _NODE.findall(text):
            m = _FRAME.search(label)
            if m is None:
                continue  # declared here, defined elsewhere
            frames[key(title)] = None if "dynamic" in m.group(2) and "bounded" not in m.group(2) else int(m.group(1))
            home[key(title)] = path
        for src, dst in _EDGE.findall(text):
            calls.setdefault(key(src), set()).add((path, dst) if dst == "__indirect_call" else key(dst))
    return frames, calls, home


def bound(ci_files, roots):
    """(bytes, None) for the deepest call path from any function named in `roots` (a predicate on names),
    or (None, reason)."""
    frames, calls, home = read_graphs(ci_files)
    starts = sorted(name for name in frames if roots(name.rsplit(":", 1)[-1]))
    if not starts:
        return None, "no entry function in the call graph"
    by_object = {}
    for name, path in home.items():
        by_object.setdefault(path, []).append(name)
    memo, active = {}, set()

    def depth(name):
        if isinstance(name, tuple):  # an indirect call from object name[0]
            targets = [n for n in by_object.get(name[0], []) if n not in active]
            return max((depth(n) for n in targets), default=EXTERNAL_BYTES)
        if name in memo:
            return memo[name]
        if name not in frames:
            return EXTERNAL_BYTES
        if frames[name] is None:
            raise ValueError("%s has a dynamic stack frame" % name)
        if name in active:
            raise ValueError("%s is recursive" % name)
        active.add(name)
        deepest = max((depth(c) for c in calls.get(name, ())), default=0)
        active.discard(name)
        memo[name] = frames[name] + deepest
        return memo[name]

    try:
        return max(depth(s) for s in starts) + ASM_BYTES, None
    except ValueError as exc:
        return None, str(exc)
