"""The shipped synthetic feed of the bundled day: labelled synthetic, 17:00-23:00 by minute,
every detector and open checkpoint lane type each minute, the failing detector stuck."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.feeds.columns import typed
from twin.feeds.parse import read_file

FOLDER = Path(__file__).resolve().parents[3] / "data" / "seoul_olympic_park"


def test_the_synthetic_day_is_labelled_and_complete():
    raw = read_file(FOLDER / "feeds" / "synthetic_day.ndjson")
    (meta,) = raw.meta
    assert meta["synthetic"] is True and "SYNTHETIC DATA" in meta["description"]
    rows = typed(raw)
    det = rows.detectors
    minutes = np.unique(det.end_s)
    assert minutes[0] == 17 * 3600 + 60 and minutes[-1] == 23 * 3600 and len(minutes) == 360
    ids = np.unique(det.detector_id.astype(str))
    sites = (FOLDER / "detectors.csv").read_text().splitlines()[1:]
    assert len(ids) == len(sites) and len(det.record) == 360 * len(sites)
    assert (det.count_veh >= 0).all() and (det.interval_s == 60).all()
    stuck = det.detector_id.astype(str) == meta["stuck_detector"]
    after = det.count_veh[stuck & (det.end_s >= 19.5 * 3600)]
    before = det.count_veh[stuck & (det.end_s < 19.5 * 3600)]
    assert len(np.unique(after)) == 1 and len(np.unique(before)) > 5
    assert len(rows.counts.record) > 0 and not len(rows.scans.record)
