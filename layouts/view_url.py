"""The operator's view in the URL (Grafana's habit): side tab, junction, checkpoint, forecast
horizons and layers, so "junction 72, +60 min forecast" can be sent to a colleague, survives a
reload, and Back returns to the previous view.

``/?tab=signals&junction=72&horizon=3600&layers=roads,crowd`` — pure functions here: what a
query string says (unknown or invalid values dropped), and the query string of a view (other
parameters, such as ``kiosk=1``, kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

TABS = ("alerts", "signals", "corridor", "checkpoints")
HORIZONS_S = (900, 1800, 3600)
HEAT_HORIZONS_S = (0, 900)
MAP_KEYS = ("horizon", "heat", "layers")  # the map's own (the wall and the read-only map)
OPS_KEYS = ("tab", "junction", "checkpoint")  # the operator wall's side panel
VIEW_KEYS = OPS_KEYS + MAP_KEYS


def _int(text: str, allowed: Sequence[int] | None = None) -> int | None:
    if not text.isdigit() or len(text) > 9:
        return None
    value = int(text)
    return value if allowed is None or value in allowed else None


def view_from_query(
    search: str | None,
    *,
    junctions: Sequence[int],
    checkpoints: Sequence[int],
    layers: Sequence[str],
) -> dict[str, Any]:
    """The view a query string asks for, keeping only values the screen offers."""
    params = dict(parse_qsl((search or "").lstrip("?")[:2000]))
    view: dict[str, Any] = {}
    if params.get("tab") in TABS:
        view["tab"] = params["tab"]
    for key, allowed in (
        ("junction", junctions),
        ("checkpoint", checkpoints),
        ("horizon", HORIZONS_S),
        ("heat", HEAT_HORIZONS_S),
    ):
        value = _int(params.get(key, ""), allowed)
        if value is not None:
            view[key] = value
    if "layers" in params:
        view["layers"] = [name for name in params["layers"].split(",") if name in layers]
    return view


def query_from_view(
    search: str | None, view: Mapping[str, Any], keys: Sequence[str] = VIEW_KEYS
) -> str:
    """``search`` with the view's ``keys`` replaced (other parameters kept), as ``?a=b&...``."""
    params = [(k, v) for k, v in parse_qsl((search or "").lstrip("?")[:2000]) if k not in keys]
    for key in keys:
        value = view.get(key)
        if value is None or value == "":
            continue
        params.append((key, ",".join(value) if isinstance(value, (list, tuple)) else str(value)))
    return "?" + urlencode(params, safe=",") if params else ""
