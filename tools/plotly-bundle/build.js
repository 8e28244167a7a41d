// Builds cockpit/assets/plotly-cockpit.min.js from entry.js with plotly.js's own esbuild settings
// (its esbuild-config.js, without the WebGL shader plugin: no gl trace is included).
// Run by `make install` (see the Makefile); the output is not committed.
const path = require('path');
const esbuild = require('esbuild');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');
const { environmentPlugin } = require('esbuild-plugin-environment');

const outfile = path.join(__dirname, '..', '..', 'cockpit', 'assets', 'plotly-cockpit.min.js');

esbuild
    .build({
        entryPoints: [path.join(__dirname, 'entry.js')],
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
    .then(() => console.log(`built ${path.relative(process.cwd(), outfile)}`))
    .catch(() => process.exit(1));
