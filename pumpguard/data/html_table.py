"""The HTML table of pumpguard's self-contained reports (the EDA report here, the evaluation report).

Kept in :mod:`pumpguard.data` because imports flow one way: evaluation may import data, not the
reverse.
"""

from __future__ import annotations

import html


def html_table(header: list[str], rows: list[list], left: int = 1) -> str:
    """A ``<table>`` with one header row; the first ``left`` columns get class ``l`` (left-aligned).

    Header names are escaped; cells go in as given (the caller formats and escapes them).

    >>> html_table(["sensor", "mean"], [["p1", "2.5"]])
    '<table><tr><th class="l">sensor</th><th class="">mean</th></tr><tr><td class="l">p1</td><td class="">2.5</td></tr></table>'
    """
    head = "".join(
        f'<th class="{"l" if i < left else ""}">{html.escape("" if h is None else str(h))}</th>'
        for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        cells = "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"
