"""Why a verdict is "cannot tell", in words a QA engineer can act on.

When the lag posterior stays between its two thresholds (`avalign.detection.verdict`), the
evidence did not single out sync or any shift. This module says which part of the evidence was
missing, from what the detector had at hand, checked in this order (the first that holds is
the reason):

1. ``no_usable_sound``: no window's sound could be used (missing, silent or noise-like);
2. ``still_picture``: the picture hardly moves (`STILL_FLOW`), so nothing in it can follow the
   sound;
3. ``too_short``: the file is shorter than one window (``window_s``): one short window is too
   little evidence to decide;
4. ``no_face``: face evidence was computed (the packaged LagNet's features) and a face is in view
   in under `FACE_SHARE_NONE` of the file: the sound's source, a voice or anything else, is not a
   face the detector can read, and nothing else in the picture moved with the sound;
5. ``silent_face``: a face is in view for most of the file (`FACE_SHARE_MOST`) but its mouth
   hardly opens or closes (`MOUTH_STILL`): the face does not speak (a listener, a narrator off
   screen, music);
6. ``windows_disagree``: several windows each point clearly at one lag (`CLEAR_WINDOW`), but at
   lags far apart (`DISAGREE_MS`): the file is inconsistent (cuts, several sources);
7. ``no_shared_activity``: otherwise, the picture moves and there is sound, but no lag makes
   their activity line up: nothing in the picture moves with the sound.

One more reason is set where the verdict is made, not here: ``below_bar``, a time shift the
posterior favours but whose P(out of sync) is under the calibrated bar ``out_of_sync_at``
(`avalign.detection.verdict.barred`).

Whether the sound is speech or music is not known to the detector (it has no sound classifier),
so the reasons speak of faces and motion, never of the kind of sound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from avalign.detection.timeline import OffsetModel

#: Median picture motion (``flow_energy``) below which the picture counts as still: a frozen
#: frame or a slide show (a talking head moves about 0.05-0.1, camera footage more).
STILL_FLOW = 0.01
#: Share of the file with a face in view under which "no face" is the reason.
FACE_SHARE_NONE = 0.1
#: Share of the file with a face in view from which a still mouth is the reason.
FACE_SHARE_MOST = 0.5
#: Standard deviation of the mouth's opening (``mouth_open``, in eye distances) over the steps
#: with a face, below which the mouth counts as still (a speaker's varies by 0.03-0.05).
MOUTH_STILL = 0.01
#: A window's probability of its best lag (+- one step) from which it points clearly at it.
CLEAR_WINDOW = 0.5
#: Spread of the clear windows' best lags (ms) from which the windows disagree.
DISAGREE_MS = 500.0


@dataclass(frozen=True)
class Reason:
    """Why the verdict is "cannot tell": a stable code (JSON ``reason``) and its words."""

    code: str
    words: str


def cannot_tell_reason(
    features: dict[str, np.ndarray],
    duration_s: float,
    window_s: float,
    timeline: OffsetModel | None,
) -> Reason:
    """The first reason (see the module's docstring) that the evidence of a file supports."""
    if timeline is None or timeline.window_times_s.size == 0:
        return Reason("no_usable_sound", "no part of the sound could be used (silent or noise)")
    flow = np.asarray(features.get("flow_energy", []), dtype=np.float64)
    if flow.size and float(np.median(flow)) < STILL_FLOW:
        return Reason("still_picture", "the picture hardly moves: nothing in it follows the sound")
    if duration_s < window_s:
        return Reason(
            "too_short",
            f"the file ({duration_s:.1f} s) is shorter than one {window_s:g} s window",
        )
    face = features.get("face_present")
    if face is not None and np.size(face):
        present = np.asarray(face, dtype=np.float64) > 0.5
        share = float(present.mean())
        if share < FACE_SHARE_NONE:
            return Reason(
                "no_face",
                "no face found in the picture, and nothing else in it moves with the sound",
            )
        mouth = features.get("mouth_open")
        if (
            share >= FACE_SHARE_MOST
            and mouth is not None
            and float(np.std(np.asarray(mouth, dtype=np.float64)[present])) < MOUTH_STILL
        ):
            return Reason("silent_face", "the face in view does not speak (its mouth hardly moves)")
    clear = timeline.window_offsets_ms[timeline.window_strength >= CLEAR_WINDOW]
    if clear.size >= 2 and float(np.ptp(clear)) >= DISAGREE_MS:
        return Reason(
            "windows_disagree",
            f"the windows point at different lags ({clear.min():+.0f} .. {clear.max():+.0f} ms)",
        )
    return Reason("no_shared_activity", "nothing in the picture moves with the sound")
