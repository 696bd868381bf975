"""Precision levels: several models in one image, switched at run time (`tinyq compile A.tflite B.tflite`).

Level k is the k-th model given. The levels must agree on their inputs' and outputs' shapes and dtypes (their
scales may differ). lower.py lowers every level and nests the weights a level declares as the top bits of an
earlier level's (`tinyq quantize --nested-from`); the emitter stores constant arrays the levels share once and
sizes the one arena to the largest level (tinyq.emit.emitter.render_levels).
"""
from tinyq.levels.lower import LevelProgram, check_level, lower_levels

__all__ = ["LevelProgram", "check_level", "lower_levels"]
