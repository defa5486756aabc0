"""The command reference (docs/cli.md), generated from the commands themselves.

docs/cli.md holds cog markers that call ``reference()``; the test suite runs ``cog --check`` on it, so
the reference cannot drift from the code. Regenerate it with ``cog -r docs/cli.md``.
"""

from __future__ import annotations

from typing import Any

import typer


def reference() -> str:
    """Markdown for every command: usage, help text and an options table."""
    from mautic_ctl.cli import build_app

    root = typer.main.get_command(build_app())
    ctx = root.context_class(root, info_name="mautic-ctl")
    parts = [_command(root, ctx, "mautic-ctl", level=2, root=True)]
    parts += _children(root, ctx, "mautic-ctl")
    return "\n".join(parts)


def _children(group: Any, ctx: Any, path: str) -> list[str]:
    out: list[str] = []
    if not hasattr(group, "commands"):  # Typer vendors click: duck-type its classes
        return out
    for name in sorted(group.commands):
        cmd = group.commands[name]
        if cmd.hidden:
            continue
        sub_ctx = cmd.context_class(cmd, info_name=name, parent=ctx)
        out.append(_command(cmd, sub_ctx, f"{path} {name}", level=3 if path == "mautic-ctl" else 4))
        out += _children(cmd, sub_ctx, f"{path} {name}")
    return out


def _command(cmd: Any, ctx: Any, path: str, *, level: int, root: bool = False) -> str:
    title = "Global options" if root else f"`{path}`"
    lines = [f"{'#' * level} {title}", ""]
    pieces = cmd.collect_usage_pieces(ctx)
    lines += ["```", f"{path} {' '.join(pieces)}".rstrip(), "```", ""]
    if cmd.help and not root:
        lines += [_clean(cmd.help), ""]
    rows = [_option_row(p) for p in cmd.params if p.param_type_name == "option" and not p.hidden]
    args = [p for p in cmd.params if p.param_type_name == "argument"]
    if args:
        lines += ["Arguments: " + ", ".join(f"`{a.human_readable_name}`" for a in args), ""]
    if rows:
        lines += ["| option | meaning |", "|---|---|", *rows, ""]
    return "\n".join(lines)


def _option_row(opt: Any) -> str:
    names = ", ".join(f"`{o}`" for o in [*opt.opts, *opt.secondary_opts])
    if not opt.is_flag:
        names += f" {opt.metavar or opt.type.name.upper()}"
    help_text = _clean(opt.help or "")
    extras = []
    if opt.required:
        extras.append("required")
    if getattr(opt.type, "choices", None):
        extras.append("one of " + ", ".join(f"`{c}`" for c in opt.type.choices))
    if opt.multiple:
        extras.append("repeatable")
    default = opt.default
    if not opt.required and not opt.is_flag and default not in (None, (), [], "") and not callable(default):
        extras.append(f"default `{getattr(default, 'value', default)}`")
    meaning = (help_text + (f" ({'; '.join(extras)})" if extras else "")).replace("|", "\\|")
    return f"| {names} | {meaning} |"


def _clean(text: str) -> str:
    """Help text as one markdown paragraph per blank-line-separated block."""
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in text.strip().split("\n\n")]
    return "\n\n".join(b for b in blocks if b)
