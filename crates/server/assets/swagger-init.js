// Starts Swagger UI on the API's own OpenAPI document (a file, not inline: the page's
// Content-Security-Policy allows only this site's scripts).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});
