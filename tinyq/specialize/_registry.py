"""Imports every preparer module, in the order their preparers are tried (Helium before DSP)."""
