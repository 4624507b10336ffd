"""Component ids of the control room, in one place (layouts and callbacks import them)."""

# page
LOCATION = "url"
ROOT = "wall-root"
HEADER = "wall-header"
CLOCK = "wall-clock"
CLOCK_STATE = "wall-clock-state"
KIOSK_CLOCK = "wall-kiosk-clock"
SCENARIO_NAME = "wall-scenario"

# live loop
TICK = "wall-tick"  # dcc.Interval
FRAME_SEQ = "wall-frame-seq"  # dcc.Store: seq of the last frame this page showed
PAUSE = "wall-pause"
SPEED = "wall-speed"

# map
MAP = "wall-map"  # the deck container (a div the bridge fills)
MAP_SPEC = "wall-map-spec"  # dcc.Store: the full deck spec with geometry (sent once)
MAP_UPDATE = "wall-map-update"  # dcc.Store: per-feature values of changed layers
MAP_DIGESTS = "wall-map-digests"  # dcc.Store: digest per layer the page holds
MAP_CLICK = "wall-map-click"  # dcc.Store: written by the bridge on a click
MAP_FLY = "wall-map-fly"  # dcc.Store: fly-to target, read by the bridge
MAP_APPLIED = "wall-map-applied"  # dcc.Store: written by clientside callbacks (dummy output)
LAYERS = "wall-layers"  # dcc.Checklist of layer toggles
HORIZON = "wall-horizon"  # dcc.RadioItems of the predicted-congestion horizon
HEAT_HORIZON = "wall-heat-horizon"  # dcc.RadioItems crowd heatmap now / +15
LEGEND = "wall-legend"
ATTRIBUTION = "wall-attribution"

# selection and detail
SELECTION = "wall-selection"  # dcc.Store {"kind", "index"}
DETAIL = "wall-detail"
DETAIL_BODY = "wall-detail-body"
DETAIL_CLOSE = "wall-detail-close"

# KPIs and alerts
KPI_STRIP = "wall-kpis"
ALERT_FEED = "wall-alerts"
ALERT_STATS = "wall-alert-stats"
ALERT_DIGEST = "wall-alert-digest"  # dcc.Store: digest of the feed the page shows
ALERT_ITEM = "wall-alert-item"  # pattern-matching type: {"type": ALERT_ITEM, "id": n}
ALERT_ACK = "wall-alert-ack"  # pattern-matching type: {"type": ALERT_ACK, "id": n}
ACK_RESULT = "wall-ack-result"
