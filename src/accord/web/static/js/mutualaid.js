/* Accord mutual aid: sections that re-read themselves on live events, and the maps of
   the inventory (resources coloured by status) and of the request form (click to set the
   reporting location). Live events come from live.js ("accord:live" on document); they
   carry ids and states only, so a section always re-reads itself from the server.
   No basemap unless configured: the jurisdictions are drawn faintly for orientation. */
(function () {
  "use strict";

  // -- live sections ---------------------------------------------------------------------
  var timers = {};
  function startsWithAny(kind, prefixes) {
    return prefixes.some(function (p) { return p && kind.indexOf(p.trim()) === 0; });
  }
  function concerns(el, event) {
    var request = el.getAttribute("data-request");
    if (!request) { return true; }
    return event.object_id === request || (event.payload && event.payload.request_id === request);
  }
  function refresh(el) {
    var id = el.id;
    if (timers[id]) { return; }
    timers[id] = window.setTimeout(function () {
      timers[id] = null;
      var current = document.getElementById(id);
      if (!current || !window.htmx) { return; }
      window.htmx.ajax("GET", current.getAttribute("hx-get"), { target: "#" + id, swap: "outerHTML" }).then(function () {
        var fresh = document.getElementById(id);
        if (fresh) {
          fresh.classList.add("live-flash");
          fresh.setAttribute("data-refreshed", String(Date.now()));
        }
      });
    }, 250);
  }
  document.addEventListener("accord:live", function (e) {
    var event = e.detail || {};
    var kind = event.kind || "";
    document.querySelectorAll("[data-ma-live]").forEach(function (el) {
      var kinds = (el.getAttribute("data-live-kinds") || "").split(",");
      if (startsWithAny(kind, kinds) && concerns(el, event)) { refresh(el); }
    });
  });

  // -- maps ------------------------------------------------------------------------------
  var el = document.querySelector("[data-ma-map]");
  if (!el || !window.L) { return; }
  var COLORS = { available: "#1a7f37", assigned: "#0969da", out_of_service: "#8c959f" };
  var LABELS = { available: "Available", assigned: "Assigned", out_of_service: "Out of service" };

  function escapeHtml(text) {
    return (text == null ? "" : String(text))
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function load(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error(url + " " + r.status); } return r.json(); });
  }

  var map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
  var basemap = el.getAttribute("data-basemap");
  if (basemap) { L.tileLayer(basemap, { maxZoom: 18 }).addTo(map); } else { el.classList.add("no-basemap"); }
  L.control.scale({ imperial: true }).addTo(map);
  map.setView([40.92, -76.95], 10);
  if (!basemap) {
    load("/api/v1/agencies.geojson?limit=500").then(function (fc) {
      var outlines = L.geoJSON(fc, {
        filter: function (f) { return f.properties.level === "county" || f.properties.level === "local"; },
        style: function () { return { color: "#d4660f", weight: 1, opacity: 0.6, fillOpacity: 0.03, interactive: false }; }
      }).addTo(map);
      outlines.bringToBack();
      if (el.getAttribute("data-ma-map") === "pick" && outlines.getBounds().isValid() && !pin) {
        map.fitBounds(outlines.getBounds(), { maxZoom: 11 });
      }
    }).catch(function () {});
  }

  // Click to set a place into the form's lon / lat fields.
  var pin = null;
  var lonField = document.getElementById("lon"), latField = document.getElementById("lat");
  function place(latlng) {
    if (pin) { pin.setLatLng(latlng); } else { pin = L.circleMarker(latlng, { radius: 8, color: "#f2b33d", weight: 4, fillOpacity: 0.4 }).addTo(map); }
  }
  if (lonField && latField && (el.getAttribute("data-ma-map") === "pick" || el.getAttribute("data-pick") === "true")) {
    var lon0 = parseFloat(lonField.value), lat0 = parseFloat(latField.value);
    if (!isNaN(lon0) && !isNaN(lat0)) { place(L.latLng(lat0, lon0)); map.setView([lat0, lon0], 11); }
    map.on("click", function (e) {
      lonField.value = e.latlng.lng.toFixed(5);
      latField.value = e.latlng.lat.toFixed(5);
      place(e.latlng);
      var add = document.getElementById("add-resource");
      if (add) { add.open = true; }
    });
  }

  if (el.getAttribute("data-ma-map") !== "inventory") { el.setAttribute("data-loaded", "true"); return; }

  var wantedType = el.getAttribute("data-type"), wantedStatus = el.getAttribute("data-status");
  var group = L.featureGroup().addTo(map);
  load("/api/v1/resources.geojson").then(function (fc) {
    var shown = 0;
    fc.features.forEach(function (f) {
      var p = f.properties;
      if ((wantedType && p.type_key !== wantedType) || (wantedStatus && p.status !== wantedStatus)) { return; }
      var c = f.geometry.coordinates;
      var marker = L.circleMarker([c[1], c[0]], {
        radius: 7 + Math.min(5, p.quantity - 1), color: "#fff", weight: 2, fillColor: COLORS[p.status] || "#57606a", fillOpacity: 0.95
      });
      marker.bindTooltip(escapeHtml(p.name));
      marker.bindPopup("<strong>" + escapeHtml(p.name) + "</strong><br>" + escapeHtml(p.type_key.replace(/_/g, " ")) +
        " · level " + escapeHtml(p.level) + " · " + escapeHtml(p.quantity) + " unit(s)<br>" + escapeHtml(LABELS[p.status] || p.status));
      marker.addTo(group);
      shown += 1;
    });
    if (group.getBounds().isValid()) { map.fitBounds(group.getBounds().pad(0.15), { maxZoom: 12 }); }
    el.setAttribute("data-resources", String(shown));
    el.setAttribute("data-loaded", "true");
  }).catch(function (e) { el.setAttribute("data-error", String(e)); });
})();
