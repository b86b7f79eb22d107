/* Accord live updates: one Server-Sent Events connection per page (GET /api/v1/live).
   - The page says where its state was read ([data-live][data-last-event-id]); the first
     connection resumes after that id, so nothing committed in between is missed. The
     browser reconnects on its own with Last-Event-ID.
   - [data-live-status] shows whether the connection is open.
   - Every event is re-dispatched on document as "accord:live" (detail: the event).
   - [data-live-part] sections re-read themselves (htmx) when an event of one of their
     kinds (data-live-kinds, prefixes) concerns this page's incident.
   - [data-live-reload] pages reload when an event of one of those kinds arrives.
   Events carry ids and states only; what changed is always re-read from the server. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root || !window.EventSource) { return; }
  var after = root.getAttribute("data-last-event-id");
  var url = "/api/v1/live" + (after ? "?after=" + encodeURIComponent(after) : "");
  var incident = root.getAttribute("data-incident");
  var reloadKinds = (root.getAttribute("data-live-reload") || "").split(",").filter(Boolean);
  var timers = new WeakMap();
  var source = null;

  function show(state, text) {
    document.querySelectorAll("[data-live-status]").forEach(function (el) {
      el.classList.remove("is-live", "is-reconnecting", "is-offline");
      el.classList.add("is-" + state);
      el.textContent = text;
      el.setAttribute("data-state", state);
    });
  }

  function startsWithAny(kind, prefixes) {
    return prefixes.some(function (p) { return p && kind.indexOf(p.trim()) === 0; });
  }

  function concernsIncident(event) {
    if (!incident) { return false; }
    return event.object_id === incident || (event.payload && event.payload.incident_id === incident);
  }

  function refresh(el) {
    if (timers.get(el)) { return; }
    timers.set(el, window.setTimeout(function () {
      timers.delete(el);
      var current = document.getElementById(el.id) || el;
      if (!window.htmx) { return; }
      window.htmx.ajax("GET", current.getAttribute("hx-get"), { target: "#" + current.id, swap: "outerHTML" })
        .then(function () {
          var fresh = document.getElementById(current.id);
          if (fresh) { fresh.classList.add("live-flash"); }
        });
    }, 250));
  }

  function deliver(event) {
    document.dispatchEvent(new CustomEvent("accord:live", { detail: event }));
    if (reloadKinds.length && startsWithAny(event.kind, reloadKinds)) {
      window.setTimeout(function () { window.location.reload(); }, 400);
      return;
    }
    if (!concernsIncident(event)) { return; }
    document.querySelectorAll("[data-live-part]").forEach(function (el) {
      var kinds = (el.getAttribute("data-live-kinds") || "").split(",");
      if (startsWithAny(event.kind, kinds)) { refresh(el); }
    });
  }

  function connect() {
    show("reconnecting", "Connecting…");
    source = new EventSource(url, { withCredentials: true });
    source.onopen = function () { show("live", "Live"); };
    source.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      deliver(event);
    };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        show("offline", "Offline — reload the page");
      } else {
        show("reconnecting", "Reconnecting…");
      }
    };
    source.addEventListener("reconnect", function () { show("reconnecting", "Reconnecting…"); });
    source.addEventListener("reset", function () { window.location.reload(); });
    source.addEventListener("signed-out", function () {
      source.close();
      show("offline", "Signed out — sign in again");
    });
  }

  window.addEventListener("pagehide", function () { if (source) { source.close(); } });
  connect();
})();
