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
FRAME_SEQ = "wall-frame-seq"  # dcc.Store: version of the last frame this page showed
PAUSE = "wall-pause"
SPEED = "wall-speed"
PAUSE_CONFIRM = (
    "wall-pause-confirm"  # dcc.ConfirmDialogProvider around PAUSE (admins change the clock)
)
SPEED_CONFIRM = "wall-speed-confirm"  # dcc.ConfirmDialog shown when SPEED changes
CLOCK_MSG = "wall-clock-msg"  # what became of the last clock change
PREVIEW_STATE = (
    "wall-preview-state"  # dcc.Store: {"text": ...} while a what-if or route preview is on the map
)
PREVIEW_BANNER = "wall-preview-banner"  # "Preview: ..." over the map, with its own colour key
PREVIEW_TEXT = "wall-preview-text"
PREVIEW_CLEAR = "wall-preview-clear"  # "End preview"
SIG_PREVIEWED = "sig-previewed"  # dcc.Store: the plan last previewed and its predicted delay change
SIG_CONFIRM = "sig-confirm"  # dcc.ConfirmDialog: apply a plan the preview showed to be worse?

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
STALE_BANNER = "stale-banner"  # "twin not updating since HH:MM:SS" (assets/stale.js)
REDIRECT = "page-redirect"  # dcc.Location the router returns to send a user home

# executive summary (/summary)
SUMMARY_TICK = "summary-tick"  # dcc.Interval
SUMMARY_SPAN = "summary-span"  # dcc.RadioItems: the trends' time span, "hour" | "day"
SUMMARY_SEQ = "summary-seq"  # dcc.Store: [frame seq, normal day ready] last shown
SUMMARY_BODY = "summary-body"
SUMMARY_PRINT = "summary-print"
SUMMARY_PRINTED = "summary-printed"  # dummy output of the print button's clientside callback

# operator actions (side-column tabs; layouts/signal_panel.py, corridor_panel.py, checkpoint_panel.py)
SIDE = "wall-side"  # the side column (its class widens it for an action panel)
OPS_TAB = "ops-tab"  # dcc.RadioItems: alerts | signals | corridor | checkpoints
VIEW_URL = "map-view-url"  # dcc.Location: the map's horizons and layers in the query string (callbacks/view_url.py)
OPS_URL = (
    "ops-view-url"  # dcc.Location: the wall's side tab, junction and checkpoint in the query string
)
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

# planner's replay (/replay: layouts/replay*.py, callbacks/replay.py, assets/replay.js)
RP_ROOT = "rp-root"
RP_URL = "rp-url"  # dcc.Location of the page: ?day=ID&t=HH:MM (the router keeps PAGE_URL)
RP_DAYDATA = (
    "rp-daydata"  # dcc.Store: the open day's id, date, range and start time (read by replay.js)
)
RP_SEEK = "rp-seek"  # dcc.Store: a time asked by the URL (Back/Forward) for the open day
RP_TIME = "rp-time"  # dcc.Store {"day", "t"}: the frame the page asks for (written by replay.js)
RP_FRAME_DONE = (
    "rp-frame-done"  # dcc.Store: time of the last frame served (replay.js asks the next)
)
RP_TITLE = "rp-title"
RP_BADGE = "rp-badge"
RP_CLOCK = "rp-clock"  # the large replay time (written by replay.js)
RP_PLAYSTATE = "rp-playstate"
RP_BAR = "rp-bar"  # the playback bar
RP_TRACK = "rp-track"  # the timeline (drag to scrub)
RP_MARKS = "rp-marks"  # operator-action and alert marks on the timeline
RP_TICKS = "rp-ticks"
RP_TIP = "rp-tip"  # hover text of a mark
RP_KPIS = "rp-kpis"
RP_MAP = "rp-map"
RP_MAP_SPEC = "rp-map-spec"
RP_MAP_UPDATE = "rp-map-update"
RP_MAP_DIGESTS = "rp-map-digests"
RP_MAP_CLICK = "rp-map-click"
RP_MAP_APPLIED = "rp-map-applied"  # dummy output of the clientside map callbacks
RP_LAYERS = "rp-layers"
RP_MAP_MODE = (
    "rp-map-mode"  # RadioItems: the day's traffic, or the difference in delay against the original
)
RP_MAP_MODE_BOX = "rp-map-mode-box"
RP_ALERTS = "rp-alerts"
RP_ALERT_DIGEST = "rp-alert-digest"
RP_ALERT_HEAD = "rp-alert-head"
RP_CHARTS = "rp-charts"  # dcc.Graph: the day's KPIs with the replay cursor
RP_TAB = "rp-tab"  # RadioItems: days | log | alerts | fork | compare
RP_PANE = "rp-pane"  # pattern-matching type: {"type": RP_PANE, "tab": name}
RP_DAYS = "rp-days"
RP_LOG_KIND = "rp-log-kind"
RP_LOG_USER = "rp-log-user"
RP_LOG = "rp-log"
RP_FORK_AT = "rp-fork-at"  # the fork minute shown (written by replay.js)
RP_FORK_TYPE = "rp-fork-type"
RP_FORK_FORM = "rp-fork-form"  # pattern-matching type: {"type": RP_FORK_FORM, "kind": type}
RP_FK_NODE = "rp-fk-node"
RP_FK_PLAN = "rp-fk-plan"
RP_FK_CYCLE = "rp-fk-cycle"
RP_FK_GREENS = "rp-fk-greens"
RP_FK_OFFSET = "rp-fk-offset"
RP_FK_CHECKPOINT = "rp-fk-checkpoint"
RP_FK_LANES_NOW = "rp-fk-lanes-now"
RP_FK_LANE_TYPE = "rp-fk-lane-type"
RP_FK_COUNT = "rp-fk-count"
RP_FK_LAT = "rp-fk-lat"
RP_FK_LON = "rp-fk-lon"
RP_FK_HOSPITAL = "rp-fk-hospital"
RP_FK_ACTION = "rp-fk-action"  # Dropdown: a recorded action after the fork minute (drop / move)
RP_FK_OP = "rp-fk-op"  # RadioItems: drop or move the chosen recorded action
RP_FK_MOVE_TO = "rp-fk-move-to"
RP_FORK_ADD = "rp-fork-add"
RP_FORK_CHANGES = "rp-fork-changes"  # dcc.Store: the changes added so far
RP_FORK_LIST = "rp-fork-list"
RP_FORK_REMOVE = "rp-fork-remove"  # pattern-matching type: {"type": RP_FORK_REMOVE, "index": n}
RP_FORK_NAME = "rp-fork-name"
RP_FORK_UNTIL = "rp-fork-until"
RP_FORK_RUN = "rp-fork-run"
RP_FORK_MSG = "rp-fork-msg"
RP_JOBS = "rp-jobs"  # dcc.Store: ids of this page's fork jobs
RP_JOB_TICK = "rp-job-tick"  # dcc.Interval: progress while a fork runs
RP_JOB_LIST = "rp-job-list"
RP_COMPARE = "rp-compare"

# alert workflow (acknowledge feedback, shelving, the critical strip, the map's home view)
ALERT_NOTE = "alert-note"  # pattern-matching type: what became of an entry's last acknowledge click
ALERT_SHELVE = "alert-shelve"  # pattern-matching type: an entry's Shelve button
SHELVE_FORM = "alert-shelve-form"
SHELVE_TITLE = "alert-shelve-title"
SHELVE_REASON = "alert-shelve-reason"  # RadioItems: why (a stock reason or Other)
SHELVE_NOTE = "alert-shelve-note"  # Input: the operator's words
SHELVE_MINUTES = "alert-shelve-minutes"  # RadioItems: for how long
SHELVE_CONFIRM = "alert-shelve-confirm"
SHELVE_CANCEL = "alert-shelve-cancel"
SHELVE_TARGET = "alert-shelve-target"  # dcc.Store: the alert the form shelves
SHELVE_MSG = "alert-shelve-msg"  # what became of the last shelve or unshelve
SHELF = "alert-shelf"  # the shelved section
SHELF_DIGEST = "alert-shelf-digest"  # dcc.Store: identity of what the shelf shows
SHELF_UNSHELVE = "alert-unshelve"  # pattern-matching type: a shelved entry's Unshelve button
CRIT_STRIP = "alert-crit-strip"  # new critical alerts, shown whatever side tab is open
CRIT_DIGEST = "alert-crit-digest"
CRIT_ITEM = "alert-crit-item"  # pattern-matching type: an entry of the critical strip
ALERT_JS_APPLIED = "alert-js-applied"  # dummy output of the alerts' clientside callbacks
MAP_HOME = "wall-map-home"  # the map's home-view button
CP_PREVIEW = "cp-preview"  # predicted waits with the lane count typed, against now
CP_REC = "cp-rec"  # the selected checkpoint's recommended lanes, in words
CP_REC_APPLY = "cp-rec-apply"  # fills the lane control with the recommendation (then preview)
CP_REC_DATA = "cp-rec-data"  # dcc.Store: the recommended step {lane_type, count}
DAY_OVER = "wall-day-over"  # the "event day over" banner on the wall
SIG_FORM = "sig-form"  # the signal editor (greens, cycle, offset, buttons): shown once a junction is chosen
SIG_PROMPT = "sig-prompt"  # "Pick a junction ..." in place of the editor until one is chosen

# field feeds (layouts/feed_panel.py, callbacks/feeds.py)
FEED_PANE = "feed-pane"  # the side column's Feeds tab
FEED_HEALTH = "feed-health"  # each source's last data, rate, rejected counts; faulty detectors
FEED_SKILL = "feed-skill"  # each traffic forecast horizon's recent error
FEED_ROAD = "feed-road"  # dropdown: a road with detectors
FEED_ROAD_CHART = "feed-road-chart"  # its observed against modelled flow over the last hour
FEED_CP = "feed-cp"  # dropdown: a checkpoint
FEED_CP_CHART = "feed-cp-chart"  # its scans and waits against the twin's over the last hour
LEGEND_SKILL = "wall-legend-skill"  # the congestion legend's +30 min forecast error
CP_SKILL = "cp-skill"  # the checkpoint tab: recent error of the predicted waits
