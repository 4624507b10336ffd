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
           applied: 0};

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
    // per-label pixel offsets (layouts/labels.py, laid out at 1080p) grow with the text
    if (base.getPixelOffset === '@@=lo' && scale !== 1) {
      out.getPixelOffset = '@@=[lo[0] * ' + scale + ', lo[1] * ' + scale + ']';
    }
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
    return {html: html};
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
      if (!picked) return;
      var subset = S.spec.subsets[picked.layer];
      S.highlight = subset ? {layer: subset.highlight, index: picked.id} : {layer: picked.layer, index: picked.index};
      redraw();
      container.setAttribute('data-last-pick', picked.kind + ':' + picked.id);
      if (window.dash_clientside && window.dash_clientside.set_props && S.clickId) {
        window.dash_clientside.set_props(S.clickId, {data: picked});
      }
    });
  }

  function fitBounds(bounds, width, height, margin) {
    // centre and zoom that show [west, south, east, north] in the container (deck.gl: 512 px world)
    var mercY = function (lat) { return Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)); };
    var w = Math.max(width - 2 * margin, 100), h = Math.max(height - 2 * margin, 100);
    var zoom = Math.min(Math.log2(w * 360 / (512 * Math.max(bounds[2] - bounds[0], 1e-6))),
                        Math.log2(h * 2 * Math.PI / (512 * Math.max(mercY(bounds[3]) - mercY(bounds[1]), 1e-9))));
    return {longitude: (bounds[0] + bounds[2]) / 2, latitude: (bounds[1] + bounds[3]) / 2,
            zoom: Math.round(zoom * 100) / 100, pitch: 0, bearing: 0};
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
    if (spec.bounds && box.width > 0 && box.height > 0) {
      json = Object.assign({}, json, {initialViewState: fitBounds(spec.bounds, box.width, box.height, 24)});
    }
    S.order = json.layers.map(function (layer) { return layer.id; });
    json.layers.forEach(function (layer) {
      S.layers[layer.id] = layer;
      var ref = String(layer.data || '');
      S.dataKey[layer.id] = ref.indexOf('@@#VT.') === 0 ? ref.slice(6) : layer.id;
      S.visible[layer.id] = layer.visible !== false;
    });
    Object.keys(VT).forEach(initRows);
    S.deck = window.createDeck({
      container: container,
      jsonInput: Object.assign({}, json, {layers: S.order.map(layerJson)}),
      configuration: {enumerations: {VT: VT}},
      showError: false,
    });
    S.deck.setProps({getTooltip: tooltip});
    listenClicks(container);
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
      return true;
    },
    select: function (selection) {
      if (!selection) { S.highlight = null; redraw(); }
    },
    flyTo: function (target) {
      if (!S.deck || !target || !isFinite(target.longitude) || !isFinite(target.latitude)) return;
      S.flyCount += 1;
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
      var view = fitBounds(S.spec.bounds, box.width, box.height, 24);
      window.updateDeck({initialViewState: Object.assign(view, {
        zoom: view.zoom + S.flyCount * 1e-6, transitionDuration: 1000,
        transitionInterpolator: {'@@type': 'FlyToInterpolator'}
      })}, S.deck);
    },
    stats: function () {
      return {applied: S.applied, ready: !!S.deck, version: Object.assign({}, S.version), timing: S.timing,
              metrics: S.deck ? Object.assign({}, S.deck.metrics) : null};
    },
    rows: function (key) { return VT[key]; },
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
