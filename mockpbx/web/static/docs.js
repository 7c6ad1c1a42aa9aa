// The docs page: the running contract (/openapi.json) in Swagger UI, with its servers replaced
// by this page's origin so that "Try it out" calls this mock and nothing else.
(function () {
  "use strict";
  var status = document.getElementById("docs-status");

  function fail(message) {
    status.textContent = "Could not show the contract: " + message;
    status.className = "mockpbx-status error";
  }

  if (typeof window.SwaggerUIBundle !== "function") {
    fail("the Swagger UI script did not load");
    return;
  }
  fetch("/openapi.json", { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("GET /openapi.json answered " + response.status); }
      return response.json();
    })
    .then(function (spec) {
      spec.servers = [{ url: window.location.origin, description: "this mock" }];
      window.ui = window.SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        validatorUrl: null,            // no badge fetched from the internet
        displayRequestDuration: true,
        defaultModelsExpandDepth: 0,
        presets: [window.SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
        onComplete: function () { status.textContent = ""; }
      });
    })
    .catch(function (error) { fail(error.message); });
})();
