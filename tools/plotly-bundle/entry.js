// The trace types the cockpit draws (cockpit/components/charts.py, map.py, wall.py); scatter is in the core.
// A trace type not listed here draws nothing: add it here when a chart needs it (tests/browser check every page).
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/pie'),
    require('plotly.js/lib/funnel'),
    require('plotly.js/lib/treemap'),
    require('plotly.js/lib/choroplethmap'),
    require('plotly.js/lib/scattermap'),
]);

module.exports = Plotly;
