// The chart bundle (entry.js) and the SVG maps: the street's polygons (cockpit/components/map.py) and the
// wall's alarm point, drawn by d3-geo on an invisible globe. No WebGL and no tiles: the pages that draw a map
// load this one, unless an intranet tile server is configured (entry-maps.js).
var Plotly = require('./entry.js');

Plotly.register([
    require('plotly.js/lib/choropleth'),
    require('plotly.js/lib/scattergeo'),
]);

// Plotly fetches its world outline from its CDN for any geo map that places by location; the cockpit's maps
// draw no base layer (geo.visible false), so an empty outline stands in: nothing is fetched.
window.PlotlyGeoAssets.topojson.world_110m = { type: 'Topology', objects: {}, arcs: [] };

Plotly.cockpitTraces = Object.keys(require('plotly.js/src/registry').modules);

module.exports = Plotly;
