"""Synthetic audio-visual event corpus in the layout of the AVE dataset.

The embedded default dataset: a deterministic generator of short videos in which a
visible object makes a sound (a bouncing ball, a drum, a lamp that beeps, a talking face,
a machine, footsteps, clapping hands), timed precisely with its visible action, among
distractors that move without sound or sound without being seen. See
:func:`generate_corpus` for the layout it writes.

Modules
-------
config       :class:`SyntheticConfig`, the categories and the corpus fingerprint
spec         plain data: :class:`ClipSpec` (what to render), :class:`ClipRecord` (what was)
plan         video ids, per-clip choices, train/val/test split
sources      one module per category: the physics of the visible source and its sound
timing       rhythms and striker trajectories shared by several sources
sound        synthesis primitives (impacts, tones, noises)
draw         sub-pixel drawing on a (shaken) canvas, colours with grayscale contrast
distractors  silent motion and invisible sounds
scene        one clip's scene and the rendering of its frames and audio
encode       H.264 + AAC mp4 writing with PyAV, atomic and reproducible
clip         render one clip / describe it for corpus.json
layout       AVE file names and annotation text formats
corpus       the whole corpus: parallel, resumable generation
"""

from __future__ import annotations

from .clip import describe_clip, write_clip
from .config import CATEGORIES, GENERATOR_VERSION, SyntheticConfig
from .corpus import CorpusMismatchError, CorpusSummary, generate_corpus
from .plan import make_clip_spec, plan_corpus
from .spec import ClipRecord, ClipSpec, DistractorSpec, EventRecord, EventSpec

__all__ = [
    "CATEGORIES",
    "GENERATOR_VERSION",
    "ClipRecord",
    "ClipSpec",
    "CorpusMismatchError",
    "CorpusSummary",
    "DistractorSpec",
    "EventRecord",
    "EventSpec",
    "SyntheticConfig",
    "describe_clip",
    "generate_corpus",
    "make_clip_spec",
    "plan_corpus",
    "write_clip",
]
