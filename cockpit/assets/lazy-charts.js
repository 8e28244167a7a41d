/* A board's charts are drawn when they come near the viewport (cockpit/components/board.py marks them lazy-chart).

   Plotly's drawing is most of a first visit's main thread (text measuring, axes, margins: 1.5–2 s on a
   two-core machine for a board of eight charts), and half of a board's charts sit below the first screen.
   A graph marked lazy-chart renders an empty box of the figure's height until its figure has arrived and the
   box comes within 200 px of the viewport, then the real dcc.Graph with every prop it was given meanwhile.
   Other graphs (the wall's, whose boards rotate) are dcc.Graph itself. */
(function () {
  "use strict";
  var React = window.React;
  if (!React || !("IntersectionObserver" in window)) {
    return;
  }
  var Graph = null; // dcc.Graph, once the library has loaded

  function LazyGraph(props) {
    var lazy = (props.className || "").split(/\s+/).indexOf("lazy-chart") >= 0;
    var box = React.useRef(null);
    var state = React.useState(!lazy);
    var seen = state[0];
    var setSeen = state[1];
    // Until the board's answer arrives the figure is Dash's empty default: nothing to draw yet, near or far.
    var figure = props.figure;
    var answered = Boolean(
      figure && ((figure.data && figure.data.length) || (figure.layout && Object.keys(figure.layout).length))
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
    if (seen) {
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
