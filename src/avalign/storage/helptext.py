"""Each command's ``--help``: what it does, its main settings, examples and exit status; and
`hydra_main`, which binds a Hydra command to avalign's configs and this help.

The settings are read from the command's config, ``conf/<command>.yaml``, so the help says what
the config says: every ``key: value  # meaning`` line (nested keys dotted: ``data.batch_size``),
each config group of its defaults list with the options in ``conf/<group>/`` and the ``paths``
keys. The exit status is the "Exit status" paragraph of the command module's docstring. The
Hydra commands show this text as Hydra's own ``--help`` (``conf/hydra/default.yaml`` sets the
template to the ``avalign_help`` resolver, see `hydra_template`); ``--hydra-help`` and
``--cfg job`` stay Hydra's.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from avalign.storage.config import config_dir

WIDTH = 100
KEY_COLUMN = 30
HELP_FLAGS = ("-h", "--help")
#: groups of a defaults list not shown as a choice (``paths`` is shown by its keys)
HIDDEN_GROUPS = ("hydra", "paths")


@dataclass(frozen=True)
class Setting:
    """One ``key=default`` a user can give, with what it means."""

    key: str
    default: str
    meaning: str


@dataclass(frozen=True)
class Command:
    """What the config does not say: usage, one sentence, examples."""

    usage: str
    summary: str
    examples: tuple[str, ...]
    exit_status: str = "Exit status: 0 done; 1 it stopped on an error (the message says why)."
    hydra: bool = True


DATA_EXIT = "Exit status: 0 done; 1 nothing usable was made, or an error (the message says why)."

COMMANDS = {
    "detect": Command(
        "python -m avalign.detect PATH... [--json FILE] [--plots DIR] [--report FILE] "
        "[key=value ...]",
        "Check whether the sound of each video is in sync with its picture and print one verdict "
        "line per file.",
        (
            "python -m avalign.detect clip.mp4",
            "python -m avalign.detect ~/videos --report report.html",
            "python -m avalign.detect 'takes/*.mkv' source=null window_s=4",
            "python -m avalign.detect videos/ --json out.json workers=2 num_shards=4 shard_index=0",
            "python -m avalign.detect --merge out.shard*.json --json all.json --report all.html",
        ),
        hydra=False,
    ),
    "fix": Command(
        "python -m avalign.fix IN OUT [key=value ...]",
        "Write a copy of a video (or of every video in a folder) whose sound is moved back in sync "
        "with its picture, then check the copy.",
        (
            "python -m avalign.fix clip.mp4 fixed.mp4",
            "python -m avalign.fix clip.mp4 fixed.mp4 offset_ms=480",
            "python -m avalign.fix ~/videos ~/fixed min_confidence=medium",
        ),
        hydra=False,
    ),
    "train": Command(
        "python -m avalign.train [-m] [group=option ...] [key=value ...]",
        "Train, validate and test one detector end to end, making any missing data on the way, "
        "and log the run to MLflow.",
        (
            "python -m avalign.train model=mlp",
            "python -m avalign.train experiment=transformer_fps25",
            "python -m avalign.train -m model=threshold model.theta=0.2,0.4,0.6,0.8",
        ),
    ),
    "evaluate": Command(
        "python -m avalign.evaluate source=RUN_ID_OR_CKPT [group=option ...] [key=value ...]",
        "Evaluate a trained detector on another dataset and log the evaluation as its own MLflow "
        "run.",
        (
            "python -m avalign.evaluate source=<run id> dataset=folder dataset.root=~/videos",
            "python -m avalign.evaluate source=model.ckpt split=test",
        ),
    ),
    "benchmark": Command(
        "python -m avalign.benchmark [key=value ...]",
        "Measure every detector on the field's protocol (real clips, the synthetic corpus or "
        "your folder) and write the results tables.",
        (
            "python -m avalign.benchmark",
            "python -m avalign.benchmark source=synthetic run=[xcorr,transformer] training=[folds]",
            "python -m avalign.benchmark source=folder root=~/videos files.enabled=false",
        ),
        hydra=False,
    ),
    "prepare": Command(
        "python -m avalign.prepare [dataset=synthetic|ave|folder] [key=value ...]",
        "Read or generate a dataset and write its tidy annotations (stage 1).",
        (
            "python -m avalign.prepare",
            "python -m avalign.prepare dataset=ave dataset.root=/data/AVE_Dataset",
            "python -m avalign.prepare dataset=folder dataset.root=~/videos",
        ),
        DATA_EXIT,
    ),
    "generate": Command(
        "python -m avalign.generate [group=option ...] [key=value ...]",
        "Plan the synchronized and misaligned samples of a dataset, and write them if asked "
        "(stage 2).",
        (
            "python -m avalign.generate",
            "python -m avalign.generate generate.materialize=true",
        ),
        DATA_EXIT,
    ),
    "extract": Command(
        "python -m avalign.extract [group=option ...] [key=value ...]",
        "Extract the features of every sample into a resumable cache (stage 3).",
        (
            "python -m avalign.extract",
            "python -m avalign.extract feature=fps25",
            "python -m avalign.extract -m extract.shard_index=0,1 extract.num_shards=2",
        ),
        DATA_EXIT,
    ),
}

_LINE = re.compile(r"^(?P<indent>\s*)(?P<item>-\s+)?(?P<key>[A-Za-z_][\w/]*)\s*:(?P<rest>.*)$")
_ENV = re.compile(r"\$\{oc\.env:(\w+),([^}]*)\}")


def plain(text: str) -> str:
    """Docstring or comment text without reST/Markdown backticks."""
    return text.replace("``", "").replace("`", "")


def _value_and_comment(rest: str) -> tuple[str, str]:
    match = re.search(r"(^|\s)#\s?", rest)
    if match is None:
        return rest.strip(), ""
    return rest[: match.start()].strip(), rest[match.end() :].strip()


def _shown(value: str) -> str:
    """``${oc.env:AVALIGN_DATA_DIR,data}`` -> ``data (or $AVALIGN_DATA_DIR)``; ``???`` (Hydra's
    "must be given") -> ``??? (required)``."""
    if value == "???":
        return "??? (required)"
    return _ENV.sub(lambda m: f"{m.group(2)} (or ${m.group(1)})", value)


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(config_dir()) / group).glob("*.yaml"))


def settings(config_name: str) -> tuple[list[Setting], list[Setting], list[str]]:
    """(settings, config groups, configs it extends) of ``conf/<config_name>.yaml``.

    Settings are the keys that carry a ``# meaning`` comment, nested ones dotted; a mapping with
    a comment is shown as ``key.*``. Groups are the ``- group: option`` lines of its defaults list
    (their comment, or else the options the group's folder holds); a ``paths`` default adds the
    keys of its file as ``paths.<key>``, after the config's own. A plain ``- name`` default is
    a config this one extends (fix extends detect).
    """
    found: list[Setting] = []
    groups: list[Setting] = []
    paths: list[Setting] = []
    bases: list[str] = []
    stack: list[tuple[int, str]] = []
    text = (Path(config_dir()) / f"{config_name}.yaml").read_text(encoding="utf-8")
    for line in text.splitlines():
        match = _LINE.match(line)
        base = re.fullmatch(r"\s+-\s+(\w+)\s*(#.*)?", line)
        if base and [k for _, k in stack] == ["defaults"] and base[1] != "_self_":
            bases.append(base[1])
        if match is None or line.lstrip().startswith("#"):
            continue
        indent = len(match["indent"]) + (2 if match["item"] else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = [k for _, k in stack]
        key, (value, comment) = match["key"], _value_and_comment(match["rest"])
        if path[:1] == ["hydra"] or (key == "hydra" and not path):
            if not match["item"]:
                stack.append((indent, key))
            continue
        if match["item"]:
            if path == ["defaults"] and key not in HIDDEN_GROUPS:
                groups.append(Setting(key, value, comment or _group_meaning(key, value)))
            elif path == ["defaults"] and key == "paths":
                paths += settings(f"paths/{value}")[0]
            continue
        if not value:
            stack.append((indent, key))
            if comment:
                found.append(Setting(".".join([*path, key, "*"]), "", comment))
            continue
        if comment:
            found.append(Setting(".".join([*path, key]), _shown(value), comment))
    found += [Setting(f"paths.{s.key}", s.default, s.meaning) for s in paths]
    return found, groups, bases


def _group_meaning(group: str, choice: str) -> str:
    options = _options(group)
    if len(options) == 1:
        return f"its keys ({group}.<key>=value) are in conf/{group}/{options[0]}.yaml"
    return "one of: " + " | ".join(["null"] * (choice == "null") + options)


def _rows(items: list[Setting]) -> list[str]:
    lines = []
    for item in items:
        left = f"  {item.key}={item.default}" if item.default else f"  {item.key}"
        meaning = plain(item.meaning)
        if len(left) + 2 > KEY_COLUMN:
            lines.append(left)
            left = ""
        lines += textwrap.wrap(
            meaning,
            WIDTH,
            initial_indent=left.ljust(KEY_COLUMN),
            subsequent_indent=" " * KEY_COLUMN,
            break_on_hyphens=False,
        )
    return lines


def exit_status(doc: str | None, fallback: str) -> str:
    """The docstring's text from "Exit status" to the end of its paragraph, else ``fallback``."""
    for paragraph in (doc or "").split("\n\n"):
        text = " ".join(paragraph.split())
        if "Exit status" in text:
            return text[text.index("Exit status") :]
    return fallback


def command_help(name: str, doc: str | None = None) -> str:
    """The whole ``--help`` text of ``python -m avalign.<name>``; ``doc`` is the command
    module's docstring (its "Exit status" paragraph)."""
    command = COMMANDS[name]
    found, groups, bases = settings(name)
    lines = [f"usage: {command.usage}", "", *textwrap.wrap(plain(command.summary), WIDTH), ""]
    lines += [f"Settings (key=value; defaults and meanings from conf/{name}.yaml):", *_rows(found)]
    lines += [f"  and every setting of {b}: python -m avalign.{b} --help" for b in bases]
    if groups:
        lines += ["", "Config groups (group=option; their keys: group.key=value):", *_rows(groups)]
    lines += ["", "Examples:", *(f"  {e}" for e in command.examples), ""]
    lines += textwrap.wrap(plain(exit_status(doc, command.exit_status)), WIDTH)
    if command.hydra:
        lines += [
            "",
            f"Every setting and its value: python -m avalign.{name} --cfg job",
            "Hydra's own options (-m to sweep, --cfg, --resolve, ...): --hydra-help",
        ]
    return "\n".join(lines)


def print_help(name: str, doc: str | None, argv: list[str], failure: int) -> int:
    """Answer ``-h``/``--help`` (the help on stdout, 0) or a wrong command line (the help on
    stderr, ``failure``); return the exit status."""
    asked = any(a in HELP_FLAGS for a in argv)
    print(command_help(name, doc), file=sys.stdout if asked else sys.stderr)
    return 0 if asked else failure


_DOCS: dict[str, str | None] = {}


def hydra_main(config_name: str) -> Callable:
    """``@hydra.main`` bound to avalign's config folder, whose ``--help`` is `command_help` (with
    the exit status of the entry module's docstring)."""
    import hydra

    def decorate(function: Callable) -> Callable:
        register(config_name, sys.modules[function.__module__].__doc__)
        return hydra.main(config_path=config_dir(), config_name=config_name, version_base="1.3")(
            function
        )

    return decorate


def register(name: str, doc: str | None) -> None:
    """Make ``--help`` of the Hydra app ``name`` show `command_help` (with ``doc``'s exit status);
    conf/hydra/default.yaml asks for it through the ``avalign_help`` resolver."""
    from omegaconf import OmegaConf

    _DOCS[name] = doc
    if not OmegaConf.has_resolver("avalign_help"):
        OmegaConf.register_new_resolver("avalign_help", hydra_template, use_cache=False)


def hydra_template(name: str) -> str:
    """`command_help` as a Hydra help template (whose ``$`` are escaped)."""
    return command_help(name, _DOCS.get(name)).replace("$", "$$") + "\n"
