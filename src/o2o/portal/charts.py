"""Charts as SVG made on the server: no script, no library, readable without colour (every bar and edge has
its figure as text and a <title>), scaled by `viewBox` so they fit a tablet as well as 1280 px.

- `bars`: signed bars around a zero line (the daily difference of a disputed line, the tolerance dashed);
- `graph`: who owes whom, operators on a circle and an arrow per debtor → creditor with its amount;
- `stacked`: ageing buckets per counterparty.
Values come in as Decimal and are scaled to floats here only to place pixels; the labels print the Decimal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from markupsafe import Markup

_W, _H = 720, 260


def _svg(body: list[str], label: str, width: int = _W, height: int = _H) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" class="chart">'
    )
    return Markup(head + f"<title>{escape(label)}</title>" + "".join(body) + "</svg>")


def bars(
    points: Sequence[tuple[str, Decimal]], label: str, tolerance: Decimal | None = None, unit: str = ""
) -> Markup:
    """One bar per (label, value) around zero; the ± tolerance as dashed lines."""
    if not points:
        return _svg(['<text x="20" y="40" class="muted">nothing to chart</text>'], label, _W, 60)
    left, top, bottom = 70, 20, 50
    plot_h = _H - top - bottom
    peak = max([abs(v) for _, v in points] + ([abs(tolerance)] if tolerance else [])) or Decimal(1)
    zero = top + plot_h / 2
    scale = (plot_h / 2) / float(peak)
    step = (_W - left - 20) / len(points)
    width = max(4.0, min(48.0, step * 0.7))
    body = [
        f'<line x1="{left}" y1="{zero:.1f}" x2="{_W - 10}" y2="{zero:.1f}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 4}" class="tick" text-anchor="end">{peak:.4g}</text>',
        f'<text x="{left - 6}" y="{zero + 4:.1f}" class="tick" text-anchor="end">0</text>',
        f'<text x="{left - 6}" y="{top + plot_h + 4}" class="tick" text-anchor="end">-{peak:.4g}</text>',
    ]
    if tolerance:
        for sign in (1, -1):
            y = zero - sign * float(tolerance) * scale
            body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{_W - 10}" y2="{y:.1f}" class="tolerance"/>')
        body.append(f'<text x="{_W - 12}" y="{zero - float(tolerance) * scale - 4:.1f}" class="tick" '
                    f'text-anchor="end">tolerance ±{escape(str(tolerance))}</text>')  # fmt: skip
    for i, (name, value) in enumerate(points):
        x = left + i * step + (step - width) / 2
        h = abs(float(value)) * scale
        y = zero - h if value >= 0 else zero
        kind = "bar-pos" if value >= 0 else "bar-neg"
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{max(h, 1):.1f}" class="{kind}">'
            f"<title>{escape(name)}: {escape(str(value))}{escape(unit)}</title></rect>"
        )
        body.append(
            f'<text x="{x + width / 2:.1f}" y="{_H - bottom + 16}" class="tick" text-anchor="middle">'
            f"{escape(name[-5:])}</text>"
        )
    return _svg(body, label)


def graph(edges: Sequence[tuple[str, str, Decimal]], label: str, currency: str = "") -> Markup:
    """Operators on a circle; an arrow from each debtor to its creditor, labelled with the amount."""
    nodes = sorted({e[0] for e in edges} | {e[1] for e in edges})
    if not nodes:
        return _svg(['<text x="20" y="40" class="muted">no obligations</text>'], label, _W, 60)
    # Operators on an ellipse (wider than tall), the first on the left.
    cx, cy, r = _W / 2, _H / 2, min(_W, _H) / 2 - 40
    pos = {
        n: (cx + r * math.cos(2 * math.pi * i / len(nodes) + math.pi) * 1.6,
            cy + r * math.sin(2 * math.pi * i / len(nodes) + math.pi))
        for i, n in enumerate(nodes)
    }  # fmt: skip
    body = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>'
    ]
    pairs = {(a, b) for a, b, _ in edges}
    for debtor, creditor, amount in edges:
        (x1, y1), (x2, y2) = pos[debtor], pos[creditor]
        dx, dy = x2 - x1, y2 - y1
        dist = math.hypot(dx, dy) or 1.0
        ux, uy = dx / dist, dy / dist
        bend = 40 if (creditor, debtor) in pairs else 0  # both ways: two curves, not one line
        sx, sy, ex, ey = x1 + ux * 30, y1 + uy * 30, x2 - ux * 30, y2 - uy * 30
        mx, my = (sx + ex) / 2 - uy * bend, (sy + ey) / 2 + ux * bend
        text = f"{debtor} owes {creditor} {amount} {currency}".strip()
        body.append(
            f'<path d="M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}" class="edge" '
            f'marker-end="url(#arrow)"><title>{escape(text)}</title></path>'
        )
        body.append(
            f'<text x="{(sx + ex) / 2 - uy * bend / 2:.1f}" y="{(sy + ey) / 2 + ux * bend / 2 - 4:.1f}" '
            'class="edge-label" text-anchor="middle">'
            f"{escape(str(amount))}</text>"
        )
    for n, (x, y) in pos.items():
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="26" class="node"/>')
        body.append(
            f'<text x="{x:.1f}" y="{y + 4:.1f}" class="node-label" text-anchor="middle">{escape(n)}</text>'
        )
    return _svg(body, label)


def stacked(rows: Sequence[tuple[str, Sequence[tuple[str, Decimal]]]], label: str) -> Markup:
    """One horizontal bar per row (a counterparty), split into its buckets (age bands)."""
    if not rows:
        return _svg(['<text x="20" y="40" class="muted">nothing outstanding</text>'], label, _W, 60)
    left, row_h = 130, 34
    height = 40 + row_h * len(rows)
    total_max = max(sum((v for _, v in parts), Decimal(0)) for _, parts in rows) or Decimal(1)
    scale = (_W - left - 30) / float(total_max)
    body: list[str] = []
    for i, (name, parts) in enumerate(rows):
        y = 20 + i * row_h
        body.append(f'<text x="{left - 8}" y="{y + 18}" class="tick" text-anchor="end">{escape(name)}</text>')
        x = float(left)
        for j, (bucket, value) in enumerate(parts):
            w = float(value) * scale
            if w <= 0:
                continue
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 10}" class="band{j % 5}">'
                f"<title>{escape(name)} {escape(bucket)}: {escape(str(value))}</title></rect>"
            )
            x += w
    return _svg(body, label, _W, height)
