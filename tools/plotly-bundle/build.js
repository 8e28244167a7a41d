// Builds the scripts the cockpit serves in place of a library's (cockpit/app.py, IN_PLACE):
// - cockpit/assets/plotly-cockpit.min.js from entry.js (the charts), plotly-cockpit-geo.min.js from entry-geo.js
//   (and the SVG maps) and plotly-cockpit-maps.min.js from entry-maps.js (and the tile maps), with plotly.js's
//   own esbuild settings (its esbuild-config.js, without the WebGL shader plugin: no gl trace is included);
// - cockpit/assets/regenerator-runtime.min.js, in place of Dash's @babel/polyfill: the one global
//   Dash's bundles need from it. The rest (core-js 2) replaced built-ins that browsers the cockpit
//   supports have natively, with slower ones (String.prototype.trim, Number, parseFloat, which it
//   thinks wrong in today's engines), and cost a fifth of a second per page start.
// Run by `make install` (see the Makefile); the outputs are not committed.
const path = require('path');
const esbuild = require('esbuild');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');
const { environmentPlugin } = require('esbuild-plugin-environment');

const assets = path.join(__dirname, '..', '..', 'cockpit', 'assets');
const bundles = {
    'entry.js': 'plotly-cockpit.min.js',
    'entry-geo.js': 'plotly-cockpit-geo.min.js',
    'entry-maps.js': 'plotly-cockpit-maps.min.js',
};
const runtime = path.join(assets, 'regenerator-runtime.min.js');

const plotly = Object.entries(bundles).map(([entry, name]) => {
    const outfile = path.join(assets, name);
    return esbuild
        .build({
            entryPoints: [path.join(__dirname, entry)],
            outfile,
            format: 'iife',
            globalName: 'Plotly',
            bundle: true,
            minify: true,
            legalComments: 'eof',
            plugins: [InlineCSSPlugin(), environmentPlugin({ NODE_DEBUG: false })],
            alias: { stream: 'stream-browserify' },
            define: { global: 'window', 'define.amd': 'false' },
            target: 'es2016',
            logLevel: 'warning',
        })
        .then(() => console.log(`built ${path.relative(process.cwd(), outfile)}`));
});

// Copied as a classic script, minified only: it assigns the global `regeneratorRuntime` (not strict mode).
const regenerator = esbuild
    .build({
        entryPoints: [require.resolve('regenerator-runtime/runtime.js')],
        outfile: runtime,
        bundle: false,
        minify: true,
        target: 'es2016',
        logLevel: 'warning',
    })
    .then(() => console.log(`built ${path.relative(process.cwd(), runtime)}`));

Promise.all([...plotly, regenerator]).catch(() => process.exit(1));
