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

// The matrix's cell detail opens in place: the clicked cell is marked selected, the detail shows
// in a panel beside the matrix (below it on a phone), focus moves to its heading, and Escape or
// the close button closes it, returning focus and the address to the matrix. Without JavaScript
// each cell is a plain link to its own page.
(function () {
  var matrixUrl = null;
  var selected = null;

  function panel() { return document.getElementById("cell-detail"); }

  function close() {
    var box = panel();
    if (!box || !box.classList.contains("cell-panel") || !box.hasChildNodes()) { return; }
    box.replaceChildren();
    document.body.classList.remove("detail-open");
    if (matrixUrl) { history.pushState({}, "", matrixUrl); }
    if (selected) {
      selected.classList.remove("selected");
      var link = selected.querySelector(".cell-link");
      if (link) { link.focus(); }
    }
    selected = null;
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    if (target.closest("[data-close-detail]")) { close(); return; }
    var link = target.closest("#matrix .cell-link");
    if (!link) { return; }
    if (!selected) { matrixUrl = location.pathname + location.search; }
    if (selected) { selected.classList.remove("selected"); }
    selected = link.closest("td");
    if (selected) { selected.classList.add("selected"); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { close(); }
  });

  function watch() {
    var box = panel();
    if (!box || !box.classList.contains("cell-panel")) { return; }
    new MutationObserver(function () {
      if (!box.hasChildNodes() || !box.querySelector("[data-detail-heading]")) { return; }
      document.body.classList.add("detail-open");
      var heading = box.querySelector("[data-detail-heading]");
      box.scrollTop = 0;
      heading.focus({ preventScroll: false });
    }).observe(box, { childList: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
})();

// A failed save's error summary (templates/_forms.html error_summary) takes focus when it arrives
// with an htmx swap (a full page uses autofocus), and each of its links moves focus to its field,
// not only the view. Without JavaScript the links still scroll to the fields.
(function () {
  document.addEventListener("htmx:after:settle", function () {
    var summary = document.querySelector("[data-error-summary]");
    // Only a summary the swap just brought: one already on the page (the editor is fixing the
    // fields, and a speaker search swaps the list) must not pull focus back to it.
    if (summary && !summary.hasAttribute("data-shown")) {
      summary.setAttribute("data-shown", "");
      if (document.activeElement !== summary) { summary.focus(); }
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var link = target ? target.closest("[data-error-summary] a[href^='#']") : null;
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) { return; }
    event.preventDefault();
    var control = field.matches("input, select, textarea, button") ? field : field.querySelector("input, select, textarea, button");
    field.scrollIntoView({ block: "center" });
    (control || field).focus({ preventScroll: true });
  });
})();

// Parts of a page that only work with JavaScript (class js-only) show once it runs; and Enter
// in a search box that filters a list below it (data-then-focus) moves to that list rather than
// submitting the form around it.
(function () {
  document.documentElement.classList.add("js");
  document.addEventListener("keydown", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (event.key !== "Enter" || !target || !target.hasAttribute("data-then-focus")) { return; }
    event.preventDefault();
    var next = document.getElementById(target.getAttribute("data-then-focus"));
    if (next) { next.focus(); }
  });
})();

// A part of a form swapped by htmx keeps the keyboard where it was: when the control that had
// focus was replaced ("Fill from URL" swaps the whole form, "Add another issue" its own button),
// focus goes to the same control in the new content (by id, or a button by name and value), or
// not back to the top of the page; a control with data-focus-after (a CSS selector) sends focus
// there once its request has swapped in (the new pair's issue).
(function () {
  var was = null;
  document.addEventListener("htmx:before:swap", function () {
    var active = document.activeElement;
    if (!active || active === document.body) { return; }
    was = {
      id: active.id,
      tag: active.tagName.toLowerCase(),
      name: active.getAttribute("name"),
      value: active.getAttribute("value"),
      after: active.getAttribute("data-focus-after"),
    };
  });
  function restore() {
    var wanted = was;
    was = null;
    if (!wanted) { return; }
    var after = wanted.after ? document.querySelector(wanted.after) : null;
    if (after) { after.focus(); return; }
    if (document.activeElement && document.activeElement !== document.body) { return; }
    var next = wanted.id ? document.getElementById(wanted.id) : null;
    if (!next && wanted.name) {
      var selector = wanted.tag + "[name='" + CSS.escape(wanted.name) + "']";
      if (wanted.value !== null) { selector += "[value='" + CSS.escape(wanted.value) + "']"; }
      next = document.querySelector(selector);
    }
    if (next) { next.focus(); }
  }
  // After every swap of the response (out-of-band ones too) has settled.
  document.addEventListener("htmx:after:settle", function () { window.setTimeout(restore, 0); });
})();
