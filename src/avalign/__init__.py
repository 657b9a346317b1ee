"""avalign."""
