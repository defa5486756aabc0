"""Rendering of the lifecycle report: a rich table with a bar per row, CSV, JSON, and the HTML page."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mautic_ctl.cli.output import emit_json, info, warn

if TYPE_CHECKING:
    from mautic_ctl.report import Report

BAR_WIDTH = 20


def bar(rate: float | None, scale: float, width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` cells, full at ``scale``; eighth blocks for the remainder."""
    if not rate or scale <= 0:
        return ""
    eighths = round(rate / scale * width * 8)
    full, rest = divmod(min(eighths, width * 8), 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])


def pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def pts(value: float) -> str:
    return f"{value * 100:+.1f}"


def diff_text(row: dict[str, Any]) -> str:
    vs = row.get("vs_holdout")
    if not vs:
        return ""
    text = f"{pts(vs['diff'])} pts [{pts(vs['ci95_low'])}, {pts(vs['ci95_high'])}]"
    return text if vs["reliable"] else text + " (too small)"


def flat_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat dict per group (CSV): the group's fields, the comparison and Mautic's numbers."""
    out = []
    for row in data["groups"]:
        flat = {k: v for k, v in row.items() if k not in ("vs_holdout", "mautic")}
        vs = row.get("vs_holdout") or {}
        for key in ("holdout", "diff", "ci95_low", "ci95_high", "reliable"):
            flat[f"vs_holdout_{key}"] = vs.get(key)
        for key in ("sent", "read", "clicked"):
            flat[f"mautic_{key}"] = (row.get("mautic") or {}).get(key)
        out.append(flat)
    return out


def render_report(report: Report, fmt: str, html: Path | None) -> None:
    from mautic_ctl.report import as_dict

    data = as_dict(report)
    if html is not None:
        from mautic_ctl.cli.report_html import write_page

        write_page(data, html)
        info(f"wrote {html}")
    if fmt == "json":
        emit_json(data)
    elif fmt == "csv":
        rows = flat_rows(data)
        columns = list(rows[0]) if rows else ["label", "users"]
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        _table(data)
    for text in data["warnings"]:
        warn(text)


def _table(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    metric = data["metric"]
    groups = data["groups"]
    scale = max((r[f"{metric}_rate"] or 0 for r in groups), default=0)
    with_mautic = any("mautic" in r for r in groups)
    title = f"report by {data['by']}: outcomes within {data['window_days']:g} days after entry"
    caption = f"{data['method']}. pts = percentage points. A comparison marked 'too small' says nothing."
    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for col in ("group", "users", "upgraded", "downgraded", "churned", "reactivated", "paid", "LTV added"):
        t.add_column(col, justify="left" if col == "group" else "right")
    t.add_column(f"{metric} rate", justify="right")
    t.add_column("", no_wrap=True)
    t.add_column(f"{metric} vs holdout (95% CI)", justify="right")
    if with_mautic:
        for col in ("sent", "read", "clicked"):
            t.add_column(f"Mautic {col}", justify="right")
    for r in groups:
        m = r.get("mautic") or {}
        cells = [
            r["label"],
            f"{r['users']:,}",
            *(str(r[k]) for k in ("upgraded", "downgraded", "churned", "reactivated", "paid")),
            f"{r['ltv_added']:,.2f}",
            pct(r[f"{metric}_rate"]),
            bar(r[f"{metric}_rate"], scale),
            diff_text(r),
        ]
        if with_mautic:
            cells += [str(m.get(k, "")) for k in ("sent", "read", "clicked")]
        t.add_row(*(Text(c) for c in cells), style="dim" if r["holdout"] else None)  # labels hold [tier]: no markup
    if not groups:
        info("no campaign entries recorded yet (or none since --since): nothing to report.")
    Console(highlight=False, soft_wrap=False).print(t)
