// The live dashboard: the event stream says an incident changed, the open-incidents table is
// fetched again and swapped in; "next step in N s" counts down every second. Without this
// script the page is a plain render with a refresh link.
(function () {
  "use strict";

  var box = document.getElementById("open-incidents");
  if (!box) {
    return;
  }
  var fragmentUrl = box.getAttribute("data-fragment-url");
  var eventsUrl = box.getAttribute("data-events-url");
  var live = document.getElementById("dashboard-live");
  var skew = 0; // server clock minus this browser's, from the table's data-now

  // The server wrote data-now between `sentAt` and now: take the middle, so a slow answer does
  // not shift every countdown by its latency.
  function calibrate(sentAt) {
    var stamp = box.querySelector("[data-now]");
    var server = stamp ? Date.parse(stamp.getAttribute("data-now")) : NaN;
    if (!isNaN(server)) {
      var received = Date.now();
      skew = server - (sentAt + received) / 2;
    }
  }

  function tick() {
    var now = Date.now() + skew;
    var steps = box.querySelectorAll(".next-step[data-due]");
    for (var i = 0; i < steps.length; i++) {
      var due = Date.parse(steps[i].getAttribute("data-due"));
      var when = steps[i].querySelector(".when");
      if (isNaN(due) || !when) {
        continue;
      }
      var seconds = Math.ceil((due - now) / 1000);
      when.textContent = seconds > 0 ? "in " + seconds + " s" : "due now";
    }
  }

  var loading = false;
  var again = false;

  function refresh() {
    if (loading) {
      again = true; // one more fetch once this one is done, so the last change is never missed
      return;
    }
    loading = true;
    var sentAt = Date.now();
    fetch(fragmentUrl, { credentials: "same-origin", headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          throw new Error("fragment " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        box.setAttribute("data-refreshed", new Date().toISOString());
        calibrate(sentAt);
        tick();
      })
      .catch(function () {
        /* the next change (or reconnect) tries again */
      })
      .then(function () {
        loading = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  var LABELS = { on: "Live", off: "Reconnecting…", closed: "Not live: use Refresh" };

  function showLive(state) {
    if (!live) {
      return;
    }
    live.hidden = false;
    live.setAttribute("data-live", state);
    live.textContent = LABELS[state];
  }

  var navigation = window.performance && performance.timeOrigin;
  calibrate(navigation ? Math.min(navigation, Date.now()) : Date.now());
  tick();
  window.setInterval(tick, 1000);

  if (!window.EventSource || !eventsUrl) {
    return;
  }
  var source = new EventSource(eventsUrl);
  source.addEventListener("open", function () {
    showLive("on");
    refresh(); // whatever changed between the page (or the last stream) and this stream
  });
  source.addEventListener("changed", refresh);
  source.addEventListener("error", function () {
    // CLOSED: the server asked not to stream (or refused); otherwise the browser retries by itself.
    showLive(source.readyState === EventSource.CLOSED ? "closed" : "off");
  });
})();
