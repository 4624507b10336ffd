"""Read-only queries of the twin, for the web side and the HTTP API.

Each query takes the engine (run in the loop thread by :meth:`twin.service.live.LiveTwin.query`, so it
sees one consistent state) and plain arguments, checks them, and returns plain data or an
independent copy (:func:`forecast_copy`). None of them changes the twin. A bad argument raises
:class:`twin.errors.ActionError` with a ``code`` (``unknown_junction``, ``unknown_checkpoint``,
``bad_lane_type``) and a message naming the value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from twin.crowd import checkpoints, pedestrians
from twin.errors import ActionError
from twin.feeds import observations
from twin.models import corridor, metrics
from twin.models.demand import DemandParams
from twin.models.signals import active_phase
from twin.service import whatif

if TYPE_CHECKING:
    from twin.actions import SetSignalPlan
    from twin.engine import Engine

__all__ = ["QUERIES"]

LANE_TYPES = ("face", "manual")


def _node(engine: Engine, node_id: Any) -> int:
    if (
        isinstance(node_id, bool)
        or not isinstance(node_id, (int, np.integer))
        or int(node_id) not in set(engine.state.plans.node_ids.tolist())
    ):
        raise ActionError(
            f"Junction {str(node_id)[:40]} has no traffic signal in this scenario",
            code="unknown_junction",
        )
    return int(node_id)


def _checkpoint(engine: Engine, index: Any) -> int:
    layout = getattr(engine, "pedestrians", None)
    count = 0 if layout is None else len(layout.specs)
    if (
        isinstance(index, bool)
        or not isinstance(index, (int, np.integer))
        or not 0 <= int(index) < count
    ):
        raise ActionError(
            f"checkpoint {str(index)[:40]!r} does not exist (this scenario has {count}, "
            f"numbered 0 to {count - 1})",
            code="unknown_checkpoint",
        )
    return int(index)


def hospitals(engine: Engine) -> dict[str, dict[str, Any]]:
    """Hospitals a corridor may go to: id -> node, name, off-network distance (m)."""
    return corridor.hospitals(engine)


def checkpoint_rows(engine: Engine) -> list[dict[str, Any]]:
    """The checkpoint table (waits in seconds, lanes, advice); empty without venues."""
    if getattr(engine, "pedestrians", None) is None:
        return []
    return pedestrians.checkpoint_table(engine, target_wait_s=pedestrians.WAIT_TARGET_S)


COMPASS = ("northbound", "eastbound", "southbound", "westbound")
"""Direction of travel into a junction by bearing: within 45° of north, east, south, west."""
BEARING_BACK_M = 25.0
"""An approach's bearing is taken over its last this many metres (its whole length if shorter)."""
EARTH_RADIUS_M = 6_371_000.0


def junction_detail(engine: Engine, node_id: Any) -> dict[str, Any]:
    """A signalised junction as plain data for the signal panel and the API.

    ``plan`` (:func:`signal_plan`); ``phases``: per phase its green, minimum green (s) and the
    approaches it serves in words (``"northbound and southbound Ogeum-ro"``); ``approaches``:
    one row per road into the junction (``link_id``, ``name``, ``direction``, ``queue_m``,
    ``delay_s_per_veh``, ``flow_vph``, ``v_over_c``, ``los`` letter); ``junction``: the
    volume-weighted delay of those approaches and its LOS (:mod:`twin.models.metrics`, the same
    function as the map and the junction card); ``phase_now``: the phase green now (-1 in an
    intergreen).
    """
    node = _node(engine, node_id)
    plans = engine.state.plans
    net = engine.net
    links = np.flatnonzero(net.link_to_node[: net.n_real_links] == node)
    names = _street_names(engine, links)
    directions = _directions(engine, links)
    live = metrics.link_metrics(
        net,
        engine.state.vehicles.sum(axis=1),
        engine.state.smooth_vehicles,
        engine.state.smooth_outflow_vps,
        plans=plans,
    )
    rows = [
        {
            "link_id": int(k),
            "name": name,
            "direction": direction,
            "queue_m": float(live["queue_m"][k]),
            "delay_s_per_veh": float(live["delay_s_per_veh"][k]),
            "flow_vph": float(live["flow_vph"][k]),
            "v_over_c": float(live["v_over_c"][k]),
            "los": metrics.LOS_LETTERS[int(live["los"][k])],
        }
        for k, name, direction in zip(links, names, directions, strict=True)
    ]
    delay_s = metrics.combined_delay_s_per_veh(
        live["delay_s_per_veh"][links], live["flow_vph"][links] / 3600.0
    )
    plan = plans.plan_of(node)
    return {
        "plan": plan,
        "phases": _phases(engine, node, plan, dict(zip(links.tolist(), rows, strict=True))),
        "approaches": rows,
        "junction": {
            "delay_s_per_veh": delay_s,
            "flow_vph": float(live["flow_vph"][links].sum()),
            "los": metrics.LOS_LETTERS[int(metrics.level_of_service(delay_s))],
        },
        "phase_now": int(
            active_phase(plans, engine.time_s, engine.state.preemptions)[plans.row(node)]
        ),
    }


def _phases(
    engine: Engine, node: int, plan: dict[str, Any], rows: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per phase: green and minimum green (s) and the approaches it serves, in words."""
    moves = engine.signal_movements(node)
    link_of, phase_of = engine.net.mv_from_link[moves], engine.net.mv_phase[moves]
    phases = []
    for k, (green, minimum) in enumerate(zip(plan["greens_s"], plan["min_green_s"], strict=True)):
        served = [rows[int(j)] for j in np.unique(link_of[phase_of == k]) if int(j) in rows]
        phases.append(
            {"phase": k + 1, "green_s": green, "min_green_s": minimum, "serves": serves(served)}
        )
    return phases


def serves(approaches: list[dict[str, Any]]) -> str:
    """Approaches in words, directions grouped by street: ``[{direction: northbound, name:
    Ogeum-ro}, {southbound, Ogeum-ro}, {westbound, Jamsil-ro}]`` gives ``"northbound and
    southbound Ogeum-ro, westbound Jamsil-ro"``; a road without a name is its direction alone."""
    streets: dict[str, list[str]] = {}
    for row in approaches:
        streets.setdefault(row["name"], [])
        if row["direction"] not in streets[row["name"]]:
            streets[row["name"]].append(row["direction"])
    parts = []
    for name, directions in streets.items():
        ordered = sorted(directions, key=_COMPASS_ORDER.index)
        parts.append(f"{' and '.join(ordered)} {name}".strip())
    return ", ".join(parts) if parts else "no approach"


_COMPASS_ORDER = ("northbound", "southbound", "eastbound", "westbound")


def _street_names(engine: Engine, links: np.ndarray) -> list[str]:
    """Street names of ``links``: the street alone (``street``, without the cross streets of a
    road's full name) where the scenario has it, else the English name, else the name."""
    table = engine.scenario.links
    names = [""] * len(links)
    for column in ("name", "name_en", "street"):  # later columns win where they have a value
        if column not in table:
            continue
        for i, value in enumerate(table[column].to_numpy()[links]):
            text = "" if value is None else str(value).strip()
            if text and text.lower() not in ("none", "nan"):
                names[i] = text
    return names


def _directions(engine: Engine, links: np.ndarray) -> list[str]:
    """Direction of travel of each link as it enters its junction (``northbound`` ...)."""
    bearing = approach_bearing_deg(engine.scenario, links)
    return [COMPASS[int(i)] for i in np.rint(bearing / 90.0).astype(int) % 4]


def approach_bearing_deg(scenario: Any, links: np.ndarray) -> np.ndarray:
    """Bearing (degrees clockwise from north) of travel along each link over its last
    :data:`BEARING_BACK_M` metres, into its downstream junction; vectorised over ``links``.

    From the link geometry (lon/lat, locally flat) when the scenario has one, else from the
    straight line between its end nodes (``x_m``, ``y_m``).
    """
    table = scenario.links
    geometry = table.geometry if hasattr(table, "geometry") and "geometry" in table else None
    if geometry is not None and geometry.notna().all() and len(links):
        lines = geometry.to_numpy()[links]
        lat0 = np.radians(float(np.mean(shapely.get_y(shapely.centroid(lines)))))
        scale = np.array([np.cos(lat0), 1.0]) * np.radians(1.0) * EARTH_RADIUS_M
        end = shapely.get_coordinates(shapely.get_point(lines, -1)) * scale
        back_deg = BEARING_BACK_M / (np.radians(1.0) * EARTH_RADIUS_M)
        length_deg = shapely.length(lines)
        before = shapely.line_interpolate_point(lines, np.maximum(length_deg - back_deg, 0.0))
        start = shapely.get_coordinates(before) * scale
    else:
        nodes = scenario.nodes
        xy = np.column_stack([nodes["x_m"].to_numpy(float), nodes["y_m"].to_numpy(float)])
        start = xy[table["from_node"].to_numpy()[links]]
        end = xy[table["to_node"].to_numpy()[links]]
    dx, dy = (end - start).T
    return np.degrees(np.arctan2(dx, dy)) % 360.0


def signal_plan(engine: Engine, node_id: Any) -> dict[str, Any]:
    """The junction's current plan (cycle, offset, intergreen, greens and minimum greens, s)."""
    return engine.state.plans.plan_of(_node(engine, node_id))


def signal_plans(engine: Engine) -> list[dict[str, Any]]:
    """Every signalised junction's current plan."""
    return [engine.state.plans.plan_of(int(n)) for n in engine.state.plans.node_ids]


def suggested_plan(engine: Engine, node_id: Any) -> dict[str, Any]:
    """Webster's plan for the junction from the current flows (not applied)."""
    plan = whatif.suggest_plan(engine, _node(engine, node_id))
    return {
        "node_id": plan.node_id,
        "cycle_s": plan.cycle_s,
        "greens_s": list(plan.greens_s),
        "offset_s": plan.offset_s,
    }


def signal_what_if(engine_copy: Engine, action: SetSignalPlan) -> dict[str, Any]:
    """A candidate plan's predicted effect as plain data, run on :func:`forecast_copy` outside
    the loop thread (a minute or so of simulation): per forecast mark the network ``totals``
    (current, candidate, difference), per road the change in delayed vehicles averaged over the
    marks (``delta_delay_veh``, candidate minus current) and the added delay (veh·h) at the last
    mark (``added_delay_vehh``). A refused candidate raises :class:`ActionError` first."""
    marks = whatif.what_if(engine_copy, [action])["marks"]
    delta = np.mean([mark["links"]["delay_rate_veh"] for mark in marks.values()], axis=0)
    return {
        "marks": {key: {"totals": mark["totals"]} for key, mark in marks.items()},
        "delta_delay_veh": [float(v) for v in delta],
        "added_delay_vehh": float(marks[max(marks)]["totals"]["difference"]["delay_vehh"]),
    }


def checkpoint_detail(engine: Engine, index: Any) -> dict[str, Any]:
    """The checkpoint table, the selected checkpoint's wait history and predicted waits (s),
    ``next_step``: the lane change toward its recommended lanes (:func:`next_lane_step`), and
    the ``target_wait_s`` the statuses and advice use."""
    index = _checkpoint(engine, index)
    rows = checkpoint_rows(engine)
    state = engine.state.extras[pedestrians.KEY].checkpoints
    return {
        "rows": rows,
        "history": checkpoints.history(state),
        "predicted": np.asarray(rows[index]["predicted_wait_s"]),
        "now_s": engine.time_s,
        "next_step": next_lane_step(rows[index]),
        "target_wait_s": pedestrians.WAIT_TARGET_S,
    }


def lanes(engine: Engine, index: Any, lane_type: Any) -> int:
    """Open lanes of ``lane_type`` (``face`` or ``manual``) at checkpoint ``index``."""
    index = _checkpoint(engine, index)
    if lane_type not in LANE_TYPES:
        raise ActionError(
            f"lane type must be one of {LANE_TYPES}, got {str(lane_type)[:40]!r}",
            code="bad_lane_type",
        )
    state = engine.state.extras[pedestrians.KEY].checkpoints
    return int((state.lanes_face if lane_type == "face" else state.lanes_manual)[index])


def checkpoint_lanes(engine: Engine) -> list[dict[str, Any]]:
    """Every checkpoint's id, name and open lanes by type."""
    layout = getattr(engine, "pedestrians", None)
    if layout is None:
        return []
    state = engine.state.extras[pedestrians.KEY].checkpoints
    return [
        {
            "checkpoint_id": i,
            "name": spec.name,
            "lanes_face": int(state.lanes_face[i]),
            "lanes_manual": int(state.lanes_manual[i]),
        }
        for i, spec in enumerate(layout.specs)
    ]


def lane_preview(engine: Engine, index: Any, lane_type: Any, count: Any) -> dict[str, Any]:
    """Waits at checkpoint ``index`` with ``count`` lanes of ``lane_type`` against the lanes open
    now: the candidate is applied to a forecast copy and both run through the queue model of the
    table's +15/+30 columns (:func:`twin.crowd.pedestrians.checkpoint_table`). Nothing changes.

    Returns ``now`` and ``candidate`` (lanes, waits now/+15/+30 in s, status), ``lane_type``,
    ``lanes_now``, ``lanes_new``, ``target_wait_s`` and ``others``: other checkpoints whose
    +30 min wait moves by a minute or more (a gate feeds its venues' entrances). A count the
    lane action would refuse raises :class:`ActionError` with the action's message, before
    anything is computed.
    """
    if count is None:
        raise ActionError(
            "count: type the number of lanes as a whole number (the box is empty or holds no number)",
            code="bad_value",
        )
    fork = engine.fork()
    fork.apply(pedestrians.SetLanes(checkpoint_id=index, lane_type=lane_type, count=count))
    before, after = checkpoint_rows(engine), checkpoint_rows(fork)
    key = f"lanes_{lane_type}"
    return {
        "checkpoint_id": int(index),
        "name": before[index]["name"],
        "lane_type": lane_type,
        "lanes_now": before[index][key],
        "lanes_new": after[index][key],
        "now": _waits(before[index]),
        "candidate": _waits(after[index]),
        "target_wait_s": pedestrians.WAIT_TARGET_S,
        "others": [
            {"name": b["name"], "now": _waits(b), "candidate": _waits(a)}
            for b, a in zip(before, after, strict=True)
            if b["checkpoint_id"] != index and abs(a["wait_30_s"] - b["wait_30_s"]) >= 60.0
        ],
    }


def _waits(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "lanes_face": row["lanes_face"],
        "lanes_manual": row["lanes_manual"],
        "wait_now_s": row["wait_now_s"],
        "wait_15_s": row["wait_15_s"],
        "wait_30_s": row["wait_30_s"],
        "status": row["status"],
    }


def next_lane_step(row: dict[str, Any]) -> dict[str, Any] | None:
    """The one lane change that moves checkpoint ``row`` (a :func:`checkpoint_rows` row) toward
    its recommended lanes: ``lane_type``, ``count_now``, ``count``; ``None`` when the lanes open
    are the recommended ones. When both kinds differ, opening comes first unless it would take
    the open lanes above ``max_lanes`` (then the closing step goes first)."""
    steps = [
        {"lane_type": kind, "count_now": row[f"lanes_{kind}"], "count": row[f"recommended_{kind}"]}
        for kind in LANE_TYPES
        if row[f"recommended_{kind}"] != row[f"lanes_{kind}"]
    ]
    total = row["lanes_face"] + row["lanes_manual"]
    fits = [s for s in steps if total - s["count_now"] + s["count"] <= row["max_lanes"]]
    opening = sorted(fits, key=lambda s: s["count_now"] - s["count"])
    return opening[0] if opening else (steps[0] if steps else None)


def corridor_preview(
    engine: Engine, corridor_id: Any, lat: Any, lon: Any, hospital_id: Any = None
) -> dict[str, Any]:
    """A corridor's plan and both ETAs, from a copy of ``engine`` (the live twin is untouched):
    ``eta_without_s``, ``eta_with_s``, ``time_saved_s``, ``cross_traffic_delay_vehh``,
    ``timeline``, ``now_s``, ``distance_m``, ``links``, ``hospital_id``, ``hospital_name`` and
    ``path_lonlat`` (the route to draw). Bad coordinates or an unknown hospital raise
    :class:`ActionError`. It runs two forecasts until the ambulance arrives (about half a second
    on the bundled day), so like :func:`signal_what_if` it is not in :data:`QUERIES`: the web
    side runs it on :func:`forecast_copy`, outside the loop thread."""
    if (
        isinstance(lat, bool)
        or isinstance(lon, bool)
        or not all(isinstance(v, (int, float)) for v in (lat, lon))
    ):
        raise ActionError(
            f"lat and lon must be numbers, got {str(lat)[:40]!r}, {str(lon)[:40]!r}",
            code="bad_value",
        )
    fork = engine.fork()
    plan = corridor.plan_corridor(
        fork, corridor_id=str(corridor_id), lat=lat, lon=lon, hospital_id=hospital_id
    )
    result = corridor.evaluate(fork, plan)
    return {
        **result,
        "corridor_id": str(corridor_id),
        "now_s": float(fork.time_s),
        "distance_m": float(plan.distance_m),
        "links": len(plan.route),
        "hospital_id": plan.hospital_id,
        "hospital_name": corridor.hospitals(fork)[plan.hospital_id]["name"],
        "path_lonlat": plan.path_lonlat,
    }


def event_day_of(scenario: Any) -> dict[str, Any]:
    """The event day of ``scenario``, plain data for every screen's clock.

    ``date`` (ISO, the scenario's ``date``; ``None`` when it has none), ``last_end_s`` (the last
    session's end, s since midnight), ``gone_s`` (the last session's departure surge is over:
    its end plus the departure curve's length) and ``end_s``: the day is over then. ``end_s`` is
    the scenario's ``end_s`` when set, else the first full hour at least
    :data:`STAND_DOWN_S` after ``gone_s`` (the bundled day: last session ends 22:30, spectators
    gone by 23:45, the day is over at 01:00). Without sessions the day does not end (``None``).
    """
    schedule = getattr(scenario, "schedule", None)
    date = scenario.params.get("date")
    if schedule is None or not len(schedule):
        return {"date": date and str(date), "last_end_s": None, "gone_s": None, "end_s": None}
    last_end_s = float(schedule["end_s"].max())
    curve = DemandParams.from_dict(scenario.params.get("demand", {})).departure_curve_min
    gone_s = last_end_s + 60.0 * float(curve[-1][0])
    end_s = scenario.params.get("end_s")
    if end_s is None:
        end_s = 3600.0 * np.ceil((gone_s + STAND_DOWN_S) / 3600.0)
    return {
        "date": date and str(date),
        "last_end_s": last_end_s,
        "gone_s": gone_s,
        "end_s": float(end_s),
    }


STAND_DOWN_S = 3600.0
"""Margin after the last departure surge before the event day is over (stragglers, the
closing reports)."""


def day_over(day: dict[str, Any], time_s: float, on_site_persons: float) -> bool:
    """Whether the event day ``day`` (:func:`event_day_of`) is over at ``time_s``: its
    ``end_s`` has passed and no spectator is left on site (fewer than one; ``nan``, a scenario
    without venues, counts as none)."""
    end_s = day.get("end_s")
    return (
        end_s is not None
        and time_s >= end_s
        and not (np.isfinite(on_site_persons) and on_site_persons >= 1.0)
    )


def event_day(engine: Engine) -> dict[str, Any]:
    """:func:`event_day_of` the engine's scenario, with the engine's time (s since the day's
    midnight: past 86400 after midnight)."""
    return {**event_day_of(engine.scenario), "time_s": float(engine.time_s)}


def corridors(engine: Engine) -> list[dict[str, Any]]:
    """Ambulance corridors dispatched so far, with their status."""
    return [
        corridor.status(engine, amb)
        for amb in engine.state.extras.get(corridor.EXTRAS_KEY, {}).values()
    ]


def forecast_copy(engine: Engine) -> Engine:
    """An independent copy of the engine for a what-if or a corridor preview (run outside the
    loop; the live twin is untouched)."""
    return engine.fork()


def time_s(engine: Engine) -> float:
    """The engine's simulated time (s since midnight)."""
    return float(engine.time_s)


def api_state(engine: Engine) -> dict[str, Any]:
    """One consistent read for the HTTP API: time (s), plans, checkpoint lanes, corridors."""
    return {
        "time_s": time_s(engine),
        "signal_plans": signal_plans(engine),
        "checkpoint_lanes": checkpoint_lanes(engine),
        "corridors": corridors(engine),
    }


def _link(engine: Engine, link_id: Any) -> int:
    count = len(engine.scenario.links)
    if (
        isinstance(link_id, bool)
        or not isinstance(link_id, (int, np.integer))
        or not 0 <= int(link_id) < count
    ):
        raise ActionError(
            f"road link {str(link_id)[:40]!r} does not exist (this scenario has {count}, "
            f"numbered 0 to {count - 1})",
            code="unknown_link",
        )
    return int(link_id)


def _link_name(links: Any, link: int) -> str:
    """The road's own name, else ``link <id>``."""
    name = str(links["name"].iloc[link]) if "name" in links else ""
    return name if name and name.lower() not in ("none", "nan") else f"link {link}"


def detector_roads(engine: Engine) -> list[dict[str, Any]]:
    """Roads with detectors: ``link_id``, ``name`` and ``detectors`` (ids), by link id."""
    sites = engine.scenario.detectors
    if sites is None or not len(sites):
        return []
    links = sites["link_id"].to_numpy(dtype=np.int64)
    names = sites["detector_id"].astype(str).to_numpy()
    return [
        {
            "link_id": int(link),
            "name": _link_name(engine.scenario.links, int(link)),
            "detectors": names[links == link].tolist(),
        }
        for link in np.unique(links)
    ]


def observed_vs_modelled_link(engine: Engine, link_id: Any) -> dict[str, Any]:
    """Observed against modelled flow (veh/h) and speed (km/h) at each detector of a road link
    over the last hour (:mod:`twin.feeds.observations`): ``link_id``, ``name``, ``now_s``,
    ``window_s`` and ``detectors`` (per detector: ``detector_id``, ``kind``, ``position_m``,
    ``time_s`` and one list per series, ``None`` where not measured). No detector: empty list."""
    link = _link(engine, link_id)
    return {
        "link_id": link,
        "name": _link_name(engine.scenario.links, link),
        "now_s": float(engine.time_s),
        "window_s": observations.WINDOW_S,
        "detectors": observations.link_series(engine, link),
    }


def observed_vs_modelled_checkpoint(engine: Engine, checkpoint_id: Any) -> dict[str, Any]:
    """Observed against modelled served persons per minute and wait (s) at a checkpoint over the
    last hour: ``checkpoint_id``, ``name``, ``now_s``, ``window_s``, ``time_s`` and one list per
    series (:data:`twin.feeds.observations.CHECKPOINT_FIELDS`), plus the lane rates in use
    (persons/min per lane, the observed estimate where there is one)."""
    index = _checkpoint(engine, checkpoint_id)
    layout = engine.pedestrians
    state = engine.state.extras[pedestrians.KEY].checkpoints
    face, manual = checkpoints.lane_rates_pps(layout.specs, state)
    spec = layout.specs[index]
    return {
        "checkpoint_id": index,
        "name": spec.name,
        "now_s": float(engine.time_s),
        "window_s": observations.WINDOW_S,
        "face_rate_ppm": float(face[index] * 60.0),
        "manual_rate_ppm": float(manual[index] * 60.0),
        "face_rate_observed": state.face_rate_pps is not None,
        "spec_face_rate_ppm": float(spec.face_rate_pps * 60.0),
        "spec_manual_rate_ppm": float(spec.manual_rate_pps * 60.0),
        **observations.checkpoint_series(engine, index),
    }


def staffing_proposal(
    engine: Engine,
    *,
    horizon_min: Any = 90,
    slot_min: Any = 5,
    total_staff: Any = None,
    move_s: Any = None,
) -> dict[str, Any]:
    """A staffing plan for every checkpoint over the next ``horizon_min`` minutes
    (:func:`twin.optimise.proposal.propose`): lanes per slot and checkpoint (``timeline``), the
    lane changes in order (``changes``), and the twin's waits under the lanes kept, today's
    advice and the plan (``plans``), each with its peak staff and whether it keeps the staff
    rule. ``total_staff`` defaults to the staff the open lanes need now, ``move_s`` to the walk
    between the two farthest checkpoints. Runs in forks; nothing changes. A bad argument raises
    :class:`ActionError` with the refusal's code (``bad_staff``, ``out_of_range``,
    ``no_checkpoints``) and its message."""
    from twin.optimise import proposal

    try:
        result = proposal.propose(
            engine,
            horizon_min=horizon_min,
            slot_min=slot_min,
            total_staff=total_staff,
            move_s=move_s,
        )
    except proposal.StaffingError as refused:
        raise ActionError(str(refused), code=refused.code) from None
    return result.as_dict()


QUERIES: dict[str, Callable[..., Any]] = {
    fn.__name__: fn
    for fn in (
        hospitals,
        checkpoint_rows,
        junction_detail,
        signal_plan,
        signal_plans,
        suggested_plan,
        checkpoint_detail,
        lanes,
        lane_preview,
        checkpoint_lanes,
        event_day,
        corridors,
        forecast_copy,
        time_s,
        api_state,
        detector_roads,
        observed_vs_modelled_link,
        observed_vs_modelled_checkpoint,
        staffing_proposal,
    )
}
"""The queries :meth:`twin.service.live.LiveTwin.query` runs, by name."""


# ---------------------------------------------------------------- field feeds (issue 20)
def feed_status(engine: Engine, source: Any = None) -> dict[str, Any]:
    """Feed health for operators (:func:`twin.feeds.status.status`): every source's last
    message, newest data, rate, rejected batches by reason and last refusal, and the detectors
    flagged (stuck, silent, inconsistent) with the reason in words; with ``source``, that
    source only (no detectors)."""
    from twin.feeds.status import status

    if source is not None and not isinstance(source, str):
        raise ActionError(f"source must be a name, got {str(source)[:40]!r}", code="bad_value")
    return status(engine, source)


def detector_observed(engine: Engine, detector: Any) -> dict[str, Any]:
    """The last hour of one detector's observed counts per minute (``time_s``, ``count_veh``),
    with its ``detector_id`` and ``link_id``; ``detector`` is its index or its id."""
    from twin.feeds.extension import feed_sites
    from twin.feeds.status import detector_observed as observed

    sites = feed_sites(engine)
    index = sites.index_of.get(detector) if isinstance(detector, str) else detector
    if (
        isinstance(index, bool)
        or not isinstance(index, (int, np.integer))
        or not (0 <= int(index) < sites.n_detectors)
    ):
        raise ActionError(
            f"detector {str(detector)[:40]!r} does not exist ({sites.n_detectors} detectors)",
            code="unknown_detector",
        )
    return observed(engine, int(index))


def checkpoint_observed(engine: Engine, index: Any) -> dict[str, Any]:
    """The last hour of one checkpoint's observed throughput per minute (``time_s``,
    ``served_face``, ``served_manual``)."""
    from twin.feeds.status import checkpoint_observed as observed

    return observed(engine, _checkpoint(engine, index))


def detector_sites(engine: Engine) -> list[dict[str, Any]]:
    """Every detector: ``detector_id``, ``index``, ``link_id``, ``kind``, ``measures``."""
    table = engine.scenario.detectors
    if table is None:
        return []
    return [
        {
            "detector_id": str(row.detector_id),
            "index": i,
            "link_id": int(row.link_id),
            "kind": str(row.kind),
            "measures": str(row.measures),
        }
        for i, row in enumerate(table.itertuples(index=False))
    ]


QUERIES.update(
    {
        fn.__name__: fn
        for fn in (feed_status, detector_observed, checkpoint_observed, detector_sites)
    }
)
