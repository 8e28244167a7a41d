// When the server says the session is gone (a 401 to a callback: signed out, timed out, a screen token
// revoked), leave the page for the login page at once: nothing of the old view stays on the screen.
(function () {
  "use strict";
  var original = window.fetch;
  if (!original) {
    return;
  }
  window.fetch = function (resource, init) {
    return original.call(this, resource, init).then(function (response) {
      var url = typeof resource === "string" ? resource : (resource && resource.url) || "";
      if (response.status === 401 && url.indexOf("/_dash-") !== -1) {
        document.body.innerHTML = "";
        window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      }
      return response;
    });
  };
})();
