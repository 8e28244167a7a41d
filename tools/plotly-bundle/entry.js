// The trace types the cockpit's charts draw (cockpit/components/charts.py); scatter is in the core.
// Pages without a map load this bundle; entry-maps.js adds the map traces for the pages that draw one.
// A trace type not listed draws nothing: add it here when a chart needs it (tests/browser check every page).
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/pie'),
    require('plotly.js/lib/funnel'),
    require('plotly.js/lib/treemap'),
]);

// What this bundle can draw: cockpit/assets/lazy-charts.js loads the map bundle when a figure needs more.
Plotly.cockpitTraces = Object.keys(require('plotly.js/src/registry').modules);

module.exports = Plotly;
