"""Every command answers ``--help`` with what it does, its settings (read from its config),
examples and exit status; Hydra's own flags keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from avalign.storage.config import config_dir
from avalign.storage.helptext import COMMANDS, command_help, exit_status, settings

#: settings each command's help must name (its most used ones)
MAIN_SETTINGS = {
    "detect": ["source=packaged", "window_s=4.8", "model=null", "report=null"],
    "fix": ["offset_ms=null", "min_confidence=high", "force=false", "avalign.detect --help"],
    "train": ["model=transformer", "dataset=synthetic", "seed=0", "data.batch_size=64"],
    "evaluate": ["source=??? (required)", "split=all", "dataset=synthetic"],
    "benchmark": ["source=realdev", "folds=5", "run=[threshold", "protocol.window_s=4.8"],
    "prepare": ["dataset=synthetic", "workers=2", "paths.data_dir=data"],
    "generate": ["generate=default", "workers=2"],
    "extract": ["feature=default", "extract=default"],
}
EXIT_WORDS = {"detect": "+4", "fix": "4 some file refused", "benchmark": "no clips"}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_says_what_the_command_does_and_names_its_settings(name):
    done = _run(f"avalign.{name}", "--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith(f"usage: python -m avalign.{name}")
    assert COMMANDS[name].summary in " ".join(text.split())
    for setting in MAIN_SETTINGS[name]:
        assert setting in text, f"{name} --help does not name {setting}"
    assert "Examples:\n  python -m avalign." in text and "Exit status" in text
    assert EXIT_WORDS.get(name, "Exit status") in " ".join(text.split())
    assert "``" not in text and "$$" not in text


def test_hydra_keeps_its_own_flags():
    job = _run("avalign.train", "model=mlp", "--cfg", "job")
    assert job.returncode == 0, job.stderr
    assert OmegaConf.create(job.stdout).model.name == "mlp"
    hydra_help = _run("avalign.evaluate", "--hydra-help")
    assert hydra_help.returncode == 0 and "Hydra" in hydra_help.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_settings_and_defaults_are_the_configs_own(name):
    """Every listed default is the value the config file holds (nothing is written twice)."""
    found, groups, _bases = settings(name)
    config = yaml.safe_load((Path(config_dir()) / f"{name}.yaml").read_text(encoding="utf-8"))
    assert found
    for setting in found:
        if setting.key.startswith("paths.") or setting.key.endswith(".*"):
            continue
        value = config
        for part in setting.key.split("."):
            value = value[part]
        shown = setting.default.removesuffix(" (required)")
        assert yaml.safe_load(shown) == value, setting
    chosen = {g.key: g.default for g in groups}
    for entry in config.get("defaults", []):
        if isinstance(entry, str):  # _self_, or a config this one extends
            continue
        for group, option in entry.items():
            if group not in ("hydra", "paths"):
                assert chosen[group] == ("null" if option is None else str(option))


def test_the_exit_status_is_the_docstring_s():
    doc = "Does things.\n\nSome text. Exit status: 0 fine;\n3 broken.\n\nMore."
    assert exit_status(doc, "fallback") == "Exit status: 0 fine; 3 broken."
    assert exit_status("No word of it.", "fallback") == "fallback"
    assert "Exit status: 0 fine; 3 broken." in command_help("train", doc)
