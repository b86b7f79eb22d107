/* Accord operating picture (Leaflet): the full-screen common operating picture
   ([data-opmap="cop"]) and the map on an incident's page ([data-opmap="incident"]).
   Layers come from /api/v1/map/*.geojson, read through the same rules as every page;
   "accord:live" events (live.js) re-read them or move markers; the time slider reads
   them as they were at a moment of the last 24 hours. No basemap unless configured. */
(function () {
  "use strict";
  var el = document.querySelector("[data-opmap]");
  if (!el || !window.L) { return; }
  var mode = el.getAttribute("data-opmap");
  var focusIncident = el.getAttribute("data-focus") || el.getAttribute("data-incident") || "";
  var STATUS_COLORS = { assigned: "#0969da", in_progress: "#1a7f37", blocked: "#cf222e", done: "#8c959f", cancelled: "#8c959f" };
  var SEVERITY_COLORS = { extreme: "#a40e26", severe: "#cf222e", moderate: "#d4660f", minor: "#9a6700" };

  var map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
  var basemap = el.getAttribute("data-basemap");
  if (basemap) { L.tileLayer(basemap, { maxZoom: 18 }).addTo(map); } else { el.classList.add("no-basemap"); }
  L.control.scale({ imperial: true }).addTo(map);
  map.setView([40.95, -77.05], 10);

  var groups = {
    jurisdictions: L.featureGroup(),
    incidents: L.featureGroup().addTo(map),
    tasks: L.featureGroup().addTo(map),
    planned: L.featureGroup(),
    resources: L.featureGroup()
  };
  var RESOURCE_COLORS = { available: "#1a7f37", assigned: "#0969da", out_of_service: "#8c959f" };
  var resourceMarkers = {};
  var resourcesOn = false;
  var published = {};
  var taskMarkers = {};
  var at = null; // null: now (live); else an ISO time on the slider
  var framed = false;

  function escapeHtml(text) {  // safe in text and in quoted attributes
    return (text == null ? "" : String(text))
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function query(url) {
    return url + (at ? (url.indexOf("?") < 0 ? "?" : "&") + "at=" + encodeURIComponent(at) : "");
  }

  function load(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error(url + " " + r.status); } return r.json(); });
  }

  function count(name, n) {
    var c = document.querySelector('[data-count="' + name + '"]');
    if (c) { c.textContent = n; }
    el.setAttribute("data-" + name, n);
  }

  function taskIcon(p, fresh) {
    var color = STATUS_COLORS[p.status] || "#0969da";
    return L.divIcon({
      className: "cop-marker" + (fresh ? " is-new" : ""),
      html: '<span style="background:' + color + '">T' + escapeHtml(p.number) + "</span>",
      iconSize: [26, 26], iconAnchor: [13, 13]
    });
  }

  function frame() {
    if (framed) { return; }
    var focus = null;
    if (focusIncident) {
      groups.incidents.eachLayer(function (layer) {
        if (layer.feature && layer.feature.properties.id === focusIncident) { focus = layer.getBounds ? layer.getBounds() : null; }
      });
    }
    var all = L.featureGroup([groups.incidents, groups.tasks, groups.planned]);
    var bounds = focus && focus.isValid() ? focus : all.getBounds();
    if (bounds.isValid()) {
      framed = true;
      map.fitBounds(bounds.pad(0.25), { maxZoom: 14 });
    }
  }

  function loadIncidents() {
    return load(query("/api/v1/map/incidents.geojson")).then(function (fc) {
      groups.incidents.clearLayers();
      var features = fc.features.filter(function (f) { return mode === "cop" || f.properties.id === focusIncident; });
      L.geoJSON({ type: "FeatureCollection", features: features }, {
        style: function (f) {
          var c = SEVERITY_COLORS[f.properties.severity] || "#cf222e";
          return { color: c, weight: 2, fillColor: c, fillOpacity: f.properties.taking_part ? 0.18 : 0.08, dashArray: f.properties.taking_part ? null : "5 4" };
        },
        pointToLayer: function (f, latlng) {
          var c = SEVERITY_COLORS[f.properties.severity] || "#cf222e";
          return L.circleMarker(latlng, { radius: 9, color: "#fff", weight: 2, fillColor: c, fillOpacity: 1 });
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindPopup("<strong>" + escapeHtml(p.number + " " + p.name) + "</strong><br>" + escapeHtml(p.status) +
            " · " + escapeHtml(p.severity) + (p.taking_part ? "" : " · shared with you") +
            '<br><a href="' + escapeHtml(p.url) + '">Open the incident</a>');
        }
      }).eachLayer(function (layer) { groups.incidents.addLayer(layer); });
      count("incidents", features.filter(function (f) { return !f.properties.point; }).length || features.length);
    });
  }

  function loadTasks(fresh) {
    return load(query("/api/v1/map/tasks.geojson")).then(function (fc) {
      var seen = {};
      fc.features.forEach(function (f) {
        var p = f.properties;
        if (mode === "incident" && p.incident_id !== focusIncident) { return; }
        seen[p.id] = true;
        var latlng = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
        var marker = taskMarkers[p.id];
        var isNew = !marker;
        if (isNew) {
          marker = L.marker(latlng, { icon: taskIcon(p, fresh), title: "T" + p.number + " " + p.title, keyboard: true });
          marker.addTo(groups.tasks);
          taskMarkers[p.id] = marker;
        } else {
          marker.setLatLng(latlng);
          marker.setIcon(taskIcon(p, false));
        }
        marker.getElement && marker.getElement() && marker.getElement().setAttribute("data-task", p.id);
        marker.bindPopup("<strong>T" + escapeHtml(p.number) + " " + escapeHtml(p.title) + "</strong><br>" +
          escapeHtml(p.status.replace("_", " ")) + (p.unit ? " · " + escapeHtml(p.unit) : "") +
          '<br><a href="' + escapeHtml(p.url) + '">Open the task board</a>');
      });
      Object.keys(taskMarkers).forEach(function (id) {
        if (!seen[id]) { groups.tasks.removeLayer(taskMarkers[id]); delete taskMarkers[id]; }
      });
      count("tasks", Object.keys(taskMarkers).length);
    });
  }

  function loadPlanned() {
    if (mode !== "cop" || !el.getAttribute("data-planned")) { return Promise.resolve(); }
    return load(query("/api/v1/map/planned.geojson")).then(function (fc) {
      groups.planned.clearLayers();
      L.geoJSON(fc, {
        style: function () { return { color: "#6e40c9", weight: 2, dashArray: "2 4", fillOpacity: 0.08 }; },
        pointToLayer: function (f, latlng) {
          return f.properties.radius_m ? L.circle(latlng, { radius: f.properties.radius_m, color: "#6e40c9", weight: 2, dashArray: "2 4", fillOpacity: 0.08 })
            : L.circleMarker(latlng, { radius: 7, color: "#6e40c9" });
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindPopup("<strong>" + escapeHtml(p.title) + "</strong><br>" + escapeHtml(p.starts_at.slice(0, 16).replace("T", " ")) +
            "–" + escapeHtml(p.ends_at.slice(11, 16)) + ' UTC<br><a href="' + escapeHtml(p.url) + '">Open</a>');
        }
      }).eachLayer(function (layer) { groups.planned.addLayer(layer); });
      count("planned", fc.features.length);
    });
  }

  // Mutual-aid resources where they are now (the layer is for holders of its permission;
  // its toggle shows only to them). Not on the time slider: it is always "now".
  function resourceIcon(p) {
    var color = RESOURCE_COLORS[p.status] || "#57606a";
    return L.divIcon({
      className: "cop-marker cop-resource",
      html: '<span style="background:' + color + ';border-radius:5px;box-shadow:0 0 0 2px #0b1f33">R</span>',
      iconSize: [22, 22], iconAnchor: [11, 11]
    });
  }

  function loadResources() {
    return load("/api/v1/resources.geojson").then(function (fc) {
      var seen = {};
      fc.features.forEach(function (f) {
        var p = f.properties;
        seen[p.id] = true;
        var latlng = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
        var marker = resourceMarkers[p.id];
        if (!marker) {
          marker = L.marker(latlng, { icon: resourceIcon(p), title: p.name, keyboard: true }).addTo(groups.resources);
          resourceMarkers[p.id] = marker;
        } else {
          if (!marker.getLatLng().equals(latlng)) { glide(marker, [latlng.lng, latlng.lat]); }
          marker.setIcon(resourceIcon(p));
        }
        marker.bindPopup("<strong>" + escapeHtml(p.name) + "</strong><br>" + escapeHtml(p.type_key.replace(/_/g, " ")) +
          " · level " + escapeHtml(p.level) + " · " + escapeHtml(p.quantity) + " unit(s)<br>" + escapeHtml(p.status.replace(/_/g, " ")) +
          '<br><a href="/mutual-aid/inventory">Inventory</a>');
      });
      Object.keys(resourceMarkers).forEach(function (id) {
        if (!seen[id]) { groups.resources.removeLayer(resourceMarkers[id]); delete resourceMarkers[id]; }
      });
      count("resources", Object.keys(resourceMarkers).length);
      el.setAttribute("data-resources-loaded", "true");
    });
  }

  function loadJurisdictions() {
    return load("/api/v1/agencies.geojson?limit=500").then(function (fc) {
      groups.jurisdictions.clearLayers();
      L.geoJSON(fc, { style: function () { return { color: "#d4660f", weight: 1, fillOpacity: 0.03, interactive: false }; } })
        .eachLayer(function (layer) { groups.jurisdictions.addLayer(layer); });
    });
  }

  function loadPublished(id) {
    return load("/api/v1/map/layers/" + encodeURIComponent(id) + ".geojson").then(function (fc) {
      var group = published[id] || L.featureGroup();
      group.clearLayers();
      L.geoJSON(fc, {
        style: function () { return { color: "#1a7f37", weight: 2, fillOpacity: 0.12 }; },
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, { radius: 6, color: "#1a7f37", fillOpacity: 0.9 }); },
        onEachFeature: function (f, layer) {
          var p = f.properties || {};
          layer.bindPopup(Object.keys(p).map(function (k) { return "<strong>" + escapeHtml(k) + "</strong>: " + escapeHtml(p[k]); }).join("<br>"));
        }
      }).eachLayer(function (layer) { group.addLayer(layer); });
      published[id] = group;
      return group;
    });
  }

  function reloadAll() {
    return Promise.all([loadIncidents(), loadTasks(false), loadPlanned()]).then(function () {
      frame();
      el.setAttribute("data-loaded", "true");
    }).catch(function (e) { el.setAttribute("data-error", String(e)); });
  }

  // Layer toggles (the full-screen picture).
  document.querySelectorAll("[data-layer]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-layer");
      var id = box.getAttribute("data-layer-id");
      if (name === "published") {
        if (box.checked) {
          loadPublished(id).then(function (g) { g.addTo(map); }).catch(function () { box.checked = false; });
        }
        else if (published[id]) { map.removeLayer(published[id]); }
        return;
      }
      if (name === "jurisdictions" && box.checked && !groups.jurisdictions.getLayers().length) { loadJurisdictions(); }
      if (name === "resources") {
        resourcesOn = box.checked;
        if (box.checked) { loadResources().catch(function (e) { el.setAttribute("data-error", String(e)); }); }
      }
      if (box.checked) { groups[name].addTo(map); } else { map.removeLayer(groups[name]); }
    });
  });

  // The time slider: the picture as it was, up to 24 hours ago; live updates pause.
  var slider = document.getElementById("cop-slider");
  var label = document.getElementById("cop-time");
  var nowButton = document.getElementById("cop-now");
  var note = document.getElementById("cop-note");
  function setMoment(minutes) {
    if (minutes >= 0) {
      at = null;
      label.textContent = "Now";
      label.classList.remove("past");
      nowButton.hidden = true;
      note.textContent = "Live: markers move as reports come in.";
    } else {
      var when = new Date(Date.now() + minutes * 60000);
      at = when.toISOString();
      label.textContent = when.toISOString().slice(0, 16).replace("T", " ") + " UTC";
      label.classList.add("past");
      nowButton.hidden = false;
      note.textContent = "Showing the past: live updates wait until you come back to now.";
    }
    reloadAll();
  }
  if (slider) {
    var debounce = null;
    slider.addEventListener("input", function () {
      window.clearTimeout(debounce);
      debounce = window.setTimeout(function () { setMoment(parseInt(slider.value, 10)); }, 200);
    });
    nowButton.addEventListener("click", function () { slider.value = "0"; setMoment(0); });
  }

  // Picking a place for a new task on the incident page.
  if (el.getAttribute("data-pick") === "true") {
    var pin = null;
    map.on("click", function (e) {
      var lon = document.getElementById("lon"), lat = document.getElementById("lat");
      if (!lon || !lat) { return; }
      lon.value = e.latlng.lng.toFixed(5);
      lat.value = e.latlng.lat.toFixed(5);
      if (pin) { pin.setLatLng(e.latlng); } else { pin = L.circleMarker(e.latlng, { radius: 6, color: "#f2b33d", weight: 3 }).addTo(map); }
      var add = document.querySelector("details.add");
      if (add) { add.open = true; }
    });
  }

  // Live: re-read what changed; move a task's marker smoothly to its new place.
  var pending = {};
  function soon(name, fn) {
    if (pending[name]) { return; }
    pending[name] = window.setTimeout(function () { pending[name] = null; fn(); }, 150);
  }
  function glide(marker, to) {
    var from = marker.getLatLng(), steps = 12, i = 0;
    var timer = window.setInterval(function () {
      i += 1;
      var f = i / steps;
      marker.setLatLng([from.lat + (to[1] - from.lat) * f, from.lng + (to[0] - from.lng) * f]);
      if (i >= steps) { window.clearInterval(timer); }
    }, 40);
  }
  document.addEventListener("accord:live", function (e) {
    if (at) { return; } // looking at the past
    var event = e.detail;
    var kind = event.kind || "";
    if (event.object_type === "task") {
      var marker = taskMarkers[event.object_id];
      if (kind === "task.moved" && marker && event.payload && event.payload.location) {
        glide(marker, event.payload.location);
      } else {
        soon("tasks", function () { loadTasks(true); });
      }
    } else if (event.object_type === "incident") {
      soon("incidents", loadIncidents);
    } else if (event.object_type === "resource") {
      var moved = resourceMarkers[event.object_id];
      if (moved && event.payload && event.payload.location) { glide(moved, event.payload.location); }
      if (resourcesOn) { soon("resources", loadResources); }
    } else if (event.object_type === "planned_operation") {
      soon("planned", loadPlanned);
    } else if (event.object_type === "map_layer" && kind === "map_layer.withdrawn") {
      var gone = published[event.object_id];
      if (gone) { map.removeLayer(gone); delete published[event.object_id]; }
      var toggle = document.querySelector('[data-layer-id="' + event.object_id + '"]');
      if (toggle && toggle.closest("label")) { toggle.closest("label").hidden = true; }
    } else if (event.object_type === "map_layer" && published[event.object_id]) {
      soon("layer-" + event.object_id, function () { loadPublished(event.object_id).catch(function () {}); });
    }
  });

  reloadAll();
})();
