// The chart bundle (entry.js) and the map traces (cockpit/components/map.py, the wall's alarm points): MapLibre
// is more than half of the whole, so only the pages that draw a map load it (cockpit/app.py, plotly_url).
var Plotly = require('./entry.js');

Plotly.register([
    require('plotly.js/lib/choroplethmap'),
    require('plotly.js/lib/scattermap'),
]);

Plotly.cockpitTraces = Object.keys(require('plotly.js/src/registry').modules);

module.exports = Plotly;
