/* Command board of a planned event (CSP: no inline script; htmx and Leaflet from /static).
   - times shown in the browser's time zone; forms send that zone along with their times
   - "+ unit" in a cell prefills the assign form; chips drag between cells to move a unit
   - 409/422 answers are swapped in (they carry the form with its errors)
   - live refresh: on a live event about this board (GET /api/v1/live, Server-Sent Events)
     the affected part is fetched again with htmx; without that endpoint, or when it fails,
     the parts are polled every 30 seconds while the page is visible. */
(function () {
  "use strict";
  var POLL_MS = 30000;
  var ZONE = (function () {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
  })();
  var FORMATS = {
    time: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
    day: { weekday: "short", day: "2-digit", month: "short" },
    daytime: { weekday: "short", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
    full: { weekday: "short", day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }
  };

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* The zone's short name at the times on the page (EDT for a July event, even in winter). */
  function zoneLabel() {
    try {
      var first = document.querySelector("time[datetime]");
      var at = first ? new Date(first.getAttribute("datetime")) : new Date();
      var parts = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(isNaN(at.getTime()) ? new Date() : at);
      var name = parts.filter(function (p) { return p.type === "timeZoneName"; }).map(function (p) { return p.value; })[0];
      return name && name !== ZONE ? name + " (" + ZONE.replace(/_/g, " ") + ")" : ZONE.replace(/_/g, " ");
    } catch (e) { return ZONE; }
  }

  /* Rewrite times into the browser's zone; give forms that zone; show datetime-local
     inputs prefilled from UTC in local time. Runs on load and after every swap. */
  function localize(root) {
    root.querySelectorAll("time[data-fmt]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      var fmt = FORMATS[el.getAttribute("data-fmt")];
      if (isNaN(when.getTime()) || !fmt) { return; }
      el.textContent = new Intl.DateTimeFormat("en-GB", fmt).format(when).replace(/,/g, "");
    });
    root.querySelectorAll("[data-tz-label]").forEach(function (el) { el.textContent = zoneLabel(); });
    root.querySelectorAll("input[data-tz-field]").forEach(function (el) { el.value = ZONE; });
    root.querySelectorAll("input[type=datetime-local][data-utc]").forEach(function (el) {
      var when = new Date(el.getAttribute("data-utc"));
      if (isNaN(when.getTime())) { return; }
      el.value = when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) + "T" +
        pad(when.getHours()) + ":" + pad(when.getMinutes());
      el.removeAttribute("data-utc");
    });
    var unread = document.querySelector("#board-messages [data-unread]");
    var count = unread ? parseInt(unread.getAttribute("data-unread"), 10) || 0 : 0;
    document.title = document.title.replace(/^\(\d+\) /, "");
    if (count) { document.title = "(" + count + ") " + document.title; }
  }

  function whenReady(fn) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", fn); } else { fn(); }
  }

  var board = document.getElementById("board");
  if (!board) { whenReady(function () { localize(document); }); return; }  // the list of boards
  var incidentId = board.getAttribute("data-incident");

  function toast(text) {
    var el = document.createElement("div");
    el.className = "board-toast";
    el.setAttribute("role", "alert");
    el.textContent = text;
    document.body.appendChild(el);
    window.setTimeout(function () { el.remove(); }, 5000);
  }

  /* -- htmx: refused forms come back with their errors ---------------------------------- */
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422) { return; }
    toast(status === 403 ? "Not permitted: your role cannot do that here." :
      status === 404 ? "Not found: the board or the item is gone." : "The server could not do that (" + status + ").");
  });
  document.body.addEventListener("htmx:sendError", function () { toast("No connection to the server; try again."); });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "message-form" && event.detail.successful && event.detail.xhr.status === 200) {
      var fresh = document.getElementById("message-text");
      if (fresh) { fresh.focus(); }
    }
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    localize(document);
    if (event.detail.elt && event.detail.elt.id === "board-grid") { layoutChanged(); }
  });

  /* -- grid: "+ unit", drag to move, print ------------------------------------------------ */
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-assign-shift]");
    if (add) {
      var form = document.getElementById("assign-form");
      if (!form) { return; }
      form.closest("details").open = true;
      form.querySelector("[name=shift_id]").value = add.getAttribute("data-assign-shift");
      form.querySelector("[name=post_id]").value = add.getAttribute("data-assign-post");
      form.scrollIntoView({ block: "nearest" });
      form.querySelector("[name=unit]").focus();
      return;
    }
    if (event.target.closest("[data-print]")) { window.print(); return; }
    var correct = event.target.closest("[data-correct]");
    if (correct) {
      var messageForm = document.getElementById("message-form");
      if (!messageForm) { return; }
      messageForm.querySelector("[data-corrects-field]").value = correct.getAttribute("data-correct");
      messageForm.querySelector("[data-correcting]").hidden = false;
      messageForm.querySelector("textarea").focus();
      return;
    }
    if (event.target.closest("[data-cancel-correct]")) {
      var owner = event.target.closest("form");
      owner.querySelector("[data-corrects-field]").value = "";
      owner.querySelector("[data-correcting]").hidden = true;
    }
  });

  var dragging = null;
  document.addEventListener("dragstart", function (event) {
    var chip = event.target.closest && event.target.closest(".chip[data-move]");
    if (!chip) { return; }
    dragging = chip;
    chip.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", chip.getAttribute("data-move"));
  });
  document.addEventListener("dragend", function () {
    if (dragging) { dragging.classList.remove("dragging"); }
    dragging = null;
    document.querySelectorAll(".cell.drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });
  document.addEventListener("dragover", function (event) {
    var cell = dragging && event.target.closest && event.target.closest("td.cell");
    if (!cell) { return; }
    event.preventDefault();
    document.querySelectorAll(".cell.drop-target").forEach(function (c) { if (c !== cell) { c.classList.remove("drop-target"); } });
    cell.classList.add("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var cell = dragging && event.target.closest && event.target.closest("td.cell");
    if (!cell) { return; }
    event.preventDefault();
    var url = dragging.getAttribute("data-move");
    var from = dragging.closest("td.cell");
    if (from === cell || typeof htmx === "undefined") { return; }
    htmx.ajax("POST", url, {
      source: cell, target: "#board-grid", swap: "outerHTML",
      values: { shift_id: cell.getAttribute("data-shift"), post_id: cell.getAttribute("data-post") }
    });
  });

  /* -- map of the posts ------------------------------------------------------------------- */
  var map = null, postLayer = null, pickMarker = null;
  function drawPosts() {
    if (!map) { return; }
    fetch(board.getAttribute("data-posts-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("posts " + r.status); } return r.json(); })
      .then(function (posts) {
        postLayer.clearLayers();
        posts.forEach(function (p) {
          var lon = p.location.coordinates[0], lat = p.location.coordinates[1];
          if (p.radius_m) {
            L.circle([lat, lon], { radius: p.radius_m, color: "#0a58ca", weight: 1, fillOpacity: 0.08, interactive: false }).addTo(postLayer);
          }
          L.circleMarker([lat, lon], { radius: 6, color: "#0b1f33", weight: 2, fillColor: "#f2b33d", fillOpacity: 1 })
            .bindTooltip(p.name, { permanent: true, direction: "right", offset: [6, 0], className: "post-label" })
            .addTo(postLayer);
        });
        var bounds = postLayer.getLayers().length ? postLayer.getBounds() : null;
        if (bounds && bounds.isValid()) { map.fitBounds(bounds, { padding: [28, 28], maxZoom: 16 }); }
        document.getElementById("board-map").setAttribute("data-loaded", String(posts.length));
      })
      .catch(function (err) { document.getElementById("board-map").setAttribute("data-error", err.message); });
  }

  function initMap() {
    var el = document.getElementById("board-map");
    if (!el || typeof L === "undefined") { return; }
    map = L.map(el, { zoomSnap: 0.25, attributionControl: false, scrollWheelZoom: false });
    var tiles = el.getAttribute("data-basemap");
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); } else { el.classList.add("no-basemap"); }
    L.control.scale({ imperial: true }).addTo(map);
    map.setView([40.9, -76.78], 13);
    var area = el.getAttribute("data-area");
    if (area) {
      try {
        var shape = L.geoJSON(JSON.parse(area), { style: { color: "#9a6700", weight: 2, dashArray: "6 4", fillOpacity: 0.05 }, interactive: false }).addTo(map);
        map.fitBounds(shape.getBounds(), { padding: [20, 20], maxZoom: 16 });
      } catch (e) { /* a broken area is simply not drawn */ }
    }
    postLayer = L.featureGroup().addTo(map);
    drawPosts();
    if (el.getAttribute("data-pick") === "true") {
      el.classList.add("picking");
      map.on("click", function (e) {
        var lat = document.getElementById("post-lat"), lon = document.getElementById("post-lon");
        if (!lat || !lon) { return; }
        lat.value = e.latlng.lat.toFixed(6);
        lon.value = e.latlng.lng.toFixed(6);
        lat.closest("details").open = true;
        if (pickMarker) { map.removeLayer(pickMarker); }
        pickMarker = L.circleMarker(e.latlng, { radius: 6, color: "#b42318", weight: 2, fillOpacity: 0.3 }).addTo(map);
        document.getElementById("post-name").focus();
      });
    }
  }

  /* -- refreshing parts --------------------------------------------------------------------- */
  var pending = {};
  var timer = null;
  var layout = gridLayout();

  function gridLayout() {
    var heads = document.querySelectorAll("#board-grid [data-shift].shift-head, #board-grid tr[data-post]");
    return Array.prototype.map.call(heads, function (h) { return h.getAttribute("data-shift") || h.getAttribute("data-post"); }).join(",");
  }

  function layoutChanged() {
    var now = gridLayout();
    if (now !== layout) { layout = now; pending.forms = true; pending.map = true; schedule(); }
  }

  /* Someone is working in this part: a half-written message, a form being filled in, a
     chip being dragged. Its refresh waits until they are done. */
  function busy(part, el) {
    if (part === "grid") { return !!dragging; }
    if (part === "messages") {
      var text = el.querySelector("textarea");
      return !!(text && text.value.trim());
    }
    return el.contains(document.activeElement) && document.activeElement !== document.body;
  }

  function refresh(part) {
    if (part === "map") { drawPosts(); return; }
    var el = document.querySelector("[data-part='" + part + "']");
    if (!el || typeof htmx === "undefined") { return; }
    if (busy(part, el)) {
      window.setTimeout(function () { pending[part] = true; schedule(); }, 3000);
      return;
    }
    var opened = Array.prototype.map.call(el.querySelectorAll("details[open] > summary"), function (s) { return s.textContent; });
    htmx.ajax("GET", el.getAttribute("data-refresh"), { target: "#" + el.id, swap: "outerHTML" }).then(function () {
      if (part !== "forms") { return; }
      var fresh = document.querySelector("[data-part='forms']");
      if (!fresh) { return; }
      fresh.querySelectorAll("details > summary").forEach(function (s) { s.parentNode.open = opened.indexOf(s.textContent) >= 0; });
    });
  }

  function schedule() {
    if (timer) { return; }
    timer = window.setTimeout(function () {
      timer = null;
      if (document.visibilityState === "hidden") { document.addEventListener("visibilitychange", schedule, { once: true }); return; }
      var parts = Object.keys(pending);
      pending = {};
      parts.forEach(refresh);
    }, 250);
  }

  var PARTS = {
    board_shift: ["grid", "forms"],
    board_post: ["grid", "forms", "map", "messages"],
    board_assignment: ["grid"],
    board_message: ["messages"],
    board_receipt: ["messages"],
    incident: ["grid", "forms", "messages"]
  };

  function onLiveEvent(raw) {
    var event;
    try { event = JSON.parse(raw.data); } catch (e) { return; }
    if (!event || typeof event !== "object") { return; }
    var payload = event.payload || {};
    if (payload.incident_id !== incidentId && event.object_id !== incidentId) { return; }
    if (event.object_type === "incident" && payload.status === "closed") { window.location.reload(); return; }
    (PARTS[event.object_type] || []).forEach(function (part) { pending[part] = true; });
    schedule();
  }

  var status = document.getElementById("live-status");
  function setStatus(text, state) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("is-live", state === "live");
    status.classList.toggle("is-down", state === "down");
  }

  var polling = null;
  function poll() {
    if (polling) { return; }
    setStatus("Refreshes every 30 s", "poll");
    polling = window.setInterval(function () { pending.grid = true; pending.messages = true; schedule(); }, POLL_MS);
  }

  var KINDS = [
    "board.shift.added", "board.shift.removed", "board.post.added", "board.post.removed",
    "board.assignment.added", "board.assignment.changed", "board.assignment.removed",
    "board.message.posted", "board.message.read",
    "incident.updated", "incident.participant.added"
  ];

  function connect() {
    var url = board.getAttribute("data-live-url");
    if (!url || typeof window.EventSource === "undefined") { poll(); return; }
    var source;
    try { source = new EventSource(url, { withCredentials: true }); } catch (e) { poll(); return; }
    source.addEventListener("open", function () {
      if (polling) { window.clearInterval(polling); polling = null; }
      setStatus("Live", "live");  // a reconnection replays what it missed (Last-Event-ID)
    });
    source.addEventListener("message", onLiveEvent);
    KINDS.forEach(function (kind) { source.addEventListener(kind, onLiveEvent); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) { poll(); } else { setStatus("Reconnecting…", "down"); }
    });
  }

  /* Printed boards list who read each message. */
  var reopened = [];
  window.addEventListener("beforeprint", function () {
    reopened = Array.prototype.filter.call(document.querySelectorAll("details.receipts"), function (d) { return !d.open; });
    reopened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () { reopened.forEach(function (d) { d.open = false; }); reopened = []; });

  function init() {
    localize(document);
    initMap();
    connect();
  }
  whenReady(init);
})();
