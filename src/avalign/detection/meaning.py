"""What a verdict's confidence means, in words that fit the verdict they explain.

The confidence of ``in sync`` and of ``audio late by 480 ms`` answer different questions (how sure
that the offset is inside the in-sync band; how sure of one lag outside it), so one table per
confidence level, whatever the verdict, explained an in-sync "confidence high" as "no lag stands
out". Each text here is written for one kind of verdict (JSON ``confidence_meaning``).
"""

from __future__ import annotations

#: Verdict kinds whose evidence is the sound itself, not its timing.
SOUND_KINDS = frozenset({"mute", "silent", "noise"})

MEANINGS: dict[str, dict[str, str]] = {
    "in_sync": {
        "high": "the evidence is far stronger for sync (45 ms early to 125 ms late) than for "
        "any shift",
        "medium": "the evidence favours sync over every shift, but not by much: probably in "
        "sync, check by eye",
        "low": "no shift stands out; but picture and sound share little activity, so the "
        "evidence for sync is weak too: check by eye",
    },
    "time_shift": {
        "high": "the evidence is far stronger for a shift than for sync: out of sync, by about "
        "the offset shown",
        "medium": "the evidence favours a shift over sync, but not by much: probably out of "
        "sync, check by eye",
        "low": "most windows look shifted but no single lag stands out: the offset is a rough "
        "guess, check by eye",
    },
    "drift": {
        "high": "the slope is pinned down within 20%: the sound runs at a different speed",
        "medium": "the slope is pinned down within 50%: probably a drift, check by eye",
        "low": "a drift fits a little better than one offset: check by eye",
    },
    "edit": {
        "high": "two offsets, before and after one time, explain the file far better than one",
        "medium": "two offsets explain the file better than one, but not by much: check by eye",
        "low": "two offsets fit a little better than one: check by eye",
    },
    "sound": {
        level: "the sound itself is missing, silent or noise: measured directly, not from timing"
        for level in ("high", "medium", "low")
    },
    "distort": {
        "high": "the trained model's windows agree that the sound is distorted",
        "medium": "most windows find the sound distorted, not all: check by ear",
        "low": "some windows find the sound distorted: check by ear",
    },
    "cannot_tell": {
        level: "neither sync nor any shift is likely enough to decide (see the reason)"
        for level in ("high", "medium", "low")
    },
}


def confidence_meaning(kind: str, confidence: str) -> str:
    """The meaning of ``confidence`` for a verdict of ``kind`` (`Verdict.kind`)."""
    group = "in_sync" if kind == "none" else "sound" if kind in SOUND_KINDS else kind
    return MEANINGS.get(group, MEANINGS["time_shift"])[confidence]
