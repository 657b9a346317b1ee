"""The in-sync band: how far sound may lead or lag its picture before a viewer notices.

One band for every verdict path (the lag posterior, the windows' majority, the training-free
correlation, drifts, edits) and for `fix`'s check of what it wrote.
"""

from __future__ import annotations

#: ITU-R BT.1359 in-sync band in avalign's sign (positive = audio late), ms: what a viewer does
#: not notice (audio up to 45 ms early or 125 ms late). Every verdict path judges by it.
IN_SYNC_BAND_MS = (-45.0, 125.0)


def in_band(offset_ms: float) -> bool:
    """Whether a viewer would call ``offset_ms`` in sync (within `IN_SYNC_BAND_MS`)."""
    return IN_SYNC_BAND_MS[0] <= offset_ms <= IN_SYNC_BAND_MS[1]
