// weft inspector: progressive enhancement only; every page works without it.
// - times are shown in the browser's own zone, and "in 3 h" kept current;
// - forms marked data-confirm ask before they are sent;
// - the filter form drops empty fields from the URL.
(function () {
  "use strict";
  function span(ms) {
    var s = Math.abs(ms) / 1000;
    if (s < 60) return Math.floor(s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 48 * 3600) return Math.round(s / 3600) + " h";
    return Math.floor(s / 86400) + " d";
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function local(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  // "in 3 h" is measured on the server's clock (inspector.WithClock), read
  // from the page and moved on by the browser's: a browser whose clock is
  // off still agrees with the server.
  var skew = 0;
  function times() {
    document.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = local(d);
    });
    document.querySelectorAll(".rel[data-at]").forEach(function (r) {
      var ms = new Date(r.getAttribute("data-at")) - (Date.now() + skew);
      if (isNaN(ms)) return;
      r.textContent = ms < 0 ? span(ms) + " ago" : "in " + span(ms);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var now = new Date(document.body.getAttribute("data-now"));
    if (!isNaN(now)) skew = now - Date.now();
    times();
    setInterval(times, 30000);
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
    document.querySelectorAll("form.filter").forEach(function (f) {
      f.addEventListener("submit", function () {
        f.querySelectorAll("input, select").forEach(function (el) {
          if (el.name && el.value === "") el.disabled = true;
        });
      });
    });
  });
})();
