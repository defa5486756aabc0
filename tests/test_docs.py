"""The documentation is checked: every command is in the README, every setting in config.example.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import typer

from mautic_ctl.cli import app
from mautic_ctl.config import SCHEMA
from mautic_ctl.settings import ENV_NAMES, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
EXAMPLE = (ROOT / "config.example.toml").read_text()


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(cmd, "commands"):
            out += _commands(cmd, full + " ")
        else:
            out.append((full, cmd))
    return out


def test_every_command_is_in_the_readme_and_has_help():
    """Each `mautic-ctl` command appears in README.md and has a help text."""
    commands = _commands(typer.main.get_command(app))
    assert len(commands) >= 12
    for name, cmd in commands:
        assert f"mautic-ctl {name}" in README, f"README.md does not document `mautic-ctl {name}`"
        assert (cmd.help or "").strip(), f"`{name}` has no help text"


def test_every_setting_is_in_config_example():
    """Each settings key (section.key) appears in config.example.toml, and every env name in both docs."""
    for section, keys in SCHEMA.items():
        assert f"[{section}]" in EXAMPLE, f"config.example.toml lacks [{section}]"
        for key in keys if isinstance(keys, dict) else ():
            documented = f"{key} =" in EXAMPLE or f"[{section}.{key}]" in EXAMPLE
            assert documented, f"config.example.toml does not document {section}.{key}"
    for env in ENV_NAMES:
        assert env in EXAMPLE or env in README, f"{env} is documented nowhere"


def test_the_typed_settings_have_exactly_the_schema_keys():
    """settings.py repeats config.SCHEMA's keys for types; a key added to one and not the other fails here."""
    sections = {
        name: f.annotation for name, f in Settings.model_fields.items() if name not in ("config_file", "profile")
    }
    assert set(sections) == set(SCHEMA)
    for name, keys in SCHEMA.items():
        if isinstance(keys, dict):
            assert set(sections[name].model_fields) == set(keys), name


def test_config_example_is_valid(tmp_path):
    """config.example.toml parses and loads as settings (with a secret supplied by the environment)."""
    data = tomllib.loads(EXAMPLE)
    assert data["mautic"]["base_url"].startswith("https://")
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE)
    path.chmod(0o600)
    settings = load_settings(path)
    assert settings.policy().tiers == ("free", "pro", "enterprise")
    assert settings.segment_refs()["churned"] == "Churned"
    staging = load_settings(path, "staging")
    assert staging.mautic.base_url == "https://staging.mautic.example.com" and staging.segments["pro"] == 13
    assert staging.segments["churned"] == "Churned"  # the rest comes from the top level


def test_the_command_reference_matches_the_code():
    """docs/cli.md is generated from the commands (cog); a stale page fails here: run `cog -r docs/cli.md`."""
    from cogapp import Cog

    cog = Cog()
    cog.set_output(stdout=__import__("io").StringIO(), stderr=__import__("io").StringIO())
    code = cog.main(["cog", "--check", str(ROOT / "docs" / "cli.md")])
    assert code == 0, "docs/cli.md is out of date with the commands: run `cog -r docs/cli.md`"


def test_architecture_names_only_modules_that_exist():
    """docs/architecture.md names real modules (`mautic_ctl/…` paths), so it cannot silently go stale."""
    import re

    text = (ROOT / "docs" / "architecture.md").read_text()
    paths = set(re.findall(r"`(mautic_ctl/[\w/]+(?:\.py)?)`", text))
    assert len(paths) >= 10
    for path in paths:
        assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which does not exist"
