"""Charts as inline SVG, drawn on the server: no script, no library, nothing fetched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

BAR_H = 18  # one bar's row height (px)
LABEL_W = 150
WIDTH = 640


def bar_chart(values: Mapping[str, float], title: str, unit: str = "") -> Markup:
    """One horizontal bar per key, longest first, each labelled with its value."""
    if not values:
        return Markup(f'<p class="empty">{escape(title)}: nothing spent yet</p>')
    top = max(max(values.values()), 1e-12)
    rows = sorted(values.items(), key=lambda kv: -kv[1])
    height = BAR_H * len(rows) + 24
    span = WIDTH - LABEL_W - 90
    parts = [
        f'<svg class="chart bar" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="0" y="14" class="chart-title">{escape(title)}</text>',
    ]
    for i, (key, value) in enumerate(rows):
        y = 24 + i * BAR_H
        width = max(1.0, span * value / top)
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 13}" text-anchor="end">{escape(key)}</text>'
            f'<rect x="{LABEL_W}" y="{y + 2}" width="{width:.1f}" height="{BAR_H - 5}">'
            f"<title>{escape(key)}: {value:.4f} {escape(unit)}</title></rect>"
            f'<text x="{LABEL_W + width + 4:.1f}" y="{y + 13}">{value:.4f}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: Sequence[tuple[str, float]], title: str, unit: str = "") -> Markup:
    """Cumulative values in order, the first and last label under the axis."""
    if not points:
        return Markup(f'<p class="empty">{escape(title)}: nothing spent yet</p>')
    height, pad, top = 200, 30, max(max(v for _, v in points), 1e-12)
    span_x, span_y = WIDTH - 2 * pad, height - 2 * pad
    step = span_x / max(1, len(points) - 1)
    coords = " ".join(
        f"{pad + i * step:.1f},{height - pad - span_y * v / top:.1f}"
        for i, (_, v) in enumerate(points)
    )
    first, last = points[0][0], points[-1][0]
    return Markup(
        f'<svg class="chart line" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="0" y="14" class="chart-title">{escape(title)}</text>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{WIDTH - pad}" y2="{height - pad}"/>'
        f'<polyline points="{coords}" fill="none"/>'
        f'<text x="{pad}" y="{height - 8}">{escape(first)}</text>'
        f'<text x="{WIDTH - pad}" y="{height - 8}" text-anchor="end">{escape(last)}</text>'
        f'<text x="{WIDTH - pad}" y="{pad - 6}" text-anchor="end">'
        f"{points[-1][1]:.4f} {escape(unit)}</text></svg>"
    )


def paired_bars(
    rows: Sequence[tuple[str, float | None, float]], title: str, unit: str = ""
) -> Markup:
    """Projected against actual per key: two bars a row (a missing projection draws none)."""
    if not rows:
        return Markup(f'<p class="empty">{escape(title)}: no scenes yet</p>')
    top = max([1e-12, *(p or 0.0 for _, p, _ in rows), *(a for _, _, a in rows)])
    span = WIDTH - LABEL_W - 90
    height = 2 * BAR_H * len(rows) + 24
    parts = [
        f'<svg class="chart pair" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="0" y="14" class="chart-title">{escape(title)} (projected / actual '
        f"{escape(unit)})</text>",
    ]
    for i, (key, projected, actual) in enumerate(rows):
        y = 24 + 2 * i * BAR_H
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 13}" text-anchor="end">{escape(key)}</text>')
        for j, (value, css) in enumerate(((projected, "projected"), (actual, "actual"))):
            if value is None:
                continue
            width = max(1.0, span * value / top)
            yy = y + j * (BAR_H - 2)
            parts.append(
                f'<rect class="{css}" x="{LABEL_W}" y="{yy + 2}" width="{width:.1f}" '
                f'height="{BAR_H - 6}"/><text x="{LABEL_W + width + 4:.1f}" y="{yy + 12}">'
                f"{value:.4f}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
