"""Site traffic detectors on a scenario's network the way a traffic centre installs them.

Two kinds of site, both common in urban traffic control (a SCATS/SCOOT-style installation and a
city's permanent counting programme):

- **stop-line loops** (``stop_line``): one inductive loop per signalised approach, just upstream
  of the stop line (:data:`STOP_LINE_SETBACK_M`), across all its lanes; it measures counts and
  occupancy (a loop's time-occupied share).
- **counting stations** (``counting_station``) on the gateway roads, the links that enter or
  leave the modelled area at a boundary gateway: a dual-loop or radar station mid-link, which
  measures counts and mean speed.

Ordinary links get no detector: most of a real network is unobserved, and assimilation must
work from the few roads that are.

``python -m twin.io.detectors data/seoul_olympic_park`` writes ``detectors.csv`` into the folder
(the bundled file was made so); the format is in ``docs/scenario-format.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from twin.errors import ScenarioError

__all__ = [
    "DETECTOR_COLUMNS",
    "DETECTOR_KINDS",
    "MEASURES",
    "site_detectors",
    "write_detectors",
]

DETECTOR_COLUMNS = ("detector_id", "link_id", "position_m", "lanes", "measures", "kind")
"""The columns of ``detectors.csv``, in file order (all required)."""
DETECTOR_KINDS = ("stop_line", "counting_station")
MEASURES = ("count", "count+occupancy", "count+speed")
"""What a detector reports besides the vehicle count."""
STOP_LINE_SETBACK_M = 5.0
"""A stop-line loop sits this far upstream of the stop line (the link's end)."""


def site_detectors(
    links: pd.DataFrame, movements: pd.DataFrame, signals: pd.DataFrame, zones: pd.DataFrame
) -> pd.DataFrame:
    """Detector sites for a network: stop-line loops then counting stations, ids ascending.

    Parameters
    ----------
    links, movements, signals, zones
        The scenario's tables (:mod:`twin.scenario`): a signalised approach is a link that
        feeds a movement with a phase (``phase >= 0``) at a node of ``signals``; a gateway road
        is a link that starts or ends at a ``gateway`` zone's node.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DETECTOR_COLUMNS`; ``position_m`` in metres from the link's start.
    """
    length_m = links.set_index("link_id")["length_m"].astype(float)
    lanes = links.set_index("link_id")["lanes"].astype(int)
    signalised = set(signals["node_id"].astype(int))
    phased = movements[(movements["phase"] >= 0) & movements["node_id"].isin(signalised)]
    approach = np.unique(phased["from_link"].to_numpy(dtype=int))
    gateway_nodes = zones.loc[zones["kind"] == "gateway", "node_id"].astype(int)
    on_gateway = links["from_node"].isin(gateway_nodes) | links["to_node"].isin(gateway_nodes)
    gateway_links = np.unique(links.loc[on_gateway, "link_id"].to_numpy(dtype=int))

    stop = pd.DataFrame(
        {
            "detector_id": [f"SL-{int(i):04d}" for i in approach],
            "link_id": approach,
            "position_m": np.maximum(length_m[approach].to_numpy() - STOP_LINE_SETBACK_M, 0.0),
            "lanes": lanes[approach].to_numpy(),
            "measures": "count+occupancy",
            "kind": "stop_line",
        }
    )
    station = pd.DataFrame(
        {
            "detector_id": [f"CS-{int(i):04d}" for i in gateway_links],
            "link_id": gateway_links,
            "position_m": length_m[gateway_links].to_numpy() / 2.0,
            "lanes": lanes[gateway_links].to_numpy(),
            "measures": "count+speed",
            "kind": "counting_station",
        }
    )
    table = pd.concat([stop, station], ignore_index=True)
    table["position_m"] = table["position_m"].round(1)
    return table[list(DETECTOR_COLUMNS)]


def write_detectors(folder: str | Path) -> Path:
    """Site the detectors of the scenario in ``folder`` and write ``folder/detectors.csv``."""
    from twin.scenario import load

    folder = Path(folder)
    scenario = load(folder)
    table = site_detectors(scenario.links, scenario.movements, scenario.signals, scenario.zones)
    path = folder / "detectors.csv"
    table.to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m twin.io.detectors",
        description="Write detectors.csv (stop-line loops, gateway counting stations) "
        "into a scenario folder.",
    )
    parser.add_argument("folder", help="scenario folder, e.g. data/seoul_olympic_park")
    args = parser.parse_args(argv)
    try:
        path = write_detectors(args.folder)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    table = pd.read_csv(path)
    counts = table["kind"].value_counts().to_dict()
    print(f"wrote {path}: {len(table)} detectors {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
