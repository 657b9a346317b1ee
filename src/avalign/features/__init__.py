"""Stage 3: per-sample visual and audio features, aligned step by step, cached as NPZ."""
