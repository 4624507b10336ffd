"""The executive summary's refresh: the latest frame's figures from
:func:`twin.service.summary.executive_summary` (the only source of its numbers), redrawn when the twin
publishes a new frame, the normal-day baseline becomes ready or the reader picks another trend
span. Read-only: every role.

Trends: "last hour" draws the frame's KPI history (``Frame.history``: one hour, one sample per
simulated minute). "Day so far" draws the day's recording (``Recording.samples()``: the same
KPIs every simulated minute since the day began), read from the live recorder's file; without a
recording (recording off, or a reader that is not the engine process) it falls back to the last
hour and says so.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.services import services
from layouts import ids
from layouts.clock import day_clock
from layouts.summary import summary_body
from twin.service.queries import day_over, event_day_of
from twin.service.recorder import Recording, RecordingError
from twin.service.summary import executive_summary

if TYPE_CHECKING:
    from callbacks.services import Services

log = logging.getLogger(__name__)
NO_RECORDING = "the day so far needs the day's recording, and recording is off"


def alert_counts(alerts) -> dict[str, int]:
    """Open alerts by severity (a folded flood group counts each of its members)."""
    counts: Counter[str] = Counter()
    for alert in alerts:
        counts[alert["severity"]] += int(alert.get("count", 1))
    return dict(counts)


class DaySamples:
    """The live day's per-minute KPI samples, read from its recording file (opened once per
    file and kept open read-only; the recorder's writer thread keeps appending to it)."""

    def __init__(self, svc: Services) -> None:
        self._svc = svc
        self._lock = threading.Lock()
        self._recording: Recording | None = None

    def _path(self) -> Path | None:
        recorder = getattr(self._svc.live, "recorder", None)
        return None if recorder is None else Path(recorder.path)

    def read(self) -> dict[str, Any] | None:
        """``time_s`` and one array per KPI, or ``None`` without a readable recording."""
        path = self._path()
        if path is None:
            return None
        with self._lock:
            if self._recording is None or self._recording.path != path:
                if self._recording is not None:
                    self._recording.close()
                try:
                    self._recording = Recording.open(path)
                except RecordingError as error:
                    log.warning(
                        "summary: cannot read the day's recording for the trends (%s)", error
                    )
                    self._recording = None
                    return None
            try:
                samples = self._recording.samples()
            except RecordingError as error:
                log.warning("summary: reading the day's samples failed (%s)", error)
                return None
        return samples if len(samples["time_s"]) else None


def as_of(day: dict[str, Any], time_s: float, on_site_persons: float) -> str:
    """The page's "as of" line: ``Situation at Sat 21 Nov · 18:40 (event time)``, or once the
    event day is over (:func:`twin.service.queries.day_over`) ``Event day over (Sat 21 Nov ·
    ended 01:00): final figures``."""
    if day_over(day, time_s, on_site_persons):
        return f"Event day over ({day_clock(day, time_s, over=True)}): final figures"
    return f"Situation at {day_clock(day, time_s)} (event time)"


def _trends_source(day: DaySamples, frame: Any, span: str) -> tuple[Any, str, str]:
    """The KPI series the trends draw, the span they cover and a note: the day's recording
    for "day", the frame's last hour otherwise or when there is no recording (said in the note)."""
    if span != "day":
        return frame.history, span, ""
    samples = day.read()
    return (frame.history, "hour", NO_RECORDING) if samples is None else (samples, "day", "")


def register_callbacks(app) -> None:
    svc = services(app)
    day = DaySamples(svc)
    event_day = event_day_of(svc.scenario) if svc.scenario is not None else {"end_s": None}

    @app.callback(
        Output(ids.SUMMARY_BODY, "children"),
        Output(ids.SUMMARY_SEQ, "data"),
        Input(ids.SUMMARY_TICK, "n_intervals"),
        Input(ids.SUMMARY_SPAN, "value"),
        State(ids.SUMMARY_SEQ, "data"),
    )
    def refresh_summary(_tick, span, shown):
        frame = svc.store.latest()
        baseline = svc.normal_day
        normal = baseline.value if baseline is not None else None
        ready = baseline is None or baseline.done
        span = "day" if span == "day" else "hour"
        key = [frame.seq if frame is not None else -1, ready, span]
        if key == shown:
            raise PreventUpdate
        if frame is None or svc.scenario is None:
            return summary_body(None, {}, normal_ready=ready), key
        figures = executive_summary(
            svc.scenario, frame.view, normal=normal, alert_counts=alert_counts(frame.alerts)
        )
        history, span, note = _trends_source(day, frame, span)
        line = as_of(event_day, frame.view.time_s, frame.kpis.get("spectators_on_site", 0.0))
        body = summary_body(
            figures,
            history,
            normal_ready=ready,
            span=span,
            note=note,
            current=frame.kpis,
            as_of=line,
        )
        return body, key

    app.clientside_callback(
        "function (n) { if (n) { window.print(); } return ''; }",
        Output(ids.SUMMARY_PRINTED, "children"),
        Input(ids.SUMMARY_PRINT, "n_clicks"),
        prevent_initial_call=True,
    )
