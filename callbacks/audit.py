"""Admin audit page callbacks and the CSV export route (admin only).

``register_callbacks(app, audit)`` wires the filter callback (protected to the
admin role) and ``GET /admin/audit.csv`` (the same filters as query parameters).
The ``/admin`` page prefix is admin-only in the default page roles as well; the
route checks the role again itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

import dash
from dash import Input, Output
from flask import Response, request

from callbacks.auth import current_user, protect
from layouts.audit import IDS, audit_rows, audit_table
from twin.service.audit import AuditError, AuditFilter, AuditLog

__all__ = ["CSV_PATH", "FILTER_KEYS", "filters_from_values", "register_callbacks"]

CSV_PATH = "/admin/audit.csv"
FILTER_KEYS = ("user", "role", "action", "category", "since", "until")
ADMIN_ROLES = ("admin",)


def _local_time_s(name: str, value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()  # naive = server local time
    except ValueError:
        raise AuditError(
            f"'{name}' must be a date and time like 2026-07-27T18:40, got {value!r}"
        ) from None


def filters_from_values(values: Mapping[str, str | None]) -> AuditFilter:
    """An :class:`AuditFilter` from page or query values (empty means any)."""
    return AuditFilter(
        user=values.get("user") or None,
        role=values.get("role") or None,
        action=values.get("action") or None,
        category=values.get("category") or None,
        since_s=_local_time_s("since", values.get("since")),
        until_s=_local_time_s("until", values.get("until")),
    )


def register_callbacks(app: dash.Dash, audit: AuditLog) -> None:
    """Register the audit page callback and the CSV route on `app`."""

    @app.callback(
        Output(IDS.TABLE, "children"),
        Output(IDS.COUNT, "children"),
        Output(IDS.EXPORT, "href"),
        Output(IDS.ERROR, "children"),
        Input(IDS.USER, "value"),
        Input(IDS.ROLE, "value"),
        Input(IDS.ACTION, "value"),
        Input(IDS.CATEGORY, "value"),
        Input(IDS.SINCE, "value"),
        Input(IDS.UNTIL, "value"),
        Input(IDS.REFRESH, "n_clicks"),
    )
    def show_audit(user, role, action, category, since, until, _refresh):
        values = dict(zip(FILTER_KEYS, (user, role, action, category, since, until), strict=True))
        query = urlencode({k: v for k, v in values.items() if v})
        href = CSV_PATH + (f"?{query}" if query else "")
        try:
            entries = audit.query(filters_from_values(values))
        except AuditError as err:
            return audit_table([]), "", href, str(err)
        count = f"{len(entries)} entries (newest first)"
        return audit_table(audit_rows(entries)), count, href, ""

    protect(app, IDS.TABLE, roles=ADMIN_ROLES)

    def export_csv() -> Response:
        user = current_user()
        if user is None or user.role not in ADMIN_ROLES:
            return Response("forbidden\n", status=403, mimetype="text/plain")
        try:
            filters = filters_from_values(request.args)
        except AuditError as err:
            return Response(f"{err}\n", status=400, mimetype="text/plain")
        body = audit.to_csv(filters)
        audit.record(
            user=user.name,
            role=user.role,
            action="audit.export",
            target=CSV_PATH,
            after=request.args.to_dict() or None,
            ip=request.remote_addr or "",
        )
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return Response(
            body,
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
                "Cache-Control": "no-store",
            },
        )

    app.server.add_url_rule(CSV_PATH, "venuetwin_audit_csv", export_csv)
