"""Admin audit page (/admin/audit): filters, the log table and a CSV export link.

Pure builders: plain values in, Dash components out. Times are shown in the
server's local time zone, to the second; simulated time as HH:MM:SS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from dash import dcc, html

__all__ = ["IDS", "TABLE_COLUMNS", "audit_page", "audit_rows", "audit_table"]


class IDS:
    """Component ids of the audit page (to move into layouts/ids.py)."""

    USER = "audit-filter-user"
    ROLE = "audit-filter-role"
    ACTION = "audit-filter-action"
    CATEGORY = "audit-filter-category"
    SINCE = "audit-filter-since"
    UNTIL = "audit-filter-until"
    REFRESH = "audit-refresh"
    TABLE = "audit-table"
    COUNT = "audit-count"
    EXPORT = "audit-export"
    ERROR = "audit-error"


TABLE_COLUMNS = (
    ("wall_time", "Time"),
    ("sim_time", "Sim time"),
    ("category", "Log"),
    ("user", "User"),
    ("role", "Role"),
    ("action", "Action"),
    ("target", "Target"),
    ("before", "Before"),
    ("after", "After"),
    ("result", "Result"),
    ("ip", "IP"),
    ("detail", "Detail"),
)
_CELL = {
    "padding": "4px 8px",
    "borderBottom": "1px solid #253244",
    "textAlign": "left",
    "fontFamily": "monospace",
    "fontSize": "13px",
    "whiteSpace": "nowrap",
    "maxWidth": "320px",
    "overflow": "hidden",
    "textOverflow": "ellipsis",
}
_REFUSED = {"color": "#ffb3b8"}


def _dropdown(component_id: str, label: str, options: Iterable[str]) -> html.Label:
    return html.Label(
        [
            label,
            dcc.Dropdown(id=component_id, options=list(options), placeholder="any", clearable=True),
        ],
        className="audit-filter audit-filter-menu",
    )


def _date(component_id: str, label: str) -> html.Label:
    """A date-and-time field wide enough for "yyyy-mm-dd hh:mm" (dark, like the menus)."""
    return html.Label(
        [label, dcc.Input(id=component_id, type="datetime-local", debounce=True)],
        className="audit-filter audit-filter-date",
    )


def audit_page(facets: Mapping[str, Sequence[str]], *, roles: Sequence[str]) -> html.Div:
    """The page, with filter menus filled from `facets` (``user``/``action`` lists)."""
    filters = html.Div(
        [
            _dropdown(IDS.USER, "User", facets.get("user", ())),
            _dropdown(IDS.ROLE, "Role", roles),
            _dropdown(IDS.ACTION, "Action", facets.get("action", ())),
            html.Label(
                [
                    "Log",
                    dcc.RadioItems(
                        id=IDS.CATEGORY,
                        value="",
                        options=[
                            {"label": "all", "value": ""},
                            {"label": "actions", "value": "action"},
                            {"label": "security", "value": "security"},
                        ],
                        inline=True,
                    ),
                ],
                className="audit-filter",
            ),
            _date(IDS.SINCE, "From"),
            _date(IDS.UNTIL, "To"),
            html.Button("Refresh", id=IDS.REFRESH, n_clicks=0, className="audit-refresh"),
        ],
        className="audit-filters",
        style={"display": "flex", "flexWrap": "wrap", "gap": "12px", "alignItems": "end"},
    )
    return html.Div(
        [
            html.H2("Audit log"),
            filters,
            html.Div(
                [
                    html.Span(id=IDS.COUNT),
                    html.A(
                        "Export CSV",
                        id=IDS.EXPORT,
                        href="/admin/audit.csv",
                        download="audit.csv",
                        style={"marginLeft": "16px"},
                    ),
                ],
                style={"margin": "10px 0"},
            ),
            html.Div(id=IDS.ERROR, role="alert", style={"color": "#ffb3b8"}),
            html.Div(audit_table([]), id=IDS.TABLE, style={"overflowX": "auto"}),
        ],
        className="audit-page",
    )


def _sim_clock(sim_time_s: float | None) -> str:
    if sim_time_s is None:
        return ""
    total = int(sim_time_s)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _value(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


def audit_rows(entries: Iterable[Any]) -> list[dict[str, str]]:
    """Table rows for audit entries (objects with the :class:`twin.service.audit.AuditEntry` fields)."""
    return [
        {
            "wall_time": datetime.fromtimestamp(e.wall_time_s).strftime("%Y-%m-%d %H:%M:%S"),
            "sim_time": _sim_clock(e.sim_time_s),
            "category": e.category,
            "user": e.user,
            "role": e.role,
            "action": e.action,
            "target": e.target,
            "before": _value(e.before),
            "after": _value(e.after),
            "result": e.result,
            "ip": e.ip,
            "detail": e.detail,
        }
        for e in entries
    ]


def audit_table(rows: Sequence[Mapping[str, str]]) -> html.Table:
    """The log table for rows from :func:`audit_rows`; refused entries in red.

    Each cell has the class ``col-<key>`` (``col-action``, ``col-user`` ...).
    """
    head = html.Thead(html.Tr([html.Th(name, style=_CELL) for _, name in TABLE_COLUMNS]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(row[key], className=f"col-{key}", title=row[key], style=_CELL)
                    for key, _ in TABLE_COLUMNS
                ],
                style=_REFUSED if row["result"] == "refused" else None,
            )
            for row in rows
        ]
    )
    return html.Table([head, body], className="audit-table", style={"borderCollapse": "collapse"})
