/* VenueTwin map layout: where venue names go, and which view fits the park with its names.
 *
 * Everything here is plain geometry in the map container's CSS pixels (Web Mercator, a 512 px
 * world at zoom 0, as deck.gl draws it); the bridge (deck_bridge.js) calls it with the current
 * view and writes the result into the label rows.
 *
 * Names are placed by a small greedy pass, biggest venue first: each name takes the first place
 * around its marker (right, below, above, left, the diagonals, then one and two lines further
 * out) whose box clears every name already placed and every marker on the map (venues,
 * checkpoints, hospitals, signals), and stays inside the free part of the map (not under the
 * layer panel or the legend). A name with no free place is hidden at this zoom (its marker keeps
 * the tooltip); zooming in gives it room again.
 */
(function () {
  'use strict';

  var TILE_PX = 512;
  var EARTH_CIRCUMFERENCE_M = 40075016.686;
  var widths = {};
  var canvas = null;

  function worldPx(lonLat, zoom) {
    // Web Mercator pixel position (x east, y south) at zoom
    var world = TILE_PX * Math.pow(2, zoom), lat = Math.max(-85.05, Math.min(85.05, lonLat[1]));
    var y = Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360));
    return [(lonLat[0] + 180) / 360 * world, (1 - y / Math.PI) / 2 * world];
  }

  function lonLatOf(xy, zoom) {
    var world = TILE_PX * Math.pow(2, zoom);
    var y = (1 - 2 * xy[1] / world) * Math.PI;
    return [xy[0] / world * 360 - 180, (2 * Math.atan(Math.exp(y)) - Math.PI / 2) * 180 / Math.PI];
  }

  function projector(view, width, height) {
    // lon/lat -> container pixels for a view {longitude, latitude, zoom}
    var centre = worldPx([view.longitude, view.latitude], view.zoom);
    var metresPerPx = EARTH_CIRCUMFERENCE_M * Math.cos(view.latitude * Math.PI / 180) /
                      (TILE_PX * Math.pow(2, view.zoom));
    return {
      width: width, height: height, metresPerPx: metresPerPx,
      project: function (lonLat) {
        var p = worldPx(lonLat, view.zoom);
        return [p[0] - centre[0] + width / 2, p[1] - centre[1] + height / 2];
      },
      unproject: function (xy) {
        return lonLatOf([xy[0] + centre[0] - width / 2, xy[1] + centre[1] - height / 2], view.zoom);
      }
    };
  }

  function textWidth(text, sizePx, font) {
    // the width deck.gl's TextLayer gives a string: the sum of its characters' advances
    var key = sizePx + '|' + font + '|' + text;
    if (widths[key] !== undefined) return widths[key];
    canvas = canvas || document.createElement('canvas');
    var ctx = canvas.getContext('2d'), total = 0;
    ctx.font = font.replace('{size}', sizePx + 'px');
    for (var i = 0; i < text.length; i++) total += ctx.measureText(text[i]).width;
    widths[key] = total;
    return total;
  }

  function boxesOverlap(a, b, margin) {
    return !(a[2] + margin <= b[0] || b[2] + margin <= a[0] || a[3] + margin <= b[1] || b[3] + margin <= a[1]);
  }

  function boxHitsCircle(box, c, margin) {
    var dx = Math.max(box[0] - c.x, 0, c.x - box[2]), dy = Math.max(box[1] - c.y, 0, c.y - box[3]);
    return dx * dx + dy * dy < (c.r + margin) * (c.r + margin);
  }

  function inside(box, area) {
    return box[0] >= area[0] && box[1] >= area[1] && box[2] <= area[2] && box[3] <= area[3];
  }

  function candidates(x, y, radius, w, h, gap) {
    // [dx, dy] of each place's top centre, best first
    var out = [];
    [0, h, 2 * h].forEach(function (further) {
      var d = radius + gap + further, diag = (radius + gap) * 0.75 + further;
      out.push([d + w / 2, -h / 2], [0, d], [0, -d - h], [-d - w / 2, -h / 2],
               [diag + w / 2, diag - h / 2], [diag + w / 2, -diag - h / 2],
               [-diag - w / 2, diag - h / 2], [-diag - w / 2, -diag - h / 2]);
    });
    return out;
  }

  function place(labels, markers, area, opts) {
    /* labels: [{xy, radius, text, priority}]; markers: [{x, y, r}]; area: [l, t, r, b] where
       names may go (null: anywhere). Returns per label {offset: [dx, dy], box} or null. */
    var size = opts.sizePx, gap = opts.gapPx, margin = opts.marginPx, placed = [];
    var order = labels.map(function (_, k) { return k; })
      .sort(function (a, b) { return labels[b].priority - labels[a].priority; });
    var out = labels.map(function () { return null; });
    order.forEach(function (k) {
      var label = labels[k], w = textWidth(label.text, size, opts.font), h = size;
      var x = label.xy[0], y = label.xy[1];
      var options = candidates(x, y, label.radius, w, h, gap);
      for (var i = 0; i < options.length; i++) {
        var o = options[i], box = [x + o[0] - w / 2, y + o[1], x + o[0] + w / 2, y + o[1] + h];
        if (area && !inside(box, area)) continue;
        if (placed.some(function (p) { return boxesOverlap(box, p, margin); })) continue;
        if (markers.some(function (c) { return boxHitsCircle(box, c, margin); })) continue;
        out[k] = {offset: [o[0], o[1]], box: box, far: i >= 8};
        placed.push(box);
        return;
      }
    });
    return out;
  }

  function unionBox(boxes) {
    return boxes.reduce(function (u, b) {
      return [Math.min(u[0], b[0]), Math.min(u[1], b[1]), Math.max(u[2], b[2]), Math.max(u[3], b[3])];
    }, [Infinity, Infinity, -Infinity, -Infinity]);
  }

  function fitBounds(bounds, width, height, padding) {
    // centre and zoom that show [west, south, east, north] inside the container less padding
    var pad = padding, w = Math.max(width - pad.left - pad.right, 100);
    var h = Math.max(height - pad.top - pad.bottom, 100);
    var a = worldPx([bounds[0], bounds[3]], 0), b = worldPx([bounds[2], bounds[1]], 0);
    var zoom = Math.min(Math.log2(w / Math.max(b[0] - a[0], 1e-9)), Math.log2(h / Math.max(b[1] - a[1], 1e-9)));
    return centreOn([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], zoom, width, height, pad);
  }

  function centreOn(worldXy0, zoom, width, height, pad) {
    // the view whose padded area is centred on a point given in zoom-0 world pixels
    var k = Math.pow(2, zoom);
    var shift = [(pad.left - pad.right) / 2, (pad.top - pad.bottom) / 2];
    var centre = lonLatOf([worldXy0[0] * k - shift[0], worldXy0[1] * k - shift[1]], zoom);
    return {longitude: centre[0], latitude: centre[1], zoom: zoom, pitch: 0, bearing: 0};
  }

  function fitWithLabels(bounds, width, height, pad, layout) {
    /* the largest zoom (down from the plain fit, in steps of 0.05) at which the bounds and every
       name that layout(view, projector) places fit in the padded area, centred on them all */
    var a = worldPx([bounds[0], bounds[3]], 0), b = worldPx([bounds[2], bounds[1]], 0);
    var centre0 = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    var zoom0 = fitBounds(bounds, width, height, pad).zoom, view = null;
    var areaW = width - pad.left - pad.right, areaH = height - pad.top - pad.bottom;
    for (var step = 0; step < 40; step++) {
      view = centreOn(centre0, zoom0 - 0.05 * step, width, height, pad);
      var p = projector(view, width, height);
      var nw = p.project([bounds[0], bounds[3]]), se = p.project([bounds[2], bounds[1]]);
      var boxes = layout(view, p).filter(Boolean).map(function (r) { return r.box; });
      var u = unionBox(boxes.concat([[nw[0], nw[1], se[0], se[1]]]));
      if (u[2] - u[0] <= areaW && u[3] - u[1] <= areaH) {
        var mid = p.unproject([(u[0] + u[2]) / 2, (u[1] + u[3]) / 2]);
        return centreOn(worldPx(mid, 0), view.zoom, width, height, pad);
      }
    }
    return view;
  }

  function regionOf(view, width, height) {
    // [west, south, east, north] shown by a view in a container of this size
    var p = projector(view, width, height), nw = p.unproject([0, 0]), se = p.unproject([width, height]);
    return [nw[0], se[1], se[0], nw[1]];
  }

  function leader(label, placed, gapPx) {
    /* a short line from the marker's rim to the nearest point of its name's box, for names
       placed a line or two away from their marker ([from, to] in container pixels) */
    var x = label.xy[0], y = label.xy[1], box = placed.box;
    var to = [Math.max(box[0], Math.min(x, box[2])), Math.max(box[1], Math.min(y, box[3]))];
    var dx = to[0] - x, dy = to[1] - y, len = Math.hypot(dx, dy) || 1;
    var from = [x + dx / len * label.radius, y + dy / len * label.radius];
    var end = [to[0] - dx / len * gapPx / 2, to[1] - dy / len * gapPx / 2];
    return [from, end];
  }

  window.vtMapLayout = {
    leader: leader,
    worldPx: worldPx, projector: projector, textWidth: textWidth, place: place,
    fitBounds: fitBounds, fitWithLabels: fitWithLabels, regionOf: regionOf
  };
})();
