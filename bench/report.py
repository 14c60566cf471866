"""The one table every run prints: each figure, its baselines and ratios, its target."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """A target such as `≥ 2,000 /s` or `≤ 50 ms`."""

    op: str  # ">=" or "<="
    value: float

    def met(self, value: float) -> bool:
        """True when `value` reaches the target."""
        if math.isnan(value):
            return False
        return value >= self.value if self.op == ">=" else value <= self.value

    def gap(self, value: float) -> str:
        """How far `value` is from the target, e.g. `-94%` or `×3.2 over`."""
        if math.isnan(value) or self.value == 0:
            return ""
        if self.op == ">=":
            return f"{(value / self.value - 1) * 100:+.0f}%"
        return f"×{value / self.value:.1f} over" if value > self.value else ""

    def __str__(self) -> str:
        shown = f"{self.value:,.0f}" if self.value == int(self.value) else _number(self.value)
        return f"{'≥' if self.op == '>=' else '≤'} {shown}"


def at_least(value: float) -> Target:
    """A floor target."""
    return Target(">=", value)


def at_most(value: float) -> Target:
    """A ceiling target."""
    return Target("<=", value)


@dataclass
class Row:
    """One line of the table."""

    key: str  # stable id, e.g. "commands.sqlite.rate"
    label: str
    value: float
    unit: str
    baselines: list[str] = field(default_factory=list)  # keys of baseline rows
    target: Target | None = None
    note: str = ""
    is_baseline: bool = False
    condition_reached: bool = True  # False: the load the target assumes was not reached

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key": self.key,
            "label": self.label,
            "value": None if math.isnan(self.value) else self.value,
            "unit": self.unit,
            "baselines": self.baselines,
            "target": str(self.target) if self.target else None,
            "met": self.target.met(self.value) if self.target else None,
            "note": self.note,
            "is_baseline": self.is_baseline,
            "condition_reached": self.condition_reached,
        }


def skipped(key: str, label: str, unit: str, why: str, **kwargs: Any) -> Row:
    """A row whose figure could not be measured in this run (NaN, with the reason)."""
    return Row(key, label, math.nan, unit, note=f"skipped: {why}", **kwargs)


def _number(value: float) -> str:
    if math.isnan(value):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def _ratio(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return "—"
    ratio = value / base
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def render(rows: Iterable[Row], header: str, *, notes: bool = True, markdown: bool = False) -> str:
    """The table as aligned text (or Markdown), baselines first, numbered B1…, then F1…."""
    rows = list(rows)
    base_rows = [r for r in rows if r.is_baseline]
    figure_rows = [r for r in rows if not r.is_baseline]
    ids: dict[str, str] = {}
    for number, row in enumerate(base_rows, 1):
        ids[row.key] = f"B{number}"
    for number, row in enumerate(figure_rows, 1):
        ids[row.key] = f"F{number}"
    by_key = {r.key: r for r in rows}

    table: list[list[str]] = []
    for row in base_rows + figure_rows:
        ratios = []
        for key in row.baselines:
            base = by_key.get(key)
            if base is not None:
                ratios.append(f"{_ratio(row.value, base.value)} {ids[key]}")
        met = ""
        if row.target is not None:
            if math.isnan(row.value):
                met = "—"
            elif row.target.met(row.value):
                met = "yes"
            else:
                met = f"NO {row.target.gap(row.value)}".strip()
            if not row.condition_reached:
                met = f"({met})"  # measured below the load the target assumes
        table.append(
            [
                ids[row.key],
                row.label,
                _number(row.value),
                row.unit,
                " · ".join(ratios),
                str(row.target) if row.target else "",
                met,
                row.note if notes else "",
            ]
        )
    titles = ["#", "figure", "value", "unit", "ratio to baseline", "target", "met", "note"]
    if markdown:
        lines = [header, "", "| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in table]
        return "\n".join(lines)
    widths = [max(len(titles[i]), *(len(line[i]) for line in table)) for i in range(len(titles))]
    right = {2}

    def fmt(cells: list[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    lines = [header, fmt(titles), "  ".join("-" * w for w in widths)]
    for line in table:
        lines.append(fmt(line))
        if line[0] == f"B{len(base_rows)}" and figure_rows:
            lines.append("")
    return "\n".join(lines)


Measure = Callable[..., list[Row]]
