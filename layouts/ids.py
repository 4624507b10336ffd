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

# pages (app.create_app's router) and the header's user slot
PAGE_URL = "page-url"  # dcc.Location of the router (the wall keeps its own LOCATION for kiosk)
PAGE = "page"  # the page container the router fills
REDIRECT = "page-redirect"  # dcc.Location the router returns to send a user home

# executive summary (/summary)
SUMMARY_TICK = "summary-tick"  # dcc.Interval
SUMMARY_SEQ = "summary-seq"  # dcc.Store: [frame seq, normal day ready] last shown
SUMMARY_BODY = "summary-body"
SUMMARY_PRINT = "summary-print"
SUMMARY_PRINTED = "summary-printed"  # dummy output of the print button's clientside callback

# operator actions (side-column tabs; layouts/signal_panel.py, corridor_panel.py, checkpoint_panel.py)
SIDE = "wall-side"  # the side column (its class widens it for an action panel)
OPS_TAB = "ops-tab"  # dcc.RadioItems: alerts | signals | corridor | checkpoints
ALERTS_PANE = "ops-alerts-pane"
SIG_PANE = "sig-pane"
SIG_NODE = "sig-node"  # dcc.Dropdown: signalised junction (search by street name)
SIG_PLAN = "sig-plan"  # phase bar and plan text
SIG_APPROACHES = "sig-approaches"
SIG_CYCLE = "sig-cycle"
SIG_OFFSET = "sig-offset"
SIG_GREEN = "sig-green"  # pattern-matching type: {"type": SIG_GREEN, "phase": k}
SIG_SUGGEST = "sig-suggest"
SIG_PREVIEW = "sig-preview"
SIG_APPLY = "sig-apply"
SIG_REVERT = "sig-revert"
SIG_MSG = "sig-msg"  # refusal / acknowledgement next to the buttons
SIG_RESULT = "sig-result"  # preview chart
SIG_SEEN = "sig-seen"  # dcc.Store: the plan the operator loaded (based_on)
SIG_PREVIOUS = "sig-previous"  # dcc.Store: plan before this page's last apply (for Revert)
SIG_EDITOR = "sig-editor"
COR_PANE = "cor-pane"
COR_LAT = "cor-lat"
COR_LON = "cor-lon"
COR_HOSPITAL = "cor-hospital"
COR_PREVIEW = "cor-preview"
COR_DISPATCH = "cor-dispatch"
COR_MSG = "cor-msg"
COR_PLAN = "cor-plan"  # preview result (ETAs, signals)
COR_DRAFT = "cor-draft"  # dcc.Store: previewed corridor (id, lat, lon, hospital, eta_without_s)
COR_LIST = "cor-list"
COR_CANCEL = "cor-cancel"  # pattern-matching type: {"type": COR_CANCEL, "id": corridor_id}
COR_DETAIL = "cor-detail"  # dcc.Dropdown: corridor shown in the space-time chart
COR_SPACETIME = "cor-spacetime"
CP_PANE = "cp-pane"
CP_TABLE = "cp-table"
CP_SELECT = "cp-select"
CP_CHART = "cp-chart"
CP_LANE_TYPE = "cp-lane-type"
CP_COUNT = "cp-count"
CP_APPLY = "cp-apply"
CP_MSG = "cp-msg"
CP_SEEN = "cp-seen"  # dcc.Store: lanes the operator saw
OPS_TICK = "ops-tick"  # dcc.Interval: slower refresh of the action panels
MAP_PREVIEW = "ops-map-preview"  # dcc.Store: bridge message of a preview (what-if colours, route)
