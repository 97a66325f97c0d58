// Tocsin's console: live updates over Server-Sent Events. The pages work without this;
// it only re-reads the page and swaps its live parts (elements with data-live and an id)
// when the server says something changed, and every 30 s so SLA clocks count down.
(function () {
  "use strict";
  var source = document.querySelector("[data-events]");
  if (!source || !window.EventSource || !window.fetch) { return; }
  var busy = false;
  var again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (text) {
        if (!text) { return; }
        var fresh = new DOMParser().parseFromString(text, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (old) {
          var next = fresh.getElementById(old.id);
          if (!next || old.contains(document.activeElement)) { return; }
          old.replaceWith(document.importNode(next, true));
        });
        showLive();
      })
      .catch(function () { /* the next event or tick tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  function showLive() {
    document.querySelectorAll(".live-note").forEach(function (note) { note.hidden = false; });
  }

  var stream = new EventSource(source.getAttribute("data-events"));
  stream.addEventListener("timeline", refresh);
  stream.addEventListener("incidents", refresh);
  showLive();
  window.setInterval(refresh, 30000);
})();
