// Send the page's CSRF token with every htmx request (htmx 4 event; header read by the server).
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : null;
  document.addEventListener("htmx:config:request", function (event) {
    if (token) {
      event.detail.ctx.request.headers["X-CSRF-Token"] = token;
    }
  });
})();
