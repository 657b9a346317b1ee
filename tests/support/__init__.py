"""Helpers of the tests: tiny media made the ways real files are made, and shared paths."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: the real AVE annotation and split files, where the shared folder sits beside the checkout
SHARED_AVE = REPO.parent / "shared" / "ave"
