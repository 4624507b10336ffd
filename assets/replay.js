/* VenueTwin replay player (the planner's page, /replay).
 *
 * Playback runs here, in the browser: a requestAnimationFrame loop advances the replay time at
 * the chosen speed, the large clock, the timeline cursor and the chart cursors follow every
 * frame, and the server is asked for one map/KPI frame at a time (the RP_TIME store; the next
 * request leaves when the previous answer arrived), so a slow draw never stacks requests and a
 * planner's speed never touches the live twin. The URL follows the replay time
 * (?day=ID&t=HH:MM): seeks push a history entry (Back returns), playback replaces it.
 *
 * Buttons, marks and log entries carry data-rp attributes and are handled here (one listener
 * on the document), never by server callbacks.
 */
(function () {
  'use strict';

  var IDS = {root: 'rp-root', time: 'rp-time', clock: 'rp-clock', state: 'rp-playstate', track: 'rp-track',
             tip: 'rp-tip', charts: 'rp-charts', tab: 'rp-tab', forkAt: 'rp-fork-at', log: 'rp-log'};
  var R = {day: null, date: null, start: 0, end: 0, t: null, playing: false, speed: 60, wall: 0, raf: 0,
           inflight: false, sent: null, sentAt: 0, urlAt: 0, chartAt: 0, chartT: null, seq: null,
           logKey: null, dragging: false, frames: 0};

  function el(id) { return document.getElementById(id); }
  function mounted() { return !!el(IDS.root); }

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function clock(t, seconds) {
    if (t === null || !isFinite(t)) return seconds ? '--:--:--' : '--:--';
    var s = Math.floor(t) % 86400;
    var text = pad(Math.floor(s / 3600)) + ':' + pad(Math.floor(s % 3600 / 60));
    return seconds ? text + ':' + pad(s % 60) : text;
  }
  function parseClock(text) {
    var m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(String(text || '').trim());
    if (!m) return null;
    return +m[1] * 3600 + +m[2] * 60 + (m[3] ? +m[3] : 0);
  }
  function clamp(t) { return Math.min(Math.max(t, R.start), R.end); }
  function quantum() { return R.playing && R.speed <= 10 ? 10 : 60; }
  function quantise(t) { var q = quantum(); return Math.min(R.end, Math.floor(t / q + 1e-9) * q); }

  // ------------------------------------------------------------------ URL
  function search() {
    var t = R.t % 60 ? clock(R.t, true) : clock(R.t, false);
    if (R.t >= 86400) t = Math.floor(R.t / 3600) + t.slice(2);
    return '?day=' + encodeURIComponent(R.day) + '&t=' + t;
  }
  function writeUrl(push) {
    if (!R.day || R.t === null || !mounted()) return;
    var s = search();
    if (window.location.search === s) return;
    var url = window.location.pathname + s;
    if (push) window.history.pushState(window.history.state, '', url);
    else window.history.replaceState(window.history.state, '', url);
    R.urlAt = performance.now();
  }
  function fromUrl() {
    var params = new URLSearchParams(window.location.search);
    return {day: params.get('day'), t: parseClock(params.get('t'))};
  }

  // ------------------------------------------------------------------ frames
  function requestFrame(force) {
    if (!R.day || R.t === null || !window.dash_clientside || !window.dash_clientside.set_props) return;
    var t = quantise(R.t), now = performance.now();
    if (R.inflight && now - R.sentAt < 8000) return;  // one request at a time (8 s: a lost answer)
    if (!force && t === R.sent) return;
    R.inflight = true;
    R.sent = t;
    R.sentAt = now;
    window.dash_clientside.set_props(IDS.time, {data: {day: R.day, t: t}});
  }

  // ------------------------------------------------------------------ drawing
  function chartX(t) {
    var base = R.date ? Date.parse(R.date + 'T00:00:00Z') : Date.UTC(2000, 0, 1);
    return new Date(base + Math.round(t) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  }
  function uiScale() {
    var rem = parseFloat(window.getComputedStyle(document.documentElement).fontSize) || 16;
    return Math.max(0.5, rem / 16);
  }
  function chartDiv() {
    var host = el(IDS.charts);
    return host ? host.querySelector('.js-plotly-plot') : null;
  }
  function drawCharts(force) {
    var gd = chartDiv(), now = performance.now();
    if (!gd || !window.Plotly || !gd._fullLayout || !gd.layout || !gd.layout.shapes) return;
    if (!force && (now - R.chartAt < (R.playing ? 250 : 0) || R.chartT === R.t)) return;
    R.chartAt = now;
    R.chartT = R.t;
    var x = chartX(R.t), update = {};
    gd.layout.shapes.forEach(function (_, i) { update['shapes[' + i + '].x0'] = x; update['shapes[' + i + '].x1'] = x; });
    var scale = uiScale(), size = (gd.layout.font && gd.layout.font.size) || 10;
    if (Math.abs(size - 10 * scale) > 0.01) {  // Plotly sizes text in pixels: follow the page's rem (4K walls)
      update['font.size'] = 10 * scale;
      update['margin.l'] = 34 * scale; update['margin.t'] = 22 * scale; update['margin.b'] = 22 * scale;
      (gd.layout.annotations || []).forEach(function (_, i) { update['annotations[' + i + '].font.size'] = 11 * scale; });
    }
    window.Plotly.relayout(gd, update);
  }
  function drawLog(jump) {
    var log = el(IDS.log);
    if (!log || R.t === null) return;
    if (!log._rpObserved) {  // the log is (re)drawn by the server after a day opens or a filter changes
      log._rpObserved = true;
      new MutationObserver(function () { R.logKey = null; drawLog(true); }).observe(log, {childList: true});
    }
    var minute = Math.floor(R.t / 60), key = minute + ':' + R.seq;
    if (!jump && key === R.logKey) return;
    R.logKey = key;
    var current = null;
    Array.prototype.forEach.call(log.querySelectorAll('.rp-log-entry'), function (entry) {
      var t = +entry.getAttribute('data-t'), seq = entry.getAttribute('data-seq');
      var here = R.seq !== null ? seq === String(R.seq) : Math.floor(t / 60) === minute;
      entry.classList.toggle('current', here);
      entry.classList.toggle('future', t > R.t + 1e-6);
      if (here && !current) current = entry;
    });
    if (current && jump) current.scrollIntoView({block: 'nearest'});
  }
  function drawMarks() {
    var marks = document.querySelectorAll('#' + IDS.track + ' .rp-mark');
    var minute = Math.floor(R.t / 60);
    Array.prototype.forEach.call(marks, function (mark) {
      var seq = mark.getAttribute('data-seq');
      var here = R.seq !== null ? seq === String(R.seq) : Math.floor(+mark.getAttribute('data-t') / 60) === minute;
      mark.classList.toggle('current', here);
    });
  }
  function render(opts) {
    if (!mounted() || R.t === null) return;
    opts = opts || {};
    var c = el(IDS.clock);
    if (c) c.textContent = clock(R.t, true);
    var state = el(IDS.state);
    if (state) state.textContent = R.playing ? 'PLAYING ×' + R.speed : 'PAUSED';
    var share = R.end > R.start ? (R.t - R.start) / (R.end - R.start) : 0;
    var track = el(IDS.track);
    if (track) {
      var cursor = track.querySelector('.rp-cursor'), played = track.querySelector('.rp-played');
      if (cursor) cursor.style.left = (100 * share).toFixed(3) + '%';
      if (played) played.style.width = (100 * share).toFixed(3) + '%';
      track.setAttribute('data-t', String(Math.round(R.t)));
    }
    var play = document.querySelector('.rp-play');
    if (play) { play.textContent = R.playing ? '❚❚' : '▶'; play.classList.toggle('active', R.playing); }
    Array.prototype.forEach.call(document.querySelectorAll('.rp-speed'), function (b) {
      b.classList.toggle('active', +b.getAttribute('data-speed') === R.speed);
    });
    var at = el(IDS.forkAt);
    if (at) at.textContent = clock(Math.floor(R.t / 60) * 60, false);
    drawCharts(opts.charts);
    drawLog(opts.jump);
    drawMarks();
  }

  // ------------------------------------------------------------------ playback
  function loop(now) {
    R.raf = 0;
    if (!R.playing) return;
    if (!mounted()) { R.playing = false; return; }
    var dt = Math.min((now - R.wall) / 1000, 5.0);  // a hidden tab pauses rAF: no jump when it returns
    R.wall = now;
    R.t = Math.min(R.t + dt * R.speed, R.end);
    if (R.t >= R.end) R.playing = false;
    render();
    requestFrame(false);
    if (now - R.urlAt > 1000 || !R.playing) writeUrl(false);
    if (R.playing) R.raf = window.requestAnimationFrame(loop);
  }
  function play() {
    if (!R.day) return;
    if (R.t >= R.end) R.t = R.start;
    R.playing = true;
    R.seq = null;
    R.wall = performance.now();
    if (!R.raf) R.raf = window.requestAnimationFrame(loop);
    render();
  }
  function pause() {
    R.playing = false;
    writeUrl(false);
    render();
    requestFrame(false);
  }
  function seek(t, opts) {
    if (!R.day || t === null || !isFinite(t)) return;
    opts = opts || {};
    R.t = clamp(t);
    R.seq = opts.seq === undefined ? null : opts.seq;
    render({charts: true, jump: true});
    requestFrame(false);
    if (opts.push) writeUrl(true);
  }

  // ------------------------------------------------------------------ input
  function trackTime(track, clientX) {
    var box = track.getBoundingClientRect();
    var share = Math.min(Math.max((clientX - box.left) / Math.max(box.width, 1), 0), 1);
    return Math.round((R.start + share * (R.end - R.start)) / 60) * 60;
  }
  function typing(target) {
    if (!target || !target.closest) return false;
    if (target.matches && target.matches('input[type="radio"], input[type="checkbox"]')) return false;
    return !!target.closest('input, textarea, select, [contenteditable="true"], .Select, .dash-dropdown');
  }
  function onClick(e) {
    if (!mounted()) return;
    var target = e.target.closest ? e.target.closest('[data-rp]') : null;
    if (!target) return;
    var action = target.getAttribute('data-rp');
    if (action === 'play') { if (R.playing) pause(); else play(); }
    else if (action === 'step') seek(R.t + (+target.getAttribute('data-step')), {push: true});
    else if (action === 'speed') { R.speed = +target.getAttribute('data-speed'); R.wall = performance.now(); render(); }
    else if (action === 'mark' || action === 'log') {
      var seq = target.getAttribute('data-seq');
      seek(+target.getAttribute('data-t'), {push: true, seq: seq === null ? null : +seq});
    } else if (action === 'fork-here') {
      if (R.playing) pause();
      if (window.dash_clientside && window.dash_clientside.set_props) {
        window.dash_clientside.set_props(IDS.tab, {value: 'fork'});
      }
    }
  }
  function onKey(e) {
    if (!mounted() || !R.day || typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    var step = e.shiftKey ? 300 : 60;
    if (e.key === 'ArrowLeft') seek(R.t - step, {push: true});
    else if (e.key === 'ArrowRight') seek(R.t + step, {push: true});
    else if (e.key === ' ' || e.key === 'k') { if (R.playing) pause(); else play(); }
    else if (e.key === 'Home') seek(R.start, {push: true});
    else if (e.key === 'End') seek(R.end, {push: true});
    else return;
    e.preventDefault();
  }
  function onPointerDown(e) {
    var track = e.target.closest ? e.target.closest('#' + IDS.track) : null;
    if (!track || !R.day || e.button !== 0) return;
    if (e.target.classList && e.target.classList.contains('rp-mark')) return;  // a mark: its click jumps
    R.dragging = true;
    R.seq = null;
    track.setPointerCapture(e.pointerId);
    seek(trackTime(track, e.clientX), {});
  }
  function onPointerMove(e) {
    if (R.dragging) {
      var track = el(IDS.track);
      if (track) seek(trackTime(track, e.clientX), {});
      return;
    }
    var tip = el(IDS.tip), mark = e.target.closest ? e.target.closest('.rp-mark') : null;
    if (!tip) return;
    if (!mark) { tip.classList.remove('shown'); return; }
    tip.textContent = mark.getAttribute('data-tip') || '';
    var box = mark.getBoundingClientRect();
    tip.classList.add('shown');
    var width = tip.offsetWidth, left = Math.min(Math.max(box.left + box.width / 2 - width / 2, 4),
                                                 window.innerWidth - width - 4);
    tip.style.left = left + 'px';
    tip.style.top = (box.top - tip.offsetHeight - 6) + 'px';
  }
  function onPointerUp() {
    if (!R.dragging) return;
    R.dragging = false;
    writeUrl(true);
  }
  function onPopState() {
    if (!mounted()) return;
    var where = fromUrl();
    if (where.day === R.day && where.t !== null) {  // another day: the page's dcc.Location reloads it
      if (R.playing) R.playing = false;
      seek(where.t, {});
    }
  }
  document.addEventListener('click', onClick);
  document.addEventListener('keydown', onKey);
  document.addEventListener('pointerdown', onPointerDown);
  document.addEventListener('pointermove', onPointerMove);
  document.addEventListener('pointerup', onPointerUp);
  window.addEventListener('popstate', onPopState);
  window.addEventListener('resize', function () { if (mounted()) drawCharts(true); });

  window.vtReplay = {
    state: function () {
      return {day: R.day, t: R.t, playing: R.playing, speed: R.speed, start: R.start, end: R.end,
              sent: R.sent, inflight: R.inflight, frames: R.frames, seq: R.seq};
    },
    seek: function (t) { seek(t, {push: true}); },
    play: play,
    pause: pause,
    setSpeed: function (s) { R.speed = s; render(); }
  };

  // ------------------------------------------------------------------ Dash clientside callbacks
  var noUpdate = function () { return window.dash_clientside.no_update; };
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.rp = {
    initMap: function (spec, mapId, clickId) {
      var container = document.getElementById(mapId);
      if (window.vtDeck && window.vtDeck.stats().ready && container && !container.getAttribute('data-deck-ready')) {
        // the page was reached from another map page in this tab: the bridge holds one deck
        window.location.reload();
        return noUpdate();
      }
      window.vtDeck.init(mapId, spec, clickId);
      return noUpdate();
    },
    update: function (msg) {
      window.vtDeck.update(msg);
      return noUpdate();
    },
    toggles: function (toggles, mode) {
      var shown = (toggles || []).filter(function (t) { return !(mode === 'diff' && t === 'congestion'); });
      var apply = function () { return window.vtDeck.setToggles(shown); };
      if (!apply()) { var timer = setInterval(function () { if (apply()) clearInterval(timer); }, 100); }
      return noUpdate();
    },
    load: function (day) {
      if (!day) { R.day = null; return noUpdate(); }
      var fresh = day.id !== R.day;
      R.day = day.id; R.date = day.date; R.start = day.start_s; R.end = day.end_s;
      R.playing = false; R.sent = null; R.inflight = false; R.seq = null; R.logKey = null; R.chartT = null;
      R.t = clamp(day.t);
      render({charts: true, jump: true});
      requestFrame(true);
      writeUrl(false);
      if (fresh) [300, 1200].forEach(function (ms) { setTimeout(function () { drawCharts(true); }, ms); });
      return noUpdate();
    },
    urlSeek: function (seek_) {
      if (seek_ && R.day && seek_.t !== null && seek_.t !== undefined) { R.playing = false; seek(seek_.t, {}); }
      return noUpdate();
    },
    frameDone: function (done) {
      R.inflight = false;
      R.frames += 1;
      if (R.day && R.t !== null && quantise(R.t) !== R.sent) requestFrame(false);
      return noUpdate();
    },
    chartClick: function (data) {
      var point = data && data.points && data.points[0];
      if (!point) return noUpdate();
      var x = Date.parse(String(point.x).replace(' ', 'T') + 'Z');
      var base = R.date ? Date.parse(R.date + 'T00:00:00Z') : Date.UTC(2000, 0, 1);
      if (isFinite(x)) seek(Math.round((x - base) / 60000) * 60, {push: true});
      return noUpdate();
    },
    panes: function (tab) {
      var outputs = window.dash_clientside.callback_context.outputs_list || [];
      return outputs.map(function (o) { return o.id.tab !== tab; });
    },
    forkForms: function (kind) {
      var outputs = window.dash_clientside.callback_context.outputs_list || [];
      return outputs.map(function (o) { return o.id.kind !== kind; });
    }
  };
})();
