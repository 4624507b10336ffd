/* VenueTwin deck.gl bridge.
 *
 * Drives the deck.gl bundle that pydeck ships (globals createDeck / updateDeck, served by the
 * app). The deck is created once from the spec the page receives with its layout; geometry rows
 * are kept here in a registry the pydeck JSON converter resolves as "@@#VT.<key>", so later
 * refreshes never re-send or re-convert geometry: a refresh carries per-feature values
 * (base64-packed small integers) that are written into the rows, and updateDeck is called with
 * the layers whose updateTriggers were bumped. Messages that arrive faster than the browser
 * draws (slow software WebGL, background tab) are merged: the wall never stacks updates.
 *
 * Clicks are picked here (deck.pickObject on pointerup of the container) instead of through
 * deck.gl's onClick, which was seen to drop clicks while updates ran in SwiftShader.
 */
(function () {
  'use strict';

  var VT = {};  // data rows by key, resolved by the JSON converter as "@@#VT.<key>"
  var TRIGGERED = ['getColor', 'getWidth', 'getFillColor', 'getLineColor', 'getWeight',
                   'getRadius', 'getText', 'getPosition'];
  var S = {deck: null, spec: null, order: [], layers: {}, dataKey: {}, version: {},
           visible: {}, highlight: null, pending: null, frame: 0, timer: 0, nextAllowed: 0, clickId: null, flyCount: 0,
           applied: 0, view: null, fit: {mode: 'home'}, size: null, relabelTimer: 0, labelZoom: null};
  var NOTE_TEXT = 'Nothing here: click a road, junction, venue or checkpoint';

  function decode(b64, dtype) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return dtype === 'u16' ? new Uint16Array(bytes.buffer) : bytes;
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  function format(value) {
    if (value === undefined || value === null || value === '' ||
        (typeof value === 'number' && !isFinite(value))) return '—';
    if (typeof value === 'number') return value.toLocaleString('en-US');
    return value;
  }

  function rowsKey(id) {
    // where a layer's channel values are written: its own rows, or the rows it is a subset of
    var subset = S.spec.subsets[id];
    return subset ? subset.source : S.dataKey[id];
  }

  function refreshSubset(id) {
    var subset = S.spec.subsets[id];
    if (!subset) return;
    var keep = subset.min !== undefined
      ? function (row) { return row[subset.field] >= subset.min; }
      : function (row) { var colour = row[subset.field]; return colour && colour[3] > 0; };
    VT[S.dataKey[id]] = (VT[subset.source] || []).filter(keep);
    if (subset.offsetPath) offsetPaths(VT[S.dataKey[id]], subset.offsetPath);
    bump(id);
  }

  function initRows(key) {
    // palette fields start at their "normal" entry so accessors never see undefined
    var rows = VT[key] || [];
    S.order.forEach(function (id) {
      if (rowsKey(id) !== key) return;
      (S.spec.channels[id] || []).forEach(function (ch) {
        ch.set.forEach(function (s) {
          if (!s.palette) return;
          for (var i = 0; i < rows.length; i++) if (rows[i][s.field] === undefined) rows[i][s.field] = s.palette[0];
        });
      });
    });
  }

  function applyValues(id, packed) {
    var rows = VT[rowsKey(id)] || [];
    (S.spec.channels[id] || []).forEach(function (ch) {
      if (!(ch.name in packed)) return;
      var values = decode(packed[ch.name], ch.dtype), n = Math.min(values.length, rows.length);
      ch.set.forEach(function (s) {
        var i;
        if (s.palette) for (i = 0; i < n; i++) rows[i][s.field] = s.palette[values[i]] || s.palette[0];
        else if (s.labels) for (i = 0; i < n; i++) rows[i][s.field] = s.labels[values[i]];
        else if (s.digits) for (i = 0; i < n; i++) rows[i][s.field] = +(values[i] * s.scale).toFixed(s.digits);
        else for (i = 0; i < n; i++) rows[i][s.field] = Math.round(values[i] * s.scale);
      });
    });
    bump(id);
    refreshSubset(id);
  }

  function bump(id) {
    S.version[id] = (S.version[id] || 0) + 1;
  }

  function uiScale() {
    // pixel sizes follow the page's rem, so a 4K wall draws roads and labels as a 1080p one does
    var rem = parseFloat(window.getComputedStyle(document.documentElement).fontSize) || 16;
    return Math.max(0.5, rem / 16);
  }

  function layerJson(id) {
    var base = S.layers[id], v = S.version[id] || 0, triggers = {}, scale = S.scale || 1;
    TRIGGERED.forEach(function (name) { triggers[name] = v; });
    var rows = VT[S.dataKey[id]] || [];
    // a layer with nothing to draw is switched off: software WebGL pays for every layer drawn
    var out = Object.assign({}, base, {visible: S.visible[id] !== false && rows.length > 0,
                                       updateTriggers: triggers});
    if (base.widthUnits === 'pixels') out.widthScale = scale;
    if (base.radiusUnits === 'pixels') out.radiusScale = scale;
    if (base.lineWidthUnits === 'pixels' || base.stroked) out.lineWidthScale = scale;
    if (base['@@type'] === 'TextLayer') out.sizeScale = scale;
    // venue names: offsets and visibility written by relabel() in pixels at this scale
    if (base['@@type'] === 'HeatmapLayer') out.radiusPixels = (base.radiusPixels || 30) * scale;
    if (S.highlight && S.highlight.layer === id) {
      out.highlightedObjectIndex = S.highlight.index;
      out.highlightColor = [86, 182, 214, 255];
    } else if (base.pickable) {
      out.highlightedObjectIndex = -1;
    }
    return out;
  }

  function redraw() {
    if (!S.deck) return;
    window.updateDeck({layers: S.order.map(layerJson)}, S.deck);
  }

  function flush() {
    S.frame = 0;
    var msg = S.pending;
    S.pending = null;
    if (!msg || !S.deck) return;
    Object.keys(msg.rows || {}).forEach(function (id) {
      var key = S.dataKey[id] || id;
      VT[key] = msg.rows[id];
      initRows(key);
      S.order.forEach(function (other) {
        if (S.dataKey[other] === key) bump(other);
        if (S.spec.subsets[other] && S.spec.subsets[other].source === key) refreshSubset(other);
      });
      if (S.highlight && S.dataKey[S.highlight.layer] === key) S.highlight = null;
    });
    Object.keys(msg.values || {}).forEach(function (id) { applyValues(id, msg.values[id]); });
    redraw();
    measureDraw();
    S.applied += 1;
  }

  function schedule() {
    // pace updates by the cost of drawing: after a frame that took t ms, leave the main thread
    // free for at least t ms (clicks, Dash) before the next update is drawn
    if (S.frame || S.timer) return;
    var wait = (S.nextAllowed || 0) - performance.now();
    if (wait > 0) {
      S.timer = setTimeout(function () { S.timer = 0; schedule(); }, wait);
      return;
    }
    S.frame = window.requestAnimationFrame(flush);
  }

  function measureDraw() {
    var start = performance.now();
    window.requestAnimationFrame(function () {
      window.requestAnimationFrame(function () {
        var cost = performance.now() - start;
        S.timing.drawMs = cost;
        S.nextAllowed = performance.now() + Math.min(cost, 3000);
      });
    });
  }

  function merge(into, msg) {
    into = into || {rows: {}, values: {}};
    Object.keys(msg.rows || {}).forEach(function (id) {
      into.rows[id] = msg.rows[id];
      delete into.values[id];
    });
    Object.keys(msg.values || {}).forEach(function (id) {
      into.values[id] = Object.assign(into.values[id] || {}, msg.values[id]);
    });
    return into;
  }

  function tooltip(info) {
    if (!info || !info.object || !info.layer) return null;
    var template = S.spec.tooltips[info.layer.id];
    if (!template) return null;
    var object = info.object;
    var html = template.replace(/\{(\w+)\}/g, function (_, field) { return escapeHtml(format(object[field])); });
    // open towards the map's middle, so a tooltip near an edge is never cut off by it
    var size = S.size || [Infinity, Infinity];
    var dx = info.x > size[0] / 2 ? 'calc(-100% - 12px)' : '12px';
    var dy = info.y > size[1] / 2 ? 'calc(-100% - 12px)' : '12px';
    return {html: html, style: {transform: 'translate(' + info.x + 'px, ' + info.y + 'px) translate(' + dx + ', ' + dy + ')'}};
  }

  function pick(container, x, y) {
    var ids = Object.keys(S.spec.click).filter(function (id) { return S.visible[id] !== false; });
    var info = S.deck.pickObject({x: x, y: y, radius: 8, layerIds: ids});
    if (!info || !info.object) return null;
    return {kind: S.spec.click[info.layer.id], layer: info.layer.id, index: info.index,
            id: info.object.i !== undefined ? info.object.i : info.index,
            name: info.object.n || '', coordinate: info.coordinate || null, t: Date.now()};
  }

  function listenClicks(container) {
    var down = null;
    container.addEventListener('pointerdown', function (e) {
      down = {x: e.clientX, y: e.clientY, t: Date.now()};
    });
    container.addEventListener('pointerup', function (e) {
      if (!down || !S.deck) return;
      var moved = Math.hypot(e.clientX - down.x, e.clientY - down.y), held = Date.now() - down.t;
      down = null;
      if (moved > 6 || held > 800) return;  // a drag or a long press, not a click
      var rect = container.getBoundingClientRect();
      var picked = pick(container, e.clientX - rect.left, e.clientY - rect.top);
      if (!picked) {
        container.setAttribute('data-last-pick', 'none');
        noteNothingHere(container, e.clientX - rect.left, e.clientY - rect.top);
        return;
      }
      var subset = S.spec.subsets[picked.layer];
      S.highlight = subset ? {layer: subset.highlight, index: picked.id} : {layer: picked.layer, index: picked.index};
      redraw();
      container.setAttribute('data-last-pick', picked.kind + ':' + picked.id);
      if (window.dash_clientside && window.dash_clientside.set_props && S.clickId) {
        window.dash_clientside.set_props(S.clickId, {data: picked});
      }
    });
  }

  // ---------------------------------------------------------------- map layout (map_labels.js)
  function layout() { return window.vtMapLayout; }

  function freeArea(width, height) {
    /* padding (px) of the part of the map no overlay covers: the layer panel and legend on the
       left, the overview button (and the kiosk clock) on top, the attribution below */
    var margin = 12 * (S.scale || 1), pad = {left: margin, right: margin, top: margin, bottom: margin};
    var wrap = S.container.parentElement, box = S.container.getBoundingClientRect();
    var rectOf = function (selector) {
      var el = wrap && wrap.querySelector(selector), r = el && el.getBoundingClientRect();
      return r && r.width > 0 && r.height > 0 ? r : null;
    };
    var side = rectOf('.map-side');
    if (side) pad.left = Math.max(pad.left, side.right - box.left + margin);
    ['.map-home', '.map-clock'].forEach(function (selector) {
      var r = rectOf(selector);
      if (r) pad.top = Math.max(pad.top, r.bottom - box.top + margin / 2);
    });
    var attribution = rectOf('.attribution');
    if (attribution) pad.bottom = Math.max(pad.bottom, box.bottom - attribution.top + margin / 2);
    if (pad.left + pad.right > width - 200) pad.left = pad.right = margin;  // a narrow map: use it all
    return pad;
  }

  function markerCircles(projector) {
    // every drawn marker as a circle in container pixels (ScatterplotLayers as the spec draws them)
    var scale = S.scale || 1, circles = [];
    S.order.forEach(function (id) {
      var base = S.layers[id];
      if (base['@@type'] !== 'ScatterplotLayer' || S.visible[id] === false || id === 'ambulances') return;
      var field = typeof base.getRadius === 'string' ? base.getRadius.replace('@@=', '') : null;
      var stroke = base.stroked ? (base.lineWidthMinPixels || 1) * scale : 0;
      (VT[S.dataKey[id]] || []).forEach(function (row) {
        var radius = field ? row[field] : base.getRadius;
        radius = base.radiusUnits === 'meters' ? radius / projector.metresPerPx : radius * scale;
        radius = Math.max(radius, base.radiusMinPixels || 0) + stroke / 2;
        var xy = projector.project(row.position);
        circles.push({x: xy[0], y: xy[1], r: radius});
      });
    });
    return circles;
  }

  function placeNames(view, projector, area) {
    // where each venue name goes in this view (null: no room for it)
    var spec = S.spec.labels, rows = VT[spec.rows] || [], scale = S.scale || 1;
    if (S.visible[spec.layer] === false || !rows.length) return [];
    var markers = markerCircles(projector);
    var labels = rows.map(function (row) {
      var radius = Math.max(row[spec.radius] / projector.metresPerPx, spec.radiusMinPx) + scale;  // + half the ring
      return {xy: projector.project(row.position), radius: radius, text: row.n, priority: row[spec.priority] || 0};
    });
    var placed = layout().place(labels, markers, area, {
      sizePx: spec.sizePx * scale, gapPx: spec.gapPx * scale, marginPx: spec.marginPx * scale, font: spec.font
    });
    placed.leaders = placed.map(function (p, k) {
      if (!p || !p.far) return null;
      var line = layout().leader(labels[k], p, spec.gapPx * scale);
      return {s: projector.unproject(line[0]), t: projector.unproject(line[1])};
    }).filter(Boolean);
    return placed;
  }

  function homeView(width, height) {
    // the scenario's bounds and every venue name that fits, inside the free part of the map
    var pad = freeArea(width, height);
    return layout().fitWithLabels(S.spec.bounds, width, height, pad, function (view, projector) {
      return placeNames(view, projector, null);
    });
  }

  function relabel() {
    // lay the venue names out for the current view and draw them
    S.relabelTimer = 0;
    if (!S.deck || !S.view || !S.spec.labels || !layout()) return;
    var width = S.size[0], height = S.size[1], pad = freeArea(width, height);
    var projector = layout().projector(S.view, width, height);
    var area = [pad.left, pad.top, width - pad.right, height - pad.bottom];
    var placed = placeNames(S.view, projector, area), spec = S.spec.labels;
    var rows = VT[spec.rows] || [];
    rows.forEach(function (row, k) {
      var p = placed[k];
      row.lo = p ? p.offset : [0, 0];
      row.lc = p ? spec.colour : [0, 0, 0, 0];
    });
    if (Math.abs((S.labelZoom || 0) - S.view.zoom) > 0.05) {
      S.labelZoom = S.view.zoom;
      Object.keys(S.spec.subsets).forEach(function (id) { if (S.spec.subsets[id].offsetPath) refreshSubset(id); });
    }
    S.container.setAttribute('data-labels-shown', placed.filter(Boolean).length);
    VT[S.dataKey[spec.leaders]] = placed.leaders || [];
    bump(spec.layer);
    bump(spec.leaders);
    redraw();
  }

  function scheduleRelabel(delayMs) {
    if (S.relabelTimer) clearTimeout(S.relabelTimer);
    S.relabelTimer = setTimeout(relabel, delayMs);
  }

  function viewChanged(params) {
    S.view = params.viewState;
    var how = params.interactionState || {};
    if (how.isDragging || how.isPanning || how.isZooming || how.isRotating) S.fit = {mode: 'user'};
    scheduleRelabel(150);
  }

  function setView(view) {
    S.flyCount += 1;
    S.view = Object.assign({}, view, {zoom: view.zoom + S.flyCount * 1e-6});
    window.updateDeck({initialViewState: S.view}, S.deck);
  }

  function refit() {
    /* the map changed size (a side panel opened or closed, the window resized): show again what
       it showed: the overview with every name, or the region the user or an alert chose */
    var box = S.container.getBoundingClientRect();
    if (box.width < 10 || box.height < 10) return;
    var old = S.size;
    S.size = [box.width, box.height];
    if (old && Math.abs(old[0] - box.width) < 1 && Math.abs(old[1] - box.height) < 1) return;
    if (S.fit.mode === 'home') setView(homeView(box.width, box.height));
    else {
      if (!S.fit.region && old) S.fit.region = layout().regionOf(S.view, old[0], old[1]);
      if (S.fit.region) setView(layout().fitBounds(S.fit.region, box.width, box.height, {left: 0, right: 0, top: 0, bottom: 0}));
    }
    S.container.setAttribute('data-fit', S.fit.mode);
    relabel();
  }

  function watchSize(container) {
    if (typeof ResizeObserver !== 'function') return;
    var timer = 0;
    new ResizeObserver(function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(function () { timer = 0; refit(); }, 60);
    }).observe(container);
  }

  function offsetPaths(rows, spec) {
    /* each row's path shifted to the right of its direction of travel by (its two widths / 2 +
       a gap) pixels at the current zoom, in the row's field spec.into (drawn beside the live line) */
    var view = S.view || {latitude: 0, zoom: 14}, scale = S.scale || 1;
    var metresPerPx = 40075016.686 * Math.cos(view.latitude * Math.PI / 180) / (512 * Math.pow(2, view.zoom));
    rows.forEach(function (row) {
      var px = ((row[spec.besideWidth] || 0) + (row[spec.ownWidth] || 0)) / 2 + spec.gapPx;
      row[spec.into] = shiftRight(row.path, px * scale * metresPerPx, spec.gapPx * scale * metresPerPx);
    });
  }

  function shiftRight(path, metres, toleranceM) {
    /* a parallel line metres to the right: mitred joints; on the outer side of a bend the mitre
       is capped at twice the distance, on the inner side a vertex whose mitre would reach past
       its segments (a hairpin) is left out */
    if (!path || path.length < 2) return path;
    var lat0 = path[0][1] * Math.PI / 180, kx = 111320 * Math.cos(lat0), ky = 110540;
    // wiggles smaller than the gap would zigzag: the line stays within the gap of the road
    path = simplify(path, kx, ky, toleranceM);
    var segments = [];
    for (var i = 0; i + 1 < path.length; i++) {
      var dx = (path[i + 1][0] - path[i][0]) * kx, dy = (path[i + 1][1] - path[i][1]) * ky;
      var len = Math.hypot(dx, dy) || 1e-9;
      segments.push({tx: dx / len, ty: dy / len, nx: dy / len, ny: -dx / len, len: len});
    }
    var out = [];
    path.forEach(function (point, k) {
      var a = segments[Math.max(0, k - 1)], b = segments[Math.min(segments.length - 1, k)];
      var nx = a.nx + b.nx, ny = a.ny + b.ny, len = Math.hypot(nx, ny) || 1;
      nx /= len; ny /= len;
      var cos = Math.max(nx * a.nx + ny * a.ny, 1e-3), mitre = 1 / cos;
      var inner = a.tx * b.ty - a.ty * b.tx < 0;  // a right turn: the offset side is inside
      if (inner && k > 0 && k < path.length - 1) {
        var reach = metres * Math.sqrt(Math.max(mitre * mitre - 1, 0));
        if (reach > Math.min(a.len, b.len)) return;  // a hairpin: no room inside
      } else {
        mitre = Math.min(mitre, 2);
      }
      out.push([point[0] + nx * metres * mitre / kx, point[1] + ny * metres * mitre / ky]);
    });
    return out.length >= 2 ? out : path;
  }

  function simplify(path, kx, ky, toleranceM) {
    // Douglas-Peucker in metres: the vertices that keep the path within toleranceM of itself
    var keep = path.map(function () { return false; }), stack = [[0, path.length - 1]];
    keep[0] = keep[path.length - 1] = true;
    while (stack.length) {
      var span = stack.pop(), a = path[span[0]], b = path[span[1]], worst = -1, far = toleranceM;
      var ux = (b[0] - a[0]) * kx, uy = (b[1] - a[1]) * ky, len = Math.hypot(ux, uy) || 1e-9;
      for (var i = span[0] + 1; i < span[1]; i++) {
        var px = (path[i][0] - a[0]) * kx, py = (path[i][1] - a[1]) * ky;
        var t = Math.max(0, Math.min(1, (px * ux + py * uy) / (len * len)));
        var d = Math.hypot(px - t * ux, py - t * uy);
        if (d > far) { far = d; worst = i; }
      }
      if (worst > 0) { keep[worst] = true; stack.push([span[0], worst], [worst, span[1]]); }
    }
    return path.filter(function (_, i) { return keep[i]; });
  }

  function noteNothingHere(container, x, y) {
    // a click on empty ground says what can be clicked (a note by the click that fades)
    var wrap = container.parentElement, note = wrap.querySelector('.map-note');
    if (!note) {
      note = document.createElement('div');
      note.className = 'map-note';
      note.setAttribute('role', 'status');
      wrap.appendChild(note);
    }
    note.textContent = NOTE_TEXT;
    var box = container.getBoundingClientRect(), width = note.offsetWidth || 300;
    note.style.left = Math.max(8, Math.min(x + 12, box.width - width - 8)) + 'px';
    note.style.top = Math.max(8, y + 14) + 'px';
    note.classList.remove('fading');
    void note.offsetWidth;  // restart the fade
    note.classList.add('shown', 'fading');
    clearTimeout(note.hideTimer);
    note.hideTimer = setTimeout(function () { note.classList.remove('shown', 'fading'); }, 3000);
  }

  function init(containerId, spec, clickId) {
    if (S.deck || !spec) return true;
    var container = document.getElementById(containerId);
    if (!container || typeof window.createDeck !== 'function') return false;
    S.spec = spec;
    S.clickId = clickId;
    S.container = container;  // for the home view
    S.timing = {init: performance.now()};
    S.scale = uiScale();
    window.addEventListener('resize', function () {
      var scale = uiScale();
      if (scale !== S.scale) { S.scale = scale; redraw(); }
    });
    Object.keys(spec.data).forEach(function (key) { VT[key] = spec.data[key]; });
    var json = spec.deck, box = container.getBoundingClientRect();
    S.order = json.layers.map(function (layer) { return layer.id; });
    json.layers.forEach(function (layer) {
      S.layers[layer.id] = layer;
      var ref = String(layer.data || '');
      S.dataKey[layer.id] = ref.indexOf('@@#VT.') === 0 ? ref.slice(6) : layer.id;
      S.visible[layer.id] = layer.visible !== false;
    });
    Object.keys(VT).forEach(initRows);
    if (spec.bounds && box.width > 0 && box.height > 0 && layout()) {
      json = Object.assign({}, json, {initialViewState: homeView(box.width, box.height)});
    }
    S.deck = window.createDeck({
      container: container,
      jsonInput: Object.assign({}, json, {layers: S.order.map(layerJson)}),
      configuration: {enumerations: {VT: VT}},
      showError: false,
    });
    S.view = json.initialViewState;
    S.size = [box.width, box.height];
    S.deck.setProps({getTooltip: tooltip, onViewStateChange: viewChanged});
    listenClicks(container);
    watchSize(container);
    relabel();
    S.timing.created = performance.now();
    container.setAttribute('data-deck-ready', '1');
    schedule();
    return true;
  }

  window.vtDeck = {
    init: function (containerId, spec, clickId) {
      if (init(containerId, spec, clickId)) return;
      var tries = 0, timer = setInterval(function () {
        if (init(containerId, spec, clickId) || ++tries > 200) clearInterval(timer);
      }, 50);
    },
    update: function (msg) {
      if (!msg) return;
      S.pending = merge(S.pending, msg);
      if (S.deck) schedule();
      else setTimeout(function () { if (S.deck) schedule(); }, 200);
    },
    setToggles: function (toggles) {
      if (!S.spec) return false;
      var on = {};
      (toggles || []).forEach(function (t) { (S.spec.toggles[t] || []).forEach(function (id) { on[id] = true; }); });
      Object.keys(S.spec.toggles).forEach(function (t) {
        S.spec.toggles[t].forEach(function (id) { S.visible[id] = !!on[id]; });
      });
      redraw();
      scheduleRelabel(0);  // names make room for the markers now shown (or take the room freed)
      return true;
    },
    select: function (selection) {
      if (!selection) { S.highlight = null; redraw(); }
    },
    flyTo: function (target) {
      if (!S.deck || !target || !isFinite(target.longitude) || !isFinite(target.latitude)) return;
      S.flyCount += 1;
      var to = {longitude: target.longitude, latitude: target.latitude, zoom: target.zoom || 16};
      S.fit = {mode: 'target', region: layout().regionOf(to, S.size[0], S.size[1])};
      window.updateDeck({initialViewState: {
        longitude: target.longitude, latitude: target.latitude,
        zoom: (target.zoom || 16) + S.flyCount * 1e-6, pitch: 0, bearing: 0,
        transitionDuration: 1200, transitionInterpolator: {'@@type': 'FlyToInterpolator'}
      }}, S.deck);
    },
    home: function () {
      // back to the overview: the scenario's bounds fitted to the map as it is now (the side
      // column may have changed its width since the first fit)
      if (!S.deck || !S.spec || !S.spec.bounds || !S.container) return;
      var box = S.container.getBoundingClientRect();
      S.flyCount += 1;
      S.fit = {mode: 'home'};
      var view = homeView(box.width, box.height);
      window.updateDeck({initialViewState: Object.assign(view, {
        zoom: view.zoom + S.flyCount * 1e-6, transitionDuration: 1000,
        transitionInterpolator: {'@@type': 'FlyToInterpolator'}
      })}, S.deck);
    },
    stats: function () {
      return {applied: S.applied, ready: !!S.deck, version: Object.assign({}, S.version), timing: S.timing,
              metrics: S.deck ? Object.assign({}, S.deck.metrics) : null,
              fit: S.fit && S.fit.mode, size: S.size, zoom: S.view ? S.view.zoom : null};
    },
    rows: function (key) { return VT[key]; },
    deck: function () { return S.deck; },  // for tests: deck.gl's own viewport and layers
    freeArea: function () { return S.container ? freeArea(S.size[0], S.size[1]) : null; },
    pickAt: function (x, y) { return S.deck ? pick(null, x, y) : null; },
    project: function (lonLat) {
      // pixel position of [lon, lat] in the map container (for tests and overlays)
      if (!S.deck) return null;
      var viewport = S.deck.getViewports()[0];
      return viewport ? viewport.project(lonLat) : null;
    }
  };

  // Dash clientside callbacks (namespace "vt"): thin adapters onto the bridge.
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.vt = {
      init: function (spec, mapId, clickId) {
        window.vtDeck.init(mapId, spec, clickId);
        return window.dash_clientside.no_update;
      },
      update: function (msg) {
        window.vtDeck.update(msg);
        return window.dash_clientside.no_update;
      },
      toggles: function (toggles) {
        var apply = function () { return window.vtDeck.setToggles(toggles); };
        if (!apply()) { var timer = setInterval(function () { if (apply()) clearInterval(timer); }, 100); }
        return window.dash_clientside.no_update;
      },
      fly: function (target) {
        window.vtDeck.flyTo(target);
        return window.dash_clientside.no_update;
      },
      home: function (clicks) {
        if (clicks) window.vtDeck.home();
        return window.dash_clientside.no_update;
      },
      select: function (selection) {
        window.vtDeck.select(selection);
        return window.dash_clientside.no_update;
      },
      kiosk: function (search) {
        var kiosk = /(^|[?&])kiosk=(1|true|yes)(&|$)/.test(search || '');
        document.documentElement.classList.toggle('vt-kiosk', kiosk);
        return kiosk ? 'wall kiosk' : 'wall';
      }
  };
})();
