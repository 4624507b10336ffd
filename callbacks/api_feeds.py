"""Field feeds over HTTP: ``POST /api/v1/feeds/{source}`` and ``GET /api/v1/feeds/{source}/status``.

A feed system (loop controllers, gate scanners) posts one batch per request as NDJSON
(``application/x-ndjson``, one record per line) or JSON (a list, or ``{"records": [...]}``),
with a bearer token of the ``feed`` role (:func:`twin.service.permissions.may`), which may do
nothing else. The batch goes through the one command path
(:meth:`twin.service.commands.CommandPath.feed`): validated whole, audited, recorded, applied;
``200`` comes only once it is recorded. A refused batch changes nothing (its source's
rejected tally aside) and gets ``400`` (a malformed body, ``error.line``), ``413`` (too many
records) or ``422`` (a rule, ``error.record``), naming the first bad record and the rule.
The status is the source's status (:func:`twin.feeds.status.status`): a feed token may read
its source's status and nothing else.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from callbacks.api import PREFIX, ApiError, _commands, _json, _twin_call, guarded
from callbacks.services import who
from twin.feeds.refusal import RULES
from twin.service.permissions import may

if TYPE_CHECKING:
    import dash

__all__ = ["MAX_FEED_BODY_BYTES", "register_feed_api"]

MAX_FEED_BODY_BYTES = 32 * 1024 * 1024
"""A batch body is refused (413) above this size: about 400,000 scan records of NDJSON."""
SOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
FORMATS = {"application/x-ndjson": "ndjson", "application/json": "json"}
READ_ROLES = frozenset({"operator", "planner", "executive", "admin", "feed"})
_STATUS = {
    "malformed": 400,
    "bad_value": 400,
    "empty_batch": 400,
    "too_large": 413,
    "forbidden": 403,
}


def _source(name: str) -> str:
    if not SOURCE.fullmatch(name):
        raise ApiError(
            400,
            "bad_source",
            f"source {name[:40]!r} must be 1 to 80 letters, digits, '.', '-' or '_'",
        )
    return name


def _forbidden(user: dict[str, str], what: str) -> ApiError:
    return ApiError(403, "forbidden", f"role {user['role']} may not {what}")


def _post_feed(source: str) -> Response:
    source = _source(source)
    user = who()
    if not may(user["role"], "feed"):
        raise _forbidden(user, "post feeds (a token of the feed role is needed)")
    fmt = FORMATS.get(request.mimetype or "")
    if fmt is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the batch as Content-Type: application/x-ndjson or application/json, got "
            f"{request.mimetype or 'none'!r}",
        )
    length = request.content_length
    if length is not None and length > MAX_FEED_BODY_BYTES:
        raise ApiError(
            413, "too_large", f"the body is {length} bytes; at most {MAX_FEED_BODY_BYTES}"
        )
    body = request.stream.read(MAX_FEED_BODY_BYTES + 1)
    if len(body) > MAX_FEED_BODY_BYTES:
        raise ApiError(413, "too_large", f"the body is over {MAX_FEED_BODY_BYTES} bytes")
    commands = _commands()
    result = _twin_call(lambda: commands.feed(body, source=source, fmt=fmt, **user))
    if not result.ok:
        detail = result.after if isinstance(result.after, dict) else {}
        code = result.code or "refused"
        raise ApiError(
            _STATUS.get(code, 422),
            code,
            result.reason,
            rule=RULES.get(code, ""),
            record=detail.get("record"),
            line=detail.get("line"),
            audit_id=result.audit_id,
            seq=result.seq,
            sim_time_s=result.sim_time_s,
        )
    after = result.after or {}
    return _json(
        {
            "ok": True,
            "source": source,
            **after,
            "audit_id": result.audit_id,
            "seq": result.seq,
            "sim_time_s": result.sim_time_s,
        }
    )


def _feed_status(source: str) -> Response:
    source = _source(source)
    user = who()
    if user["role"] not in READ_ROLES:
        raise _forbidden(user, "read feed status")
    status: dict[str, Any] = _twin_call(lambda: _commands().query("feed_status", source))
    if not status["sources"]:
        raise ApiError(
            404, "unknown_source", f"no batch from source {source!r} has reached the twin"
        )
    return _json(status)


def register_feed_api(app: dash.Dash) -> Blueprint:
    """Register the feed routes on ``app.server`` (beside :func:`callbacks.api.register_api`)."""
    blueprint = Blueprint("venuetwin_api_feeds", __name__, url_prefix=PREFIX)

    blueprint.add_url_rule("/feeds/<source>", view_func=guarded(_post_feed), methods=["POST"])
    blueprint.add_url_rule(
        "/feeds/<source>/status", view_func=guarded(_feed_status), methods=["GET"]
    )
    app.server.register_blueprint(blueprint)
    return blueprint
