// The SVG map bundle (entry-geo.js) and the tile maps (MapLibre, more than half of the whole): the street map
// over an intranet tile server (COCKPIT_MAP_TILES). Only the pages that draw a map load it, and only then.
var Plotly = require('./entry-geo.js');

Plotly.register([
    require('plotly.js/lib/choroplethmap'),
    require('plotly.js/lib/scattermap'),
]);

Plotly.cockpitTraces = Object.keys(require('plotly.js/src/registry').modules);

module.exports = Plotly;
