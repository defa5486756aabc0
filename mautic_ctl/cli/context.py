"""The per-invocation context: global flags, and the settings/runtime built from them on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mautic_ctl.config import QuickConfig
    from mautic_ctl.services.runtime import Runtime


@dataclass
class AppContext:
    config: Path | None = None
    db: Path | None = None
    profile: str | None = None
    verbose: bool = False
    insecure: bool = False
    _runtime: Runtime | None = field(default=None, repr=False)

    def runtime(self, *, config: Path | None = None, db: Path | None = None, **overrides: Any) -> Runtime:
        """Settings from flags > environment > TOML > defaults, and the runtime around them."""
        if self._runtime is None:
            from mautic_ctl.services.runtime import Runtime
            from mautic_ctl.settings import load_settings

            read_only = bool(overrides.pop("read_only", False))  # --dry-run: the queue file is only read
            flags: dict[str, Any] = dict(overrides)
            if db or self.db:
                flags.setdefault("queue", {})["db"] = db or self.db
            if self.insecure:
                flags.setdefault("mautic", {})["verify_tls"] = False
            self._runtime = Runtime(load_settings(config or self.config, self.profile, **flags), read_only=read_only)
            if self.verbose:
                from mautic_ctl.cli.output import trace_request

                self._runtime.trace = trace_request
            if self.insecure:
                from mautic_ctl.cli.output import warn

                warn("TLS certificate verification is OFF (--insecure): only use this against a test server.")
        return self._runtime

    def quick(self, *, config: Path | None = None, db: Path | None = None) -> QuickConfig:
        """Just what recording needs, without building the full settings (fast start-up)."""
        from mautic_ctl.config import load_quick

        return load_quick(config or self.config, db or self.db, self.profile)

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = AppContext()
        ctx.find_root().obj = obj
    return obj
