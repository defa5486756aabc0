"""The report as one self-contained HTML page: the table, and one inline-SVG chart per experiment.

No script, no font, no stylesheet from anywhere else: the page opens from a mail attachment or a
file share with the network off. Each chart shows, for one slot (and tier), every group's rate of the
report's metric as a bar with its 95% interval as a whisker, the holdout in grey, and each arm's
difference from the holdout in words.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jinja2 import Environment

from mautic_ctl.cli.report_view import diff_text, pct

PLOT = {"label": 230, "width": 420, "row": 34, "top": 28}

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mautic-ctl report by {{ data.by }}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1d2430; }
h1 { font-size: 1.35rem; margin: 0 0 .3rem; } h2 { font-size: 1.05rem; margin: 2rem 0 .4rem; }
p.note { color: #56606f; max-width: 60rem; margin: .2rem 0; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #dde2ea; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; } tr.holdout td { color: #6b7482; }
td.bar { text-align: left; } td.bar span { display: inline-block; height: .8rem; background: #2f6fd6; vertical-align: middle; }
tr.holdout td.bar span { background: #9aa3b0; }
ul.warnings { color: #8a4b00; } svg text { font: 12px system-ui, sans-serif; fill: #1d2430; }
</style></head><body>
<h1>Did the campaigns work?</h1>
<p class="note">Users who entered each campaign (or were held out of it), and how many of them
{{ data.metric }} within {{ '%g' % data.window_days }} days after entry{% if data.since %}, entries since
{{ data.since[:10] }}{% endif %}. {{ data.method[:1]|upper }}{{ data.method[1:] }}. A difference whose interval includes 0 is not
evidence of an effect; a comparison marked "too small" says nothing.</p>
<table id="report">
<thead><tr><th>group</th><th>users</th><th>upgraded</th><th>downgraded</th><th>churned</th><th>reactivated</th>
<th>paid</th><th>LTV added</th><th>{{ data.metric }} rate</th><th></th><th>vs holdout (95% CI)</th>
{% if mautic %}<th>Mautic sent</th><th>read</th><th>clicked</th>{% endif %}</tr></thead>
<tbody>
{% for r in data.groups %}<tr class="{{ 'holdout' if r.holdout else 'arm' }}" data-label="{{ r.label }}">
<td>{{ r.label }}</td><td class="users">{{ '{:,}'.format(r.users) }}</td>
<td>{{ r.upgraded }}</td><td>{{ r.downgraded }}</td><td>{{ r.churned }}</td><td>{{ r.reactivated }}</td>
<td>{{ r.paid }}</td><td>{{ '{:,.2f}'.format(r.ltv_added) }}</td>
<td class="rate">{{ pct(r[data.metric ~ '_rate']) }}</td>
<td class="bar"><span style="width: {{ '%.1f' % (100 * (r[data.metric ~ '_rate'] or 0) / scale) }}px"></span></td>
<td class="diff">{{ diff_text(r) }}</td>
{% if mautic %}<td>{{ r.mautic.sent if r.mautic else '' }}</td><td>{{ r.mautic.read if r.mautic else '' }}</td>
<td>{{ r.mautic.clicked if r.mautic else '' }}</td>{% endif %}
</tr>
{% endfor %}</tbody></table>
{% if data.warnings %}<ul class="warnings">{% for w in data.warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}
{% for chart in charts %}
<h2>{{ chart.title }}</h2>
<svg class="chart" role="img" aria-label="{{ chart.title }}" width="{{ chart.width }}" height="{{ chart.height }}"
     viewBox="0 0 {{ chart.width }} {{ chart.height }}" xmlns="http://www.w3.org/2000/svg">
<text x="{{ plot.label }}" y="14">0%</text>
<text x="{{ plot.label + plot.width }}" y="14" text-anchor="end">{{ pct(chart.scale) }}</text>
<line x1="{{ plot.label }}" y1="{{ plot.top - 6 }}" x2="{{ plot.label }}" y2="{{ chart.height - 4 }}" stroke="#c4cbd6"/>
{% for b in chart.bars %}
<g class="row" data-label="{{ b.label }}" data-rate="{{ b.rate }}">
<text x="{{ plot.label - 8 }}" y="{{ b.y + 14 }}" text-anchor="end">{{ b.label }}</text>
<rect class="bar" x="{{ plot.label }}" y="{{ b.y + 3 }}" width="{{ '%.2f' % b.w }}" height="16"
      fill="{{ '#9aa3b0' if b.holdout else '#2f6fd6' }}"/>
<line class="ci" x1="{{ '%.2f' % b.lo }}" x2="{{ '%.2f' % b.hi }}" y1="{{ b.y + 11 }}" y2="{{ b.y + 11 }}"
      stroke="#1d2430" stroke-width="1.5"/>
<text class="value" x="{{ plot.label + plot.width + 8 }}" y="{{ b.y + 14 }}">{{ b.text }}</text>
</g>
{% endfor %}</svg>
{% endfor %}
<p class="note">Made by mautic-ctl report from its local store. Rates count a user once per outcome; the
window starts at each user's own entry.</p>
</body></html>
"""


def charts(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One chart per experiment scope (slot, and tier when split by tier) that has a holdout."""
    scopes: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for row in data["groups"]:
        scopes.setdefault((row["slot"], row["tier"]), []).append(row)
    out = []
    metric = data["metric"]
    for (slot, tier), rows in scopes.items():
        if not any(r["holdout"] for r in rows) or len(rows) < 2:
            continue
        experiment = next((r["experiment"] for r in rows if r["experiment"]), slot)
        top = max(max((r.get("rate_ci95") or [0, 0])[1] for r in rows), 0.01)
        scale = math.ceil(top * 20) / 20  # the axis ends at the next 5%
        bars = []
        for index, r in enumerate(rows):
            rate = r[f"{metric}_rate"] or 0.0
            lo, hi = r.get("rate_ci95") or [rate, rate]
            text = f"{pct(rate)} of {r['users']:,}"
            if r.get("vs_holdout"):
                text += f" · {diff_text(r)} vs holdout"
            bars.append({
                "label": r["label"], "rate": rate, "holdout": r["holdout"], "y": PLOT["top"] + index * PLOT["row"],
                "w": PLOT["width"] * rate / scale, "lo": _x(lo, scale), "hi": _x(hi, scale), "text": text,
            })  # fmt: skip
        title = f"{experiment}: {metric} within {data['window_days']:g} days, arm vs holdout" + (
            f" (tier at entry: {tier})" if tier else ""
        )
        out.append({
            "title": title, "scale": scale, "bars": bars, "width": PLOT["label"] + PLOT["width"] + 330,
            "height": PLOT["top"] + len(rows) * PLOT["row"] + 6,
        })  # fmt: skip
    return out


def _x(value: float, scale: float) -> float:
    """Where a rate sits on a chart's axis (0 at the label column, ``scale`` at the right end)."""
    return PLOT["label"] + PLOT["width"] * value / scale


def render_page(data: dict[str, Any]) -> str:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    scale = max((r[f"{data['metric']}_rate"] or 0 for r in data["groups"]), default=0) or 1
    return env.from_string(TEMPLATE).render(
        data=data,
        charts=charts(data),
        plot=PLOT,
        scale=scale,
        mautic=any("mautic" in r for r in data["groups"]),
        pct=pct,
        diff_text=diff_text,
    )


def write_page(data: dict[str, Any], path: Path) -> None:
    from mautic_ctl.errors import InputError

    try:
        path.write_text(render_page(data), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path} ({exc.strerror}); choose another --html path.") from None
