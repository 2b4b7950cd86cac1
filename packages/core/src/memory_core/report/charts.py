"""Inline SVG charts (no script, no external resources): bars, lines and box plots.

Every chart is a responsive ``<svg class="chart" viewBox=...>`` whose marks carry
``<title>`` tooltips, so the page needs no JavaScript to be explorable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from memory_core.report.data import Bucket, Distribution

__all__ = ["box_plot_chart", "empty_chart", "learning_curve_chart", "timeline_chart"]

SUCCESS = "#2f9e66"
OTHER = "#c9d3e3"
ACCENT = "#3563d9"
MUTED = "#6b7280"
GRID = "#e5e7eb"
FONT = 'font-family="inherit" font-size="12"'


def _n(value: float) -> str:
    """A compact coordinate."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = float(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return 10.0 * power


def _count_step(value: float) -> float:
    """A whole tick step (1, 2, 2.5 or 5 times a power of ten) at or above ``value``."""
    power = 1.0
    while True:
        for factor in (1.0, 2.0, 2.5, 5.0):
            step = factor * power
            if step >= value and step == int(step):
                return step
        power *= 10


def _open(width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(label)}</title>"
    )


def _fmt_count(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def empty_chart(message: str, width: int = 960, height: int = 120) -> str:
    """A placeholder saying why there is nothing to draw."""
    return (
        _open(width, height, message)
        + f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="8" '
        f'fill="#f9fafb" stroke="{GRID}"/>'
        f'<text x="{width / 2}" y="{height / 2 + 4}" text-anchor="middle" fill="{MUTED}" '
        f"{FONT}>{escape(message)}</text></svg>"
    )


def timeline_chart(buckets: Sequence[Bucket], unit: str, width: int = 960) -> str:
    """Stacked bars of episodes per period (successes in green) and the success-rate line."""
    if not buckets:
        return empty_chart("No completed episode yet.")
    height, left, right, top, bottom = 300, 52, 52, 30, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    top_count = 4 * _count_step(max(b.total for b in buckets) / 4)
    slot = plot_w / len(buckets)
    bar_w = max(1.0, min(48.0, slot * 0.72))
    parts = [_open(width, height, f"Completed episodes and success rate per {unit}")]
    for i in range(5):
        value = top_count * i / 4
        y = top + plot_h * (1 - i / 4)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(y)}" y2="{_n(y)}" stroke="{GRID}"/>'
            f'<text x="{left - 8}" y="{_n(y + 4)}" text-anchor="end" fill="{MUTED}" {FONT}>'
            f"{_fmt_count(value)}</text>"
            f'<text x="{width - right + 8}" y="{_n(y + 4)}" fill="{SUCCESS}" {FONT}>'
            f"{25 * i}%</text>"
        )
    line: list[str] = []
    label_every = max(1, math.ceil(len(buckets) / 12))
    for index, bucket in enumerate(buckets):
        cx = left + slot * (index + 0.5)
        x = cx - bar_w / 2
        if bucket.total:
            total_h = plot_h * bucket.total / top_count
            ok_h = plot_h * bucket.successes / top_count
            rate = bucket.successes / bucket.total
            tip = (
                f"{bucket.label}: {bucket.total} episodes, {bucket.successes} succeeded "
                f"({rate:.0%})"
            )
            parts.append(
                f'<g class="bar"><title>{escape(tip)}</title>'
                f'<rect x="{_n(x)}" y="{_n(top + plot_h - total_h)}" width="{_n(bar_w)}" '
                f'height="{_n(total_h - ok_h)}" fill="{OTHER}"/>'
                f'<rect x="{_n(x)}" y="{_n(top + plot_h - ok_h)}" width="{_n(bar_w)}" '
                f'height="{_n(ok_h)}" fill="{SUCCESS}" fill-opacity="0.55"/></g>'
            )
            line.append(f"{_n(cx)},{_n(top + plot_h * (1 - rate))}")
        if index % label_every == 0:
            parts.append(
                f'<text x="{_n(cx)}" y="{height - bottom + 18}" text-anchor="middle" '
                f'fill="{MUTED}" {FONT}>{escape(bucket.label)}</text>'
            )
    if len(line) > 1:
        parts.append(
            f'<polyline class="rate" points="{" ".join(line)}" fill="none" stroke="{SUCCESS}" '
            'stroke-width="2.5" stroke-linejoin="round"/>'
        )
    for point in line if len(line) <= 120 else []:
        px, py = point.split(",")
        parts.append(f'<circle cx="{px}" cy="{py}" r="3.5" fill="{SUCCESS}"/>')
    parts.append(
        f'<g {FONT}><rect x="{left}" y="6" width="12" height="12" fill="{OTHER}"/>'
        f'<text x="{left + 18}" y="16" fill="{MUTED}">episodes per {unit}</text>'
        f'<rect x="{left + 150}" y="6" width="12" height="12" fill="{SUCCESS}" '
        f'fill-opacity="0.55"/><text x="{left + 168}" y="16" fill="{MUTED}">succeeded</text>'
        f'<line x1="{left + 250}" x2="{left + 272}" y1="12" y2="12" stroke="{SUCCESS}" '
        f'stroke-width="2.5"/><text x="{left + 278}" y="16" fill="{MUTED}">success rate '
        "(right axis)</text></g>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _downsample(values: Sequence[float], limit: int = 600) -> list[tuple[int, float]]:
    step = max(1, math.ceil(len(values) / limit))
    points = [(i, values[i]) for i in range(0, len(values), step)]
    if points[-1][0] != len(values) - 1:
        points.append((len(values) - 1, values[-1]))
    return points


def learning_curve_chart(rolling: Sequence[float], overall: Sequence[float], window: int) -> str:
    """Rolling success rate (last ``window`` episodes) and the overall rate, by episode."""
    if not rolling:
        return empty_chart("No completed episode yet.")
    width, height, left, right, top, bottom = 960, 280, 52, 36, 30, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    count = len(rolling)

    def x(index: int) -> float:
        return left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y(rate: float) -> float:
        return top + plot_h * (1 - rate)

    parts = [_open(width, height, f"Rolling success rate over the last {window} episodes")]
    for i in range(5):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(y(i / 4))}" y2="{_n(y(i / 4))}" '
            f'stroke="{GRID}"/><text x="{left - 8}" y="{_n(y(i / 4) + 4)}" text-anchor="end" '
            f'fill="{MUTED}" {FONT}>{25 * i}%</text>'
        )
    for i in range(6):
        index = round((count - 1) * i / 5)
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        parts.append(
            f'<text x="{_n(x(index))}" y="{height - bottom + 18}" text-anchor="{anchor}" '
            f'fill="{MUTED}" {FONT}>#{index + 1:,}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" fill="{MUTED}" '
        f"{FONT}>completed episodes, oldest to newest</text>"
    )
    sampled = _downsample(rolling)
    area = " ".join(f"{_n(x(i))},{_n(y(v))}" for i, v in sampled)
    parts.append(
        f'<polygon points="{_n(x(sampled[0][0]))},{_n(y(0))} {area} '
        f'{_n(x(sampled[-1][0]))},{_n(y(0))}" fill="{ACCENT}" fill-opacity="0.08"/>'
    )
    overall_points = " ".join(f"{_n(x(i))},{_n(y(v))}" for i, v in _downsample(overall))
    parts.append(
        f'<polyline points="{overall_points}" fill="none" stroke="{MUTED}" stroke-width="1.5" '
        'stroke-dasharray="5 4"/>'
    )
    parts.append(
        f'<polyline class="curve" points="{area}" fill="none" stroke="{ACCENT}" '
        f'stroke-width="2.5" stroke-linejoin="round"><title>rolling success rate: '
        f"{rolling[-1]:.0%} over the last {window} episodes</title></polyline>"
    )
    parts.append(
        f'<circle cx="{_n(x(count - 1))}" cy="{_n(y(rolling[-1]))}" r="4" fill="{ACCENT}"/>'
        f'<g {FONT}><line x1="{left}" x2="{left + 22}" y1="12" y2="12" stroke="{ACCENT}" '
        f'stroke-width="2.5"/><text x="{left + 28}" y="16" fill="{MUTED}">last {window} '
        f'episodes</text><line x1="{left + 170}" x2="{left + 192}" y1="12" y2="12" '
        f'stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="5 4"/>'
        f'<text x="{left + 198}" y="16" fill="{MUTED}">all episodes so far</text></g></svg>'
    )
    return "".join(parts)


def box_plot_chart(groups: Sequence[Distribution], label: str, width: int = 470) -> str:
    """Horizontal box plots (quartiles, whiskers at min/max, mean dot), one row per group."""
    if not groups:
        return empty_chart("No scored episode yet.", width=width)
    row, left, right, top, bottom = 34, 130, 84, 12, 34
    height = top + bottom + row * len(groups)
    plot_w = width - left - right
    low = min(0.0, min(g.minimum for g in groups))
    high = _nice_ceiling(max(1.0, max(g.maximum for g in groups)))

    def x(value: float) -> float:
        return left + plot_w * (value - low) / (high - low)

    parts = [_open(width, height, label)]
    for i in range(5):
        value = low + (high - low) * i / 4
        parts.append(
            f'<line x1="{_n(x(value))}" x2="{_n(x(value))}" y1="{top}" '
            f'y2="{height - bottom}" stroke="{GRID}"/><text x="{_n(x(value))}" '
            f'y="{height - bottom + 16}" text-anchor="middle" fill="{MUTED}" {FONT}>'
            f"{value:.2g}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" fill="{MUTED}" '
        f"{FONT}>reward</text>"
    )
    for index, group in enumerate(groups):
        cy = top + row * index + row / 2
        tip = (
            f"{group.name}: {group.count} episodes, median {group.median:.2f}, "
            f"mean {group.mean:.2f}, quartiles {group.q1:.2f}\u2013{group.q3:.2f}, "
            f"range {group.minimum:.2f}\u2013{group.maximum:.2f}"
        )
        name = group.name if len(group.name) <= 18 else group.name[:17] + "…"
        parts.append(
            f'<g class="box"><title>{escape(tip)}</title>'
            f'<text x="{left - 10}" y="{_n(cy + 4)}" text-anchor="end" fill="#111827" {FONT}>'
            f"{escape(name)}</text>"
            f'<line x1="{_n(x(group.minimum))}" x2="{_n(x(group.maximum))}" y1="{_n(cy)}" '
            f'y2="{_n(cy)}" stroke="{MUTED}"/>'
            f'<rect x="{_n(x(group.q1))}" y="{_n(cy - 9)}" '
            f'width="{_n(max(2.0, x(group.q3) - x(group.q1)))}" height="18" rx="3" '
            f'fill="{ACCENT}" fill-opacity="0.18" stroke="{ACCENT}"/>'
            f'<line x1="{_n(x(group.median))}" x2="{_n(x(group.median))}" y1="{_n(cy - 9)}" '
            f'y2="{_n(cy + 9)}" stroke="{ACCENT}" stroke-width="2.5"/>'
            f'<circle cx="{_n(x(group.mean))}" cy="{_n(cy)}" r="3.5" fill="#111827"/>'
            f'<text x="{width - right + 8}" y="{_n(cy + 4)}" fill="{MUTED}" {FONT}>'
            f"n={group.count:,}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
