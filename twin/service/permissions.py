"""Who may do what: the one permission table (role x input kind x page x data), deny by default.

Every entry point consults this module and nothing else decides a role's rights:

- the command path (:class:`twin.service.commands.CommandPath`) refuses an input whose kind the
  role may not submit (:func:`may`), with the code ``forbidden``, audited and recorded;
- the HTTP API checks :func:`may` for ``POST /api/v1/actions`` (by the body's kind) and
  :func:`may_read` for each read endpoint (:data:`API_DATA`);
- the sign-in guard (``callbacks.auth``) opens pages by :data:`PAGE_PERMISSIONS` and runs a Dash
  callback only for the roles of the data or input it serves (:data:`CALLBACK_PERMISSIONS`; a
  callback missing from that table runs for nobody);
- the stream consumer and the feeds endpoint call ``may(role, "feed")``.

A role or kind missing from a table has no right at all. :data:`LOCAL` is the one user of an
app run without sign-in (tests, a single-user desk on the loopback address): it may do what the
operator and the admin may, never post feeds.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "API_DATA",
    "CALLBACK_PERMISSIONS",
    "DATA_PERMISSIONS",
    "HUMAN_ROLES",
    "INPUT_PERMISSIONS",
    "LOCAL",
    "PAGE_PERMISSIONS",
    "ROLES",
    "may",
    "may_open",
    "may_read",
    "roles_for",
]

ROLES = ("operator", "planner", "executive", "admin", "feed")
"""Every role a user or token can have. ``feed`` may post field feeds and nothing else."""
HUMAN_ROLES = ("operator", "planner", "executive", "admin")
"""The roles of people (pages, screens); ``feed`` is a machine account."""
LOCAL = "local"
"""The role of the only user of an app without sign-in (never a stored user's role)."""

OPERATOR_ACTIONS = ("set_signal_plan", "set_lanes", "dispatch_corridor", "cancel_corridor")

INPUT_PERMISSIONS: dict[str, frozenset[str]] = {
    **{kind: frozenset({"operator", LOCAL}) for kind in OPERATOR_ACTIONS},
    "acknowledge": frozenset({"operator", LOCAL}),
    "shelve": frozenset({"operator", LOCAL}),
    "clock": frozenset({"admin", LOCAL}),  # a pause or a speed changes every screen
    "feed": frozenset({"feed"}),
}
"""Input kind -> roles that may submit it through the command path (``unshelve`` is
``shelve``)."""

DATA_PERMISSIONS: dict[str, frozenset[str]] = {
    # the live twin's picture: map values, KPIs, alert feed, clock state (wall, /map, GET /state)
    "live": frozenset({"operator", "planner", "executive", "admin", LOCAL}),
    # the operator's side panes: junction editor, what-if previews, corridors, checkpoint lanes
    "operate": frozenset({"operator", LOCAL}),
    "summary": frozenset({"operator", "planner", "executive", "admin", LOCAL}),
    # recorded days: frames, KPIs, the operator log, comparisons (the /replay page, the API)
    "replay": frozenset({"planner", "operator", "admin", LOCAL}),
    # running a fork (a what-if re-run of a recorded day)
    "fork": frozenset({"planner", "operator", "admin", LOCAL}),
    "audit": frozenset({"admin", LOCAL}),
    # the page router itself (each page is then checked with PAGE_PERMISSIONS)
    "pages": frozenset({"operator", "planner", "executive", "admin", LOCAL}),
    # a feed source's own status (issue 20's feeds endpoint)
    "feed_status": frozenset({"feed", "admin", LOCAL}),
}
"""Data kind -> roles that may read it, whatever the entry point (callback or API)."""

PAGE_PERMISSIONS: dict[str, frozenset[str]] = {
    "/": frozenset({"operator"}),  # live control
    "/map": frozenset({"operator", "planner", "executive", "admin"}),  # read-only live map
    "/replay": DATA_PERMISSIONS["replay"] - {LOCAL},
    "/summary": DATA_PERMISSIONS["summary"] - {LOCAL},
    "/admin": frozenset({"admin"}),
    # the HTTP API: people's endpoints; each checks the data or input of its own request
    "/api": frozenset(HUMAN_ROLES),
    "/api/v1/feeds": frozenset({"feed", "admin"}),
}
"""Page path prefix -> roles that may open it; the longest matching prefix wins (by whole
segments). Without sign-in every page is open."""

API_DATA: dict[str, str] = {
    "/api/v1/state": "live",
    "/api/v1/recordings": "replay",
    "/api/v1/openapi.json": "pages",
    "/api/v1": "pages",
}
"""API read path prefix -> the data kind it serves (longest prefix wins)."""

CALLBACK_PERMISSIONS: dict[str, str] = {
    # callbacks.live: the once-a-second refresh; the clock controls are the clock's
    "callbacks.live.refresh": "data:live",
    "callbacks.live.toggle_pause": "input:clock",
    "callbacks.live.ask_speed": "input:clock",
    "callbacks.live.set_speed": "input:clock",
    "callbacks.map.select": "data:live",
    "callbacks.map.detail": "data:live",
    "callbacks.alerts.fly_to_alert": "data:live",
    "callbacks.alerts.strip_and_shelf": "data:live",
    "callbacks.alerts.acknowledge": "input:acknowledge",
    "callbacks.alerts.shelve": "input:shelve",
    "callbacks.alerts.unshelve": "input:shelve",
    "callbacks.view_url.sync_view": "data:live",
    "callbacks.pages.route": "data:pages",
    "callbacks.summary.refresh_summary": "data:summary",
    "callbacks.audit.show_audit": "data:audit",
    # the operator's panes
    "callbacks.operator.show_tab": "data:operate",
    "callbacks.operator.map_pick": "data:operate",
    "callbacks.preview.show_preview": "data:operate",
    "callbacks.preview.end_preview": "data:operate",
    "callbacks.signals.junction_live": "data:operate",
    "callbacks.signals.junction_editor": "data:operate",
    "callbacks.signals.cycle_follows_greens": "data:operate",
    "callbacks.signals.suggest": "data:operate",
    "callbacks.signals.preview": "data:operate",
    "callbacks.signals.apply_plan": "input:set_signal_plan",
    "callbacks.signals.revert": "input:set_signal_plan",
    "callbacks.corridors.corridor_preview": "data:operate",
    "callbacks.corridors.corridors_live": "data:operate",
    "callbacks.corridors.dispatch": "input:dispatch_corridor",
    "callbacks.corridors.cancel": "input:cancel_corridor",
    "callbacks.checkpoints.checkpoints_live": "data:operate",
    "callbacks.checkpoints.fill_lane_control": "data:operate",
    "callbacks.checkpoints.preview_lanes": "data:operate",
    "callbacks.checkpoints.set_lanes": "input:set_lanes",
    # the wall's Feeds tab (feed health, forecast error, observed against modelled) and the
    # congestion legend's forecast error
    "callbacks.feeds.legend_error": "data:live",
    "callbacks.feeds.health": "data:operate",
    "callbacks.feeds.road": "data:operate",
    "callbacks.feeds.checkpoint": "data:operate",
    "callbacks.feeds.checkpoint_error": "data:operate",
    "callbacks.feeds.map_pick": "data:operate",
    # the replay page: recorded data; running a fork is the fork right
    "callbacks.replay.open_day": "data:replay",
    "callbacks.replay.frame": "data:replay",
    "callbacks.replay.log": "data:replay",
    "callbacks.replay.comparison": "data:replay",
    "callbacks.replay.signal_plan": "data:replay",
    "callbacks.replay.lanes_now": "data:replay",
    "callbacks.replay.recorded_actions": "data:replay",
    "callbacks.replay.add_change": "data:fork",
    "callbacks.replay.remove_change": "data:fork",
    "callbacks.replay.show_changes": "data:fork",
    "callbacks.replay.run_fork": "data:fork",
    "callbacks.replay.progress": "data:replay",
}
"""Dash callback (``module.function``) -> the right it needs: ``data:<kind>`` or
``input:<kind>``. A callback not listed runs for nobody."""


def may(role: str, input_kind: str) -> bool:
    """Whether ``role`` may submit ``input_kind``; anything not in the table is denied."""
    return role in INPUT_PERMISSIONS.get(input_kind, frozenset())


def may_read(role: str, data_kind: str) -> bool:
    """Whether ``role`` may read ``data_kind`` (:data:`DATA_PERMISSIONS`); else denied."""
    return role in DATA_PERMISSIONS.get(data_kind, frozenset())


def roles_for(right: str) -> frozenset[str]:
    """The roles holding ``right`` (``data:<kind>``, ``input:<kind>`` or ``page:<path>``);
    empty for anything unknown."""
    family, _, name = right.partition(":")
    if family == "data":
        return DATA_PERMISSIONS.get(name, frozenset())
    if family == "input":
        return INPUT_PERMISSIONS.get(name, frozenset())
    if family == "page":
        return page_roles(name)
    return frozenset()


def _longest(prefixes: Iterable[str], path: str) -> str | None:
    best = None
    for prefix in prefixes:
        base = prefix.rstrip("/")
        if (prefix == "/" or path == base or path.startswith(base + "/")) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    return best


def page_roles(path: str) -> frozenset[str]:
    """Roles that may open the page at ``path`` (longest prefix by whole segments)."""
    best = _longest(PAGE_PERMISSIONS, path)
    return PAGE_PERMISSIONS[best] if best is not None else frozenset()


def may_open(role: str, path: str) -> bool:
    """Whether ``role`` may open the page (or API path) ``path``."""
    return role in page_roles(path)


def api_data(path: str) -> str | None:
    """The data kind an API read path serves, or None (then nobody may read it)."""
    best = _longest(API_DATA, path)
    return API_DATA[best] if best is not None else None
