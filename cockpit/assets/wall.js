/* The wall display (/wall): fit the board to the window, rotate boards, hold the screen for an alarm.
   Laid out on a canvas 1080 units high and as wide as the wall's aspect; the whole stage is scaled
   (never stretched) to the window, so an LED controller at any resolution or DPI shows all of it. */
(function () {
  "use strict";
  var DESIGN_HEIGHT = 1080;
  var WIDE_ASPECT = 2.6; // three 16:9 screens side by side are 5.3; a single screen is 1.8

  function fit() {
    var wall = document.getElementById("wall");
    var stage = document.getElementById("wall-stage");
    if (!wall || !stage) {
      return;
    }
    var spec = wall.getAttribute("data-canvas") || "auto";
    var width = window.innerWidth;
    var height = window.innerHeight;
    if (spec !== "auto") {
      var parts = spec.split("x");
      width = Number(parts[0]);
      height = Number(parts[1]);
    }
    var designWidth = Math.round((DESIGN_HEIGHT * width) / height);
    var scale = Math.min(window.innerWidth / designWidth, window.innerHeight / DESIGN_HEIGHT);
    var key = designWidth + ":" + scale;
    if (stage.getAttribute("data-fit") === key) {
      return;
    }
    var left = (window.innerWidth - designWidth * scale) / 2;
    var top = (window.innerHeight - DESIGN_HEIGHT * scale) / 2;
    stage.setAttribute("data-fit", key);
    stage.setAttribute("data-shape", designWidth / DESIGN_HEIGHT >= WIDE_ASPECT ? "wide" : "standard");
    stage.style.width = designWidth + "px";
    stage.style.height = DESIGN_HEIGHT + "px";
    stage.style.transform = "translate(" + left + "px, " + top + "px) scale(" + scale + ")";
  }
  window.addEventListener("resize", fit);

  /* 本期要点: one sentence at a time, each for POINT_MS, chosen by the clock (a refresh of the sentences
     does not send the line back to the first). */
  var POINT_MS = 12000;
  setInterval(function () {
    var points = document.querySelectorAll("#wall-points .wall-point");
    if (!points.length) {
      return;
    }
    var index = Math.floor(Date.now() / POINT_MS) % points.length;
    for (var i = 0; i < points.length; i++) {
      points[i].classList.toggle("shown", i === index);
    }
  }, 1000);

  var WEEKDAYS = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];
  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }
  function clock(now, lang) {
    var day = now.getFullYear() + "-" + two(now.getMonth() + 1) + "-" + two(now.getDate());
    var time = two(now.getHours()) + ":" + two(now.getMinutes()) + ":" + two(now.getSeconds());
    var weekday = lang === "en" ? now.toLocaleDateString("en", { weekday: "short" }) : WEEKDAYS[now.getDay()];
    return day + " " + weekday + " " + time;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    cockpitWall: {
      /* Every second: the clock, the board on show, and whether an alarm holds the screen. */
      tick: function (_n, _ack, alarm, config, seen, state) {
        var noUpdate = window.dash_clientside.no_update;
        var now = Date.now();
        fit();
        seen = (seen || []).slice();
        state = Object.assign({ index: 0 }, state || {});
        if (!state.shownAt) {
          state.shownAt = now;
        }
        var triggered = (window.dash_clientside.callback_context.triggered || []).map(function (t) {
          return t.prop_id;
        });
        var seenChanged = false;
        if (alarm && state.alert === alarm.id && triggered.indexOf("wall-ack.n_clicks") >= 0) {
          seen.push(alarm.id);
          seenChanged = true;
        }
        var alerting = false;
        if (alarm && seen.indexOf(alarm.id) < 0) {
          if (state.alert !== alarm.id) {
            state.alert = alarm.id;
            state.alertAt = now;
          }
          if (now - state.alertAt >= config.alert_timeout * 1000) {
            seen.push(alarm.id);
            seenChanged = true;
          } else {
            alerting = true;
          }
        }
        if (!alerting) {
          state.alert = null;
        }
        if (alerting) {
          state.shownAt = now; // after the alarm, the board gets its full turn
        } else if (!config.pinned && now - state.shownAt >= config.rotate * 1000 - 150) {
          state.index = (state.index + 1) % config.boards.length;
          state.shownAt = now;
        }
        var view = state.index + ":" + alerting;
        var changed = view !== state.view;
        state.view = view;
        var classes = config.boards.map(function (_b, i) {
          return i === state.index ? "wall-board active" : "wall-board";
        });
        return [
          changed ? classes : noUpdate,
          changed ? (alerting ? "wall-alert active" : "wall-alert") : noUpdate,
          seenChanged ? seen.slice(-500) : noUpdate,
          state,
          clock(new Date(now), config.lang),
          changed ? config.titles[state.index] : noUpdate,
        ];
      },
    },
  });
})();
