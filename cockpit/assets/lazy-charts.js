/* A board's charts are drawn when they come near the viewport (cockpit/components/board.py marks them lazy-chart),
   with the Plotly they need.

   Plotly's drawing is most of a first visit's main thread (text measuring, axes, margins: 1.5–2 s on a
   two-core machine for a board of eight charts), and half of a board's charts sit below the first screen.
   A graph marked lazy-chart renders an empty box of the figure's height until its figure has arrived and the
   box comes within 200 px of the viewport, then the real dcc.Graph with every prop it was given meanwhile.
   Other graphs (the wall's, whose boards rotate) are drawn as soon as their figure arrives.

   Plotly is one of the partial bundles tools/plotly-bundle builds: the charts, or the charts and the maps (SVG,
   or MapLibre's over configured tiles). The page's head preloads the one it needs (cockpit/app.py, CockpitDash). The first
   graph to mount runs it, while the board's answer is still on its way; a graph is drawn once the Plotly
   loaded can draw every trace of its figure. A page reached without a reload may need a map that the first
   page's bundle lacks: the map bundle then loads over it, and every graph drawn after uses it. */
(function () {
  "use strict";
  var preload = document.querySelector("link[data-plotly]");
  var pageBundle = preload && preload.getAttribute("href");
  var mapBundle = preload && preload.getAttribute("data-plotly-maps");
  if (pageBundle) {
    // dcc.Graph loads this URL itself when it mounts before any Plotly (the renderer sets Plotly's full one).
    Object.defineProperty(window, "_dashPlotlyJSURL", {
      configurable: true,
      get: function () {
        return pageBundle;
      },
      set: function () {},
    });
  }
  var React = window.React;
  if (!React || !("IntersectionObserver" in window)) {
    return;
  }
  var Graph = null; // dcc.Graph, once the library has loaded
  var loading = null; // the bundle being loaded: a promise
  var attempted = []; // the bundles run, or that failed to load, so far

  function traceTypes(figure) {
    return ((figure && figure.data) || []).map(function (trace) {
      return trace.type || "scatter";
    });
  }

  // Whether the Plotly loaded can draw these trace types. Dash's full bundle (served where the cockpit's were
  // not built) says nothing of its traces, and draws them all.
  function draws(types) {
    var Plotly = window.Plotly;
    if (!Plotly) {
      return false;
    }
    var known = Plotly.cockpitTraces;
    return !known || types.every(function (type) { return known.indexOf(type) >= 0; });
  }

  function run(url) {
    loading = new Promise(function (done, failed) {
      // Each bundle registers the locales queued for it as it starts (plotly-locale-zh-cn.js keeps them).
      window.PlotlyLocales = (window.cockpitPlotlyLocales || []).slice();
      var script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = done;
      script.onerror = failed;
      document.head.appendChild(script);
    }).then(
      function () {
        attempted.push(url);
        loading = null;
      },
      function () {
        attempted.push(url); // not again: a bundle that fails to load would be asked for forever
        loading = null;
      }
    );
    return loading;
  }

  // A promise settled when the Plotly loaded draws `types`, or when no bundle left to load would draw more.
  function plotlyFor(types) {
    if (loading) {
      return loading.then(function () { return plotlyFor(types); });
    }
    if (draws(types)) {
      return Promise.resolve();
    }
    var next = !window.Plotly && pageBundle && attempted.indexOf(pageBundle) < 0 ? pageBundle : mapBundle;
    if (!next || attempted.indexOf(next) >= 0) {
      return Promise.resolve(); // drawn with what there is
    }
    return run(next).then(function () { return plotlyFor(types); });
  }

  function LazyGraph(props) {
    var lazy = (props.className || "").split(/\s+/).indexOf("lazy-chart") >= 0;
    var box = React.useRef(null);
    var state = React.useState(!lazy);
    var seen = state[0];
    var setSeen = state[1];
    // The trace types for which every bundle that could draw them has been tried: drawn with what there is.
    var triedState = React.useState(null);
    var tried = triedState[0];
    var setTried = triedState[1];
    // Until the board's answer arrives the figure is Dash's empty default: nothing to draw yet, near or far.
    var figure = props.figure;
    var answered = Boolean(
      figure && ((figure.data && figure.data.length) || (figure.layout && Object.keys(figure.layout).length))
    );
    var traces = traceTypes(figure);
    var key = traces.join(",");
    var ready = draws(traces) || tried === key;
    // The page's Plotly runs while the answer is on its way.
    React.useEffect(function () {
      plotlyFor([]);
    }, []);
    React.useEffect(
      function () {
        if (ready || !answered || !seen) {
          return undefined;
        }
        var live = true;
        plotlyFor(traces).then(function () {
          if (live) {
            setTried(key);
          }
        });
        return function () {
          live = false;
        };
      },
      [ready, answered, seen, key]
    );
    React.useEffect(
      function () {
        if (seen || !answered || !box.current) {
          return undefined;
        }
        var watch = new IntersectionObserver(
          function (entries) {
            if (entries.some(function (entry) { return entry.isIntersecting; })) {
              watch.disconnect();
              setSeen(true);
            }
          },
          { rootMargin: "200px 0px" }
        );
        watch.observe(box.current);
        return function () {
          watch.disconnect();
        };
      },
      [seen, answered]
    );
    if (seen && answered && ready) {
      return React.createElement(Graph, props);
    }
    var layout = figure && figure.layout;
    // The graph's id, written as Dash writes a dict id (keys sorted): a link or a test finds the box too.
    var id = props.id && typeof props.id === "object" ? JSON.stringify(props.id, Object.keys(props.id).sort()) : props.id;
    return React.createElement("div", {
      ref: box,
      id: id,
      className: props.className,
      style: Object.assign({ height: ((layout && layout.height) || 450) + "px" }, props.style),
      "data-lazy-chart": "waiting",
    });
  }

  // dash_core_components loads after this file (Dash puts assets before its own libraries): the library is
  // caught as it is assigned to window, and read through a view that answers Graph with the stand-in.
  function wrap(library) {
    if (!library || !library.Graph || Graph) {
      return library;
    }
    Graph = library.Graph;
    Object.assign(LazyGraph, Graph); // its defaults and prop types, which the renderer reads
    return new Proxy(library, {
      get: function (target, key) {
        return key === "Graph" ? LazyGraph : target[key];
      },
    });
  }
  var library = wrap(window.dash_core_components);
  Object.defineProperty(window, "dash_core_components", {
    configurable: true,
    enumerable: true,
    get: function () {
      return library;
    },
    set: function (value) {
      library = wrap(value);
    },
  });
})();
