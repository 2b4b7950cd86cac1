"""The report page: one self-contained HTML document (inline CSS and SVG, no script)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from html import escape
from uuid import UUID

from memory_core.formatting import format_pattern
from memory_core.models import Episode, Pattern
from memory_core.report.charts import (
    box_plot_chart,
    learning_curve_chart,
    timeline_chart,
)
from memory_core.report.data import ReportData, distribution, rolling_rate, time_buckets

__all__ = ["render_report"]

_EVIDENCE_LINKS = 8
_DASH = "\u2013"

_CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f6f7fb; --card:#fff;
  --ok:#2f9e66; --bad:#d64545; --warn:#c98a0b; --accent:#3563d9; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1080px; margin:0 auto; padding:28px 24px 60px; }
header h1 { font-size:26px; margin:0 0 4px; letter-spacing:-0.01em; }
header p { margin:0; color:var(--muted); }
section { background:var(--card); border:1px solid var(--line); border-radius:12px;
  padding:18px 20px; margin-top:18px; }
section h2 { font-size:17px; margin:0 0 2px; }
section p.sub { margin:0 0 12px; color:var(--muted); font-size:13px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px;
  margin-top:20px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px;
  padding:12px 14px; }
.card .v { font-size:24px; font-weight:650; }
.card .v.small { font-size:16px; padding:5px 0 4px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
svg.chart { width:100%; height:auto; display:block; }
.two { display:grid; grid-template-columns:1fr 1fr; gap:18px; }
@media (max-width:800px) { .two { grid-template-columns:1fr; } }
.two h3 { font-size:13px; margin:4px 0; color:var(--muted); font-weight:600; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; color:var(--muted); font-weight:600; border-bottom:1px solid var(--line);
  padding:6px 8px; }
td { border-bottom:1px solid var(--line); padding:7px 8px; vertical-align:top; }
tr:target td { background:#fff7d6; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px;
  background:#eef2ff; color:#3730a3; white-space:nowrap; }
.ok { color:var(--ok); } .bad { color:var(--bad); } .warn { color:var(--warn); }
.meter { width:90px; height:8px; background:#eef0f4; border-radius:4px; overflow:hidden;
  display:inline-block; vertical-align:middle; margin-right:6px; }
.meter i { display:block; height:100%; background:var(--ok); }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
code, .id { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; }
.failures { display:grid; grid-template-columns:repeat(auto-fit,minmax(300px,1fr)); gap:12px; }
.failure { border:1px solid var(--line); border-left:4px solid var(--bad); border-radius:8px;
  padding:10px 12px; }
.failure h3 { font-size:14px; margin:0 0 4px; }
.failure .meta { color:var(--muted); font-size:12px; }
.failure ul { margin:6px 0 0; padding-left:18px; }
.empty { color:var(--muted); font-style:italic; }
footer { color:var(--muted); font-size:12px; margin-top:24px; text-align:center; }
"""


def _pct(value: float | None) -> str:
    return _DASH if value is None else f"{value:.0%}"


def _short(episode_id: UUID) -> str:
    return str(episode_id)[:8]


def _link(episode_id: UUID) -> str:
    return f'<a class="id" href="#ep-{episode_id}">{_short(episode_id)}</a>'


def _cards(data: ReportData) -> str:
    done = data.completed
    span = _DASH
    if done:
        first = min(f.start_time for f in done)
        last = max(f.start_time for f in done)
        span = (
            f"{first:%b %d} {_DASH} {last:%b %d, %Y}"
            if first.year == last.year
            else f"{first:%b %Y} {_DASH} {last:%b %Y}"
        )
    mean = data.mean_reward
    cards = [
        ("Episodes", f"{len(done):,}", f"{data.in_flight:,} in flight"),
        ("Success rate", _pct(data.success_rate), "of completed episodes"),
        ("Mean reward", _DASH if mean is None else f"{mean:.2f}", "of scored episodes"),
        ("Patterns", f"{data.patterns_total:,}", f"{len(data.heuristics):,} heuristics"),
        ("Period", span, "first to last episode"),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{escape(k)}</div>'
            f'<div class="v{" small" if len(v) > 10 else ""}">{escape(v)}</div>'
            f'<div class="k" style="text-transform:none">{escape(note)}</div></div>'
            for k, v, note in cards
        )
        + "</div>"
    )


def _section(title: str, subtitle: str, body: str, anchor: str) -> str:
    return (
        f'<section id="{anchor}"><h2>{escape(title)}</h2><p class="sub">{escape(subtitle)}</p>'
        f"{body}</section>"
    )


def _distributions(data: ReportData, key: str) -> str:
    groups: dict[str, list[float]] = defaultdict(list)
    for fact in data.facts:
        if fact.reward is not None:
            groups[getattr(fact, key)].append(fact.reward)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:12]
    label = f"Reward distribution per {key.replace('_', ' ')}"
    return box_plot_chart([distribution(name, values) for name, values in ordered], label)


def _pattern_rows(data: ReportData) -> str:
    if not data.top_patterns:
        return '<p class="empty">No pattern learned yet.</p>'
    rows = []
    for pattern in data.top_patterns:
        evidence = data.pattern_evidence.get(pattern.pattern_id, [])
        links = [_link(i) if i in data.episodes else _short(i) for i in evidence[:_EVIDENCE_LINKS]]
        if len(evidence) > _EVIDENCE_LINKS:
            links.append(f"+{len(evidence) - _EVIDENCE_LINKS} more")
        rate = pattern.success_rate
        rows.append(
            f'<tr id="pattern-{pattern.pattern_id}"><td><span class="badge">'
            f"{escape(pattern.kind.replace('_', ' '))}</span></td>"
            f"<td>{escape(_describe(pattern))}</td>"
            f'<td class="num">{pattern.sample_size:,}</td>'
            f'<td class="num"><span class="meter"><i style="width:{rate * 100:.0f}%"></i></span>'
            f"{rate:.0%}</td>"
            f'<td class="num">{pattern.effectiveness.effectiveness_score:.2f}</td>'
            f"<td>{' '.join(links) or _DASH}</td></tr>"
        )
    return (
        "<table><thead><tr><th>kind</th><th>pattern</th><th>support</th><th>success</th>"
        "<th>effectiveness</th><th>evidence episodes</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _describe(pattern: Pattern) -> str:
    text = format_pattern(pattern)
    return text.rsplit(" (", 1)[0] if text.endswith(" runs)") else text


def _failures(data: ReportData) -> str:
    if not data.recent_failures:
        return '<p class="empty">No failed episode. Nice.</p>'
    cards = []
    for episode in data.recent_failures:
        reason = episode.outcome.reason if episode.outcome else None
        improvements = episode.reflection.improvements if episode.reflection else []
        items = "".join(f"<li>{escape(i)}</li>" for i in improvements) or (
            '<li class="empty">no improvement suggested</li>'
        )
        cards.append(
            f'<div class="failure"><h3>{escape(episode.task_description)}</h3>'
            f'<div class="meta">{_link(episode.episode_id)} · '
            f"{episode.end_time or episode.start_time:%Y-%m-%d %H:%M} · "
            f"{escape(episode.context.domain)} · {escape(episode.task_type.value)}</div>"
            f'<div class="bad">{escape(reason or "failed")}</div>'
            f"<ul>{items}</ul></div>"
        )
    return '<div class="failures">' + "".join(cards) + "</div>"


def _tools(episode: Episode) -> str:
    tools: list[str] = []
    for step in episode.steps:
        if not tools or tools[-1] != step.tool:
            tools.append(step.tool)
    return " → ".join(tools) or _DASH


def _episode_rows(episodes: Iterable[Episode]) -> str:
    rows = []
    for episode in sorted(episodes, key=lambda e: (e.start_time, str(e.episode_id)), reverse=True):
        kind = episode.outcome.kind if episode.outcome else "in flight"
        css = {"success": "ok", "failure": "bad"}.get(kind, "warn")
        reward = f"{episode.reward.total:.2f}" if episode.reward else _DASH
        rows.append(
            f'<tr id="ep-{episode.episode_id}"><td class="id">{episode.episode_id}</td>'
            f"<td>{episode.start_time:%Y-%m-%d %H:%M}</td>"
            f"<td>{escape(episode.task_type.value)}</td><td>{escape(episode.context.domain)}</td>"
            f'<td class="{css}">{escape(kind)}</td><td class="num">{reward}</td>'
            f"<td>{escape(episode.task_description)}<br>"
            f'<span class="meta" style="color:var(--muted)">{escape(_tools(episode))}</span></td>'
            "</tr>"
        )
    if not rows:
        return '<p class="empty">No episode is referenced above.</p>'
    return (
        "<table><thead><tr><th>id</th><th>started (UTC)</th><th>type</th><th>domain</th>"
        "<th>outcome</th><th>reward</th><th>task and tools</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def render_report(data: ReportData) -> str:
    """Render the report as one HTML document (no script, no external resource)."""
    unit, buckets = time_buckets(data.facts)
    outcomes = [f.succeeded for f in data.completed]
    window = max(5, min(50, len(outcomes) // 10))
    rolling = rolling_rate(outcomes, window)
    overall = rolling_rate(outcomes, max(1, len(outcomes)))
    title = f"memory-core report — {data.namespace}"
    body = [
        f"<header><h1>{escape(title)}</h1><p>{escape(data.database)} · generated "
        f"{data.generated_at:%Y-%m-%d %H:%M} UTC</p></header>",
        _cards(data),
        _section(
            "Episodes and success rate over time",
            f"Completed episodes per {unit} (green: succeeded) and the share that succeeded.",
            timeline_chart(buckets, unit),
            "timeline",
        ),
        _section(
            "Learning curve",
            f"Success rate over the last {window} completed episodes at each point, against "
            "the overall rate so far: a rising line means the agent is doing better.",
            learning_curve_chart(rolling, overall, window),
            "learning-curve",
        ),
        _section(
            "Reward distribution",
            "Box: middle half of the rewards; bar: median; dot: mean; whiskers: lowest and "
            "highest.",
            '<div class="two"><div><h3>per domain</h3>'
            + _distributions(data, "domain")
            + "</div><div><h3>per task type</h3>"
            + _distributions(data, "task_type")
            + "</div></div>",
            "rewards",
        ),
        _section(
            "Top patterns",
            "Ranked by confidence (success rate \u00d7 √support); evidence links jump to the "
            "episodes a pattern was learned from.",
            _pattern_rows(data),
            "patterns",
        ),
        _section(
            "Recent failures",
            "The latest failed episodes and what their reflection suggests to improve.",
            _failures(data),
            "failures",
        ),
        _section(
            "Episodes referenced above",
            "Evidence of the top patterns and the recent failures.",
            _episode_rows(data.episodes.values()),
            "episodes",
        ),
        "<footer>Generated by memory-core. This page is self-contained: it loads nothing "
        "from the network.</footer>",
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        + "".join(body)
        + "</main></body></html>\n"
    )
