/* Dash's renderer, on a page's first render, sends one RESET_COMPONENT_STATE action per new component
 * (dash-renderer's DashWrapper) to drop the render hashes recorded under it. A component that has just
 * appeared has none, so the action changes nothing, yet every action makes every mounted component re-run
 * its selector: a board of 600 components paid 600 × 600 selector runs, about 1.5 s of a first load.
 *
 * This drops exactly those no-op actions, before the store sees them: a reset is passed on whenever any
 * hash lies under its path, so the store ends in the same state. It wraps the store's dispatch as the
 * renderer publishes the store (window.store); with another renderer, nothing here runs.
 * tests/browser/test_first_load.py checks that it engages and that pages render and drill as before.
 */
(function () {
    'use strict';
    var RESET = 'RESET_COMPONENT_STATE';
    var current;

    function quiet(store) {
        if (!store || typeof store.dispatch !== 'function' || store.cockpitQuietResets) {
            return;
        }
        var dispatch = store.dispatch;
        store.cockpitQuietResets = 0;
        store.dispatch = function (action) {
            var path = action && action.type === RESET && action.payload && action.payload.itempath;
            if (Array.isArray(path)) {
                var prefix = path.join(',');
                var hashes = store.getState().layoutHashes || {};
                var any = Object.keys(hashes).some(function (key) {
                    return key.indexOf(prefix) === 0;
                });
                if (!any) {
                    store.cockpitQuietResets += 1;
                    return action;
                }
            }
            return dispatch.apply(this, arguments);
        };
    }

    Object.defineProperty(window, 'store', {
        configurable: true,
        get: function () {
            return current;
        },
        set: function (store) {
            quiet(store);
            current = store;
        },
    });
})();
