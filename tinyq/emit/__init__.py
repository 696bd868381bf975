"""C emission: Program + MemoryPlan -> model.h, model.c, model_data.c, model_data.h (through templates/)."""
