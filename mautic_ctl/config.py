"""The settings a record-only command needs — queue file, tiers, writable fields — without pydantic.

`signup --no-apply` (and every backend burst) must start in well under 120 ms over bare Python;
importing pydantic-settings alone costs more than that. This reads the same sources with the same
precedence as ``settings.Settings`` (flag > environment > TOML > default) for these three keys only,
and a test checks that both agree. Anything that talks to Mautic builds the full settings model.
"""

from __future__ import annotations

import os
import stat
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mautic_ctl.errors import ConfigError
from mautic_ctl.events import FieldSpec, FieldType, Vocabulary

APP_NAME = "mautic-ctl"
ENV_CONFIG = "MAUTIC_CTL_CONFIG"
ENV_DB = "MAUTIC_CTL_DB"
DEFAULT_TIERS = ("free", "pro", "enterprise")
DEFAULT_FIELDS: dict[str, FieldType] = {
    "subscription_tier": FieldType.TEXT,
    "subscription_status": FieldType.TEXT,
    "signup_date": FieldType.DATE,
    "last_login": FieldType.DATETIME,
    "lifetime_value": FieldType.NUMBER,
}
"""The five fields the lifecycle rules write; always writable."""


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "queue.db"


def config_path(explicit: Path | None) -> Path | None:
    """--config, else MAUTIC_CTL_CONFIG, else the default path if that file exists."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    default = default_config_path()
    return default if default.exists() else None


def read_toml(path: Path) -> dict[str, Any]:
    """The config file's contents; ConfigError if unreadable; a warning if others can read it."""
    try:
        mode = path.stat().st_mode
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; create it or drop --config.") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML ({exc}).") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.warn(
            f"config file {path} is readable by other users; it may hold secrets: chmod 600 {path}",
            stacklevel=2,
        )
    return data


def check_mautic(base_url: str | None, *, oauth2: bool, basic: bool) -> None:
    """ConfigError unless a Mautic URL and one complete set of credentials are configured.

    The one check behind ``Settings.require_mautic`` and ``QuickConfig.require_mautic``.
    """
    if not base_url:
        raise ConfigError("no Mautic URL configured; set MAUTIC_BASE_URL or [mautic] base_url.")
    if not base_url.strip().startswith(("http://", "https://")):
        raise ConfigError("the Mautic URL (MAUTIC_BASE_URL or [mautic] base_url) must start with http:// or https://.")
    if not (oauth2 or basic):
        raise ConfigError(
            "no Mautic credentials configured; set MAUTIC_CLIENT_ID and MAUTIC_CLIENT_SECRET "
            "(OAuth2, recommended) or MAUTIC_USERNAME and MAUTIC_PASSWORD."
        )


@dataclass(frozen=True, slots=True)
class QuickConfig:
    db: Path
    vocabulary: Vocabulary
    base_url: str | None = None
    oauth2: bool = False  # client id and secret are both set (file or environment); values not kept
    basic: bool = False  # username and password are both set

    def require_mautic(self) -> None:
        """The same check as ``Settings.require_mautic``, so an unconfigured apply records nothing."""
        check_mautic(self.base_url, oauth2=self.oauth2, basic=self.basic)


def load_quick(config: Path | None = None, db: Path | None = None) -> QuickConfig:
    path = config_path(config)
    data = read_toml(path) if path is not None else {}
    queue = data.get("queue", {})
    db_path = db or os.environ.get(ENV_DB) or queue.get("db") or default_db_path()
    tiers = data.get("lifecycle", {}).get("tiers", DEFAULT_TIERS)
    if not isinstance(tiers, list | tuple) or not tiers or not all(isinstance(t, str) and t.strip() for t in tiers):
        raise ConfigError(f"setting 'lifecycle.tiers' in {path} must be a non-empty list of names.")
    specs = {alias: FieldSpec(alias, ftype) for alias, ftype in DEFAULT_FIELDS.items()}
    for alias, spec in (data.get("fields") or {}).items():
        specs[alias] = _field_spec(alias, spec, path)
    section = data.get("mautic", {})

    def value(key: str) -> object:  # the environment names are MAUTIC_<KEY> for these five keys
        return os.environ.get(f"MAUTIC_{key.upper()}") or section.get(key)

    base_url = value("base_url")
    return QuickConfig(
        Path(db_path),
        Vocabulary(tuple(t.strip().lower() for t in tiers), specs),
        str(base_url) if base_url else None,
        oauth2=bool(value("client_id") and value("client_secret")),
        basic=bool(value("username") and value("password")),
    )


def _field_spec(alias: str, spec: object, path: Path | None) -> FieldSpec:
    try:
        if isinstance(spec, str):
            return FieldSpec(alias, FieldType(spec))
        if isinstance(spec, dict):
            return FieldSpec(
                alias,
                FieldType(spec.get("type", "text")),
                int(spec.get("max_length", 64)),
                tuple(spec.get("choices", ())),
            )
    except (ValueError, TypeError):
        pass
    raise ConfigError(f"setting 'fields.{alias}' in {path} is invalid: use a type name or {{type = ...}}.")
