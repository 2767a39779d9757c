"""Inline SVG bar charts drawn by the IdP itself (no script, no third-party asset), each with a
text equivalent for screen readers."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 480, 170, 34, 22, 10


def bar_chart(title: str, points: list[tuple[str, int]], *, css: str = "bar",
              label_every: int = 6) -> Markup:
    """`points`: (x label, value) in order. Returns an <svg> element."""
    peak = max((v for _, v in points), default=0) or 1
    plot_w, plot_h = WIDTH - PAD_LEFT - 4, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(points), 1)
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end">{peak}</text>',
             f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" text-anchor="end">0</text>',
             f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 4}" '
             f'y2="{PAD_TOP + plot_h}" stroke="#c9d1d9"/>']
    for i, (label, value) in enumerate(points):
        h = plot_h * value / peak
        x = PAD_LEFT + i * step + 1
        parts.append(f'<rect class="{escape(css)}" x="{x:.1f}" y="{PAD_TOP + plot_h - h:.1f}" '
                     f'width="{max(step - 2, 1):.1f}" height="{h:.1f}">'
                     f'<title>{escape(label)}: {value}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every inserted value is escaped above)
