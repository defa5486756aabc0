"""The --html report page in a real headless Chromium: it renders the numbers it was given, draws each
chart's bars in proportion to the rates, and asks the network for nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mautic_ctl.cli.report_html import write_page
from mautic_ctl.report import By, EntryRow, OutcomeRow, as_dict, build

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def hand_built():
    """A: 120 of 400 upgraded (30%), B: 80 of 400 (20%), holdout: 10 of 100 (10%)."""
    entries, outcomes = [], []
    for arm, users, upgraded in (("A", 400, 120), ("B", 400, 80), ("holdout", 100, 10)):
        for i in range(users):
            user = f"{arm}-{i}"
            entries.append(
                EntryRow(user, T0, "welcome", None if arm == "holdout" else f"Welcome {arm}", "wx", arm, "free")
            )
            if i < upgraded:
                outcomes.append(OutcomeRow(user, T0 + timedelta(days=3), "upgrade"))
                outcomes.append(OutcomeRow(user, T0 + timedelta(days=4), "payment", 49.0))
    return as_dict(build(entries, outcomes, by=By.ARM, now=datetime(2026, 11, 1, tzinfo=UTC)))


@pytest.mark.timeout(120)
def test_report_page_renders_the_numbers_and_the_chart(chromium, tmp_path):
    data = hand_built()
    page_file = tmp_path / "report.html"
    write_page(data, page_file)
    context = chromium.new_context()
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")

    # the table shows each group's users, counts, rate and difference, as rendered text
    rows = {r.get_attribute("data-label"): r.inner_text() for r in page.locator("table#report tbody tr").all()}
    assert set(rows) == {"wx / A", "wx / B", "wx / holdout"}
    assert "400" in rows["wx / A"] and "120" in rows["wx / A"] and "30.0%" in rows["wx / A"]
    assert "5,880.00" in rows["wx / A"]  # 120 payments of 49
    assert "20.0%" in rows["wx / B"] and "10.0%" in rows["wx / holdout"]
    a_vs = next(r for r in data["groups"] if r["label"] == "wx / A")["vs_holdout"]
    assert f"{a_vs['diff'] * 100:+.1f} pts" in rows["wx / A"]  # +20.0 pts
    assert "+20.0 pts" in rows["wx / A"]
    assert "95% confidence interval" in page.locator("p.note").first.inner_text()

    # one chart for the experiment; its bars are laid out in proportion to the rates (real layout)
    charts = page.locator("svg.chart")
    assert charts.count() == 1
    widths = {
        g.get_attribute("data-label"): g.locator("rect.bar").bounding_box()["width"]
        for g in charts.first.locator("g.row").all()
    }
    assert widths["wx / A"] == pytest.approx(3 * widths["wx / holdout"], rel=0.02)
    assert widths["wx / B"] == pytest.approx(2 * widths["wx / holdout"], rel=0.02)
    texts = " ".join(t.text_content() or "" for t in charts.first.locator("text.value").all())
    assert "30.0% of 400" in texts and "10.0% of 100" in texts and "+20.0 pts" in texts, texts
    assert page.screenshot(full_page=True)[:8] == b"\x89PNG\r\n\x1a\n"
    assert [u for u in requests if not u.startswith("file://")] == []  # self-contained: no network
    context.close()
