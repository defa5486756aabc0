"""Small inline SVG charts: no JavaScript, no network assets, readable in any browser."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape


def bar_chart(points: list[tuple[float, int]], *, width: int = 720, height: int = 120, label: str = "") -> str:
    """Bars of (unix hour, count); each bar has a <title> so hovering shows the hour and the count."""
    if not points:
        return ""
    top = max(count for _, count in points) or 1
    step = width / len(points)
    bars = []
    for i, (at, count) in enumerate(points):
        h = round((height - 20) * count / top, 1)
        hour = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:00")
        bars.append(
            f'<rect class="bar" x="{i * step:.1f}" y="{height - 14 - h:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{h}" data-count="{count}"><title>{escape(hour)} UTC: {count}</title></rect>'
        )
    total = sum(count for _, count in points)
    return (
        f'<svg class="chart" role="img" aria-label="{escape(label)}: {total} in all" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">{"".join(bars)}'
        f'<text x="0" y="{height - 2}" class="axis">{escape(_day(points[0][0]))}</text>'
        f'<text x="{width}" y="{height - 2}" class="axis" text-anchor="end">{escape(_day(points[-1][0]))}</text>'
        f"</svg>"
    )


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%b %d %H:00")
