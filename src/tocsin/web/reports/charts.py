"""Report figures as SVG bar charts, drawn on the server. Pure: text in, text out.

A chart is horizontal bars in sections (a section per group, or one section without a
heading): each bar has its label written on the left and its value written after it, so
the figure never rests on colour alone; the colour class (``bar-sev-0``, ``bar-tta`` ...)
only repeats the label. Bar lengths are proportional to the values, against the largest
value (or a fixed ``maximum``, such as 100 for percentages). The SVG carries a
``<title>`` and ``<desc>`` named by ``aria-labelledby``; the page shows the same figures
as a table beside it. No ``style`` attribute anywhere (the console's CSP forbids inline
style): positions are presentation attributes, colours classes of ``web.css``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: The drawing's size in user units (it scales down with the page; see web.css).
WIDTH = 720
LABEL_WIDTH = 180
VALUE_ROOM = 220
GAP = 8
#: Room for the longest bar: what is left between the labels and the values.
BAR_ROOM = WIDTH - LABEL_WIDTH - VALUE_ROOM - 2 * GAP
ROW = 26
BAR_HEIGHT = 16
HEADING = 24
PAD = 8
#: Longer labels are cut (with an ellipsis); the whole label is the bar's tooltip.
LABEL_CHARS = 26


@dataclass(frozen=True)
class Bar:
    """One bar: ``label`` on the left, ``text`` (the value as written) after the bar;
    ``value`` None draws no bar (no figure), only the text."""

    label: str
    value: float | None
    text: str
    kind: str = ""


@dataclass(frozen=True)
class Section:
    heading: str | None
    bars: Sequence[Bar]


def _num(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _ident(text: str) -> str:
    """Usable as an XML id: lowercase letters, digits and dashes, starting with a letter."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return f"chart-{cleaned or 'x'}"


def _kind(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def bar_length(value: float | None, top: float) -> float:
    """The bar's length for ``value`` when ``top`` fills the room (0 for none or below 0)."""
    if value is None or top <= 0 or value <= 0:
        return 0.0
    return min(value, top) / top * BAR_ROOM


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(
    name: str,
    title: str,
    desc: str,
    sections: Sequence[Section],
    *,
    maximum: float | None = None,
    empty: str = "No data",
) -> str:
    """The chart as an ``<svg>`` element (a string of XML, every text escaped).

    ``name`` makes the ids of its title and description (``chart-<name>-title``); with no
    bar at all, the drawing says ``empty``."""
    ident = _ident(name)
    bars = [bar for section in sections for bar in section.bars]
    values = [bar.value for bar in bars if bar.value is not None]
    top = maximum if maximum is not None else max(values, default=0.0)
    body: list[str] = []
    y = PAD
    if not bars:
        y += ROW
        body.append(
            f'<text class="chart-empty" x="{_num(WIDTH / 2)}" y="{_num(y - ROW / 2 + 5)}"'
            f' text-anchor="middle">{escape(empty)}</text>'
        )
    for section in sections:
        if not section.bars:
            continue
        if section.heading is not None:
            y += HEADING
            body.append(
                f'<text class="chart-heading" x="0" y="{_num(y - 7)}">{escape(section.heading)}</text>'
            )
        for bar in section.bars:
            body.append(_bar(bar, y, top))
            y += ROW
    height = y + PAD
    axis_x = LABEL_WIDTH + GAP
    axis = (
        f'<line class="chart-axis" x1="{axis_x}" y1="{PAD}" x2="{axis_x}" y2="{_num(height - PAD)}"'
        ' stroke="currentColor"/>'
        if bars
        else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"'
        f' width="{WIDTH}" height="{_num(height)}" viewBox="0 0 {WIDTH} {_num(height)}"'
        f' aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>'
        f"{axis}{''.join(body)}</svg>"
    )


def _bar(bar: Bar, y: float, top: float) -> str:
    """One row at ``y`` (its top): the label, the bar, the value."""
    middle = y + ROW / 2
    baseline = _num(middle + 5)
    length = bar_length(bar.value, top)
    x = LABEL_WIDTH + GAP
    kind = f" bar-{_kind(bar.kind)}" if bar.kind else ""
    parts = [
        f'<g class="bar{kind}">',
        f"<title>{escape(bar.label)}: {escape(bar.text)}</title>",
        f'<text class="chart-label" x="{LABEL_WIDTH}" y="{baseline}" text-anchor="end">'
        f"{escape(_cut(bar.label))}</text>",
    ]
    if bar.value is not None:
        parts.append(
            f'<rect x="{x}" y="{_num(middle - BAR_HEIGHT / 2)}" width="{_num(length)}"'
            f' height="{BAR_HEIGHT}"/>'
        )
    parts.append(
        f'<text class="chart-value" x="{_num(x + length + GAP)}" y="{baseline}">'
        f"{escape(bar.text)}</text>"
    )
    parts.append("</g>")
    return "".join(parts)
