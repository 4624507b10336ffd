/* Stale-data indication (ISA-101): every page polls the twin's health every 2 s and shows
 * "Twin not updating since HH:MM:SS" when the newest frame is older than STALE_AFTER_S, or when
 * the server does not answer. Dash serves every file of assets/ on every page. */
(function () {
  "use strict";
  var STALE_AFTER_S = 5;
  var POLL_MS = 2000;
  var lastGoodWallS = null;

  function clock(wallS) {
    var d = new Date(wallS * 1000);
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }

  function show(text) {
    var banner = document.getElementById("stale-banner");
    if (!banner) { return; }
    if (text) {
      banner.textContent = text;
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
  }

  function poll() {
    fetch("/_venuetwin/health", {credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error("health " + response.status); }
        return response.json();
      })
      .then(function (health) {
        if (health.frame_wall_s === null || health.frame_wall_s === undefined) { return; }
        lastGoodWallS = health.frame_wall_s;
        var age = health.frame_age_s;
        show(age > STALE_AFTER_S ? "Twin not updating since " + clock(health.frame_wall_s) +
             " (" + Math.round(age) + " s ago): figures are old" : null);
      })
      .catch(function () {
        show("No answer from the twin" + (lastGoodWallS ? " since " + clock(lastGoodWallS) : "") +
             ": figures are old");
      });
  }

  setInterval(poll, POLL_MS);
})();
