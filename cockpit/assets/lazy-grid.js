/* AG Grid when a grid comes into view, not with every page (served as dash_ag_grid's bundle: cockpit/app.py).

   dash_ag_grid's bundle and the chunk it pulls in are half a megabyte compressed and most of a second of
   the main thread, for a record table that sits below the first screen of every board. This file answers
   the bundle's URL instead: it gives the renderer an AgGrid that draws an empty box of the grid's size, and
   loads the real bundle (the same URL with ?whole=1) when the box comes within 200 px of the viewport. The
   real bundle then replaces window.dash_ag_grid, and the box renders the real grid with every prop it was
   given meanwhile (a filter or focus changed before the grid was seen is not lost). */
(function () {
  "use strict";
  var here = document.currentScript && document.currentScript.src;
  if (!here) {
    return;
  }
  var whole = here + (here.indexOf("?") < 0 ? "?" : "&") + "whole=1";
  var loading = null;

  function load() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = whole;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  var React = window.React;

  function LazyAgGrid(props) {
    var box = React.useRef(null);
    var state = React.useState(false);
    var ready = state[0];
    var setReady = state[1];
    React.useEffect(
      function () {
        if (ready) {
          return undefined;
        }
        var done = false;
        function go() {
          load().then(function () {
            if (!done) {
              setReady(true);
            }
          });
        }
        if (!("IntersectionObserver" in window) || !box.current) {
          go();
          return function () {
            done = true;
          };
        }
        var seen = new IntersectionObserver(
          function (entries) {
            if (entries.some(function (entry) { return entry.isIntersecting; })) {
              seen.disconnect();
              go();
            }
          },
          { rootMargin: "200px 0px" }
        );
        seen.observe(box.current);
        return function () {
          done = true;
          seen.disconnect();
        };
      },
      [ready]
    );
    var real = window.dash_ag_grid && window.dash_ag_grid.AgGrid;
    if (ready && real && real !== LazyAgGrid) {
      return React.createElement(real, props);
    }
    return React.createElement("div", {
      ref: box,
      className: (props.className || "") + " lazy-grid",
      style: props.style,
      "data-lazy-grid": "waiting",
    });
  }

  window.dash_ag_grid = { AgGrid: LazyAgGrid };
})();
