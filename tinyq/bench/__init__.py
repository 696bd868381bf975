"""`tinyq bench`: exact instructions, estimated cycles, MACs and sizes of a compiled model (see run.py)."""
from tinyq.bench.report import BenchReport, LayerCost, format_report, save_json
from tinyq.bench.run import bench

__all__ = ["BenchReport", "LayerCost", "bench", "format_report", "save_json"]
