"""Imports every preparer module, in the order their preparers are tried (Helium before DSP)."""
from tinyq.specialize import gemm_mve, depthwise_mve  # noqa: F401,E401  (Helium first)
