"""The report's aggregations: time buckets, rolling rates, reward distributions, charts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from memory_core.report.charts import box_plot_chart, learning_curve_chart, timeline_chart
from memory_core.report.data import EpisodeFacts, distribution, rolling_rate, time_buckets

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)  # a Monday


def _fact(day: float, outcome: str | None = "success", reward: float | None = 1.0) -> EpisodeFacts:
    start = T0 + timedelta(days=day)
    return EpisodeFacts(
        episode_id=uuid.uuid4(),
        start_time=start,
        end_time=start + timedelta(minutes=1) if outcome else None,
        domain="web",
        task_type="debugging",
        outcome=outcome,
        reward=reward,
    )


def test_daily_buckets_include_empty_days_and_skip_in_flight() -> None:
    facts = [_fact(0), _fact(0, "failure"), _fact(2), _fact(3, None)]
    unit, buckets = time_buckets(facts)
    assert unit == "day"
    assert [(b.total, b.successes) for b in buckets] == [(2, 1), (0, 0), (1, 1)]
    assert buckets[0].success_rate == 0.5
    assert buckets[1].success_rate is None


def test_long_spans_are_bucketed_by_week_then_month() -> None:
    unit, weeks = time_buckets([_fact(0), _fact(6), _fact(7), _fact(200)])
    assert unit == "week"
    assert weeks[0].start.weekday() == 0
    assert weeks[0].total == 2
    assert weeks[1].total == 1
    assert sum(b.total for b in weeks) == 4
    unit, months = time_buckets([_fact(0), _fact(800, "failure")])
    assert unit == "month"
    assert months[0].start.day == 1
    assert len(months) == 27  # Jan 2026 .. Mar 2028, gaps included


def test_rolling_rate_and_distribution() -> None:
    assert rolling_rate([True, False, False, True], 2) == [1.0, 0.5, 0.0, 0.5]
    assert rolling_rate([], 5) == []
    summary = distribution("web", [4.0, 1.0, 3.0, 2.0])
    assert (summary.minimum, summary.maximum, summary.median, summary.mean) == (1, 4, 2.5, 2.5)
    assert (summary.q1, summary.q3) == (1.75, 3.25)
    single = distribution("one", [0.7])
    assert single.q1 == single.q3 == single.median == 0.7


def test_charts_escape_labels_and_draw_marks() -> None:
    _, buckets = time_buckets([_fact(0), _fact(1, "failure")])
    svg = timeline_chart(buckets, "day")
    assert svg.startswith('<svg class="chart"')
    assert svg.endswith("</svg>")
    assert svg.count("<rect") >= 4
    curve = learning_curve_chart([1.0, 0.5, 0.66], [1.0, 0.5, 0.66], 5)
    assert "<polyline" in curve
    box = box_plot_chart([distribution("<script>", [0.1, 0.9])], "rewards")
    assert "&lt;script&gt;" in box
    assert "<script>" not in box
    assert "No completed episode yet." in timeline_chart([], "day")
