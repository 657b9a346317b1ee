"""Stage 2: synchronized and misaligned samples from annotated segments."""
