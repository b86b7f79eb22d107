/* Accord maps: jurisdiction layers drawn with Leaflet from our own GeoJSON API.
   No basemap tiles unless the operator configures ACCORD_BASEMAP_URL (closed networks). */
(function () {
  "use strict";
  var LEVEL_COLORS = {
    federal: "#6e40c9", state: "#1f6feb", county: "#d4660f", local: "#1a7f37",
    tribal: "#bf3989", non_governmental: "#7d5a1e"
  };
  var LEVEL_ORDER = ["federal", "non_governmental", "state", "tribal", "county", "local"];

  function baseMap(el, options) {
    var map = L.map(el, Object.assign({ zoomSnap: 0.25, attributionControl: false }, options || {}));
    var url = el.getAttribute("data-basemap");
    if (url) { L.tileLayer(url, { maxZoom: 18 }).addTo(map); }
    else { el.classList.add("no-basemap"); }
    L.control.scale({ imperial: true }).addTo(map);
    return map;
  }

  function styleFor(level, highlighted) {
    var color = LEVEL_COLORS[level] || "#57606a";
    var wide = level === "federal" || level === "state" || level === "non_governmental";
    return {
      color: color, weight: highlighted ? 4 : (wide ? 2 : 1.5), dashArray: wide ? "6 4" : null,
      fillColor: color, fillOpacity: highlighted ? 0.35 : (wide ? 0.03 : 0.12), opacity: 0.9
    };
  }

  function ringContains(ring, x, y) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) { inside = !inside; }
    }
    return inside;
  }

  function geometryContains(geometry, lon, lat) {
    var polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    return polys.some(function (rings) {
      return ringContains(rings[0], lon, lat) && !rings.slice(1).some(function (h) { return ringContains(h, lon, lat); });
    });
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function regionLayer(el) {
    var interactive = el.getAttribute("data-interactive") === "true";
    var map = baseMap(el, { scrollWheelZoom: interactive });
    var layers = {};
    var features = [];
    var selected = null;
    fetch(el.getAttribute("data-layer"), { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error("layer " + r.status); } return r.json(); })
      .then(function (fc) {
        features = fc.features.slice().sort(function (a, b) {
          return LEVEL_ORDER.indexOf(a.properties.level) - LEVEL_ORDER.indexOf(b.properties.level);
        });
        var all = L.featureGroup().addTo(map);
        var labelled = {};
        features.forEach(function (f) {
          var level = f.properties.level;
          var layer = L.geoJSON(f, { style: styleFor(level, false) });
          layer.feature = f;
          // Several agencies share one jurisdiction (sheriff, EMA, EMS of a county): label the place once.
          var place = f.properties.jurisdiction_name;
          if ((level === "county" || level === "local") && !labelled[place]) {
            labelled[place] = true;
            layer.bindTooltip(escapeHtml(place), { permanent: interactive, direction: "center", className: "map-label map-label-" + level });
          }
          if (interactive) { layer.on("click", function (e) { select(e.latlng); }); }
          layers[level] = layers[level] || L.featureGroup().addTo(all);
          layer.addTo(layers[level]);
        });
        // Frame the counties and cities: region-wide areas (state, federal) extend far beyond.
        var focus = L.featureGroup(["county", "local"].filter(function (l) { return layers[l]; }).map(function (l) { return layers[l]; }));
        var frame = focus.getLayers().length ? focus : all;
        if (frame.getLayers().length) { map.fitBounds(frame.getBounds(), { padding: [16, 16] }); }
        else { map.setView([40.85, -76.85], 9); }
        el.setAttribute("data-loaded", String(features.length));
        el.dispatchEvent(new CustomEvent("accord:layer-loaded", { detail: { count: features.length } }));
      })
      .catch(function (err) {
        el.setAttribute("data-error", err.message);
        el.insertAdjacentHTML("beforeend", '<p class="map-error" role="alert">The map layer could not be loaded.</p>');
      });

    function select(latlng) {
      var hits = features.filter(function (f) {
        var b = f.bbox;
        var visible = layers[f.properties.level] && map.hasLayer(layers[f.properties.level]);
        return visible && (!b || (latlng.lng >= b[0] && latlng.lng <= b[2] && latlng.lat >= b[1] && latlng.lat <= b[3])) &&
          geometryContains(f.geometry, latlng.lng, latlng.lat);
      });
      if (selected) { map.removeLayer(selected); }
      var panel = document.getElementById("map-selection");
      if (!panel) { return; }
      if (!hits.length) { panel.innerHTML = '<p class="muted">No jurisdiction here.</p>'; return; }
      selected = L.geoJSON(hits[hits.length - 1], { style: styleFor(hits[hits.length - 1].properties.level, true), interactive: false }).addTo(map);
      panel.innerHTML = "<h2>" + hits.length + " agenc" + (hits.length === 1 ? "y" : "ies") + " here</h2><ul class=\"hits\">" +
        hits.slice().reverse().map(function (f) {
          var p = f.properties;
          return '<li><span class="swatch level-' + escapeHtml(p.level) + '"></span><div><a href="/directory/agencies/' + encodeURIComponent(p.id) + '">' +
            escapeHtml(p.name) + "</a><br><span class=\"muted\">" + escapeHtml(p.jurisdiction_name) +
            (p.duty_phone ? " · 24/7 " + escapeHtml(p.duty_phone) : "") + "</span></div></li>";
        }).join("") + "</ul>";
    }

    document.querySelectorAll('.layer-toggles input[name="level"]').forEach(function (box) {
      box.addEventListener("change", function () {
        var group = layers[box.value];
        if (!group) { return; }
        if (box.checked) { map.addLayer(group); } else { map.removeLayer(group); }
      });
    });
  }

  function singleGeometry(el) {
    var map = baseMap(el, { scrollWheelZoom: false });
    var geometry = JSON.parse(el.getAttribute("data-geometry"));
    var layer = L.geoJSON(geometry, { style: styleFor(el.getAttribute("data-level"), true) }).addTo(map);
    if (geometry.type === "Point") { map.setView([geometry.coordinates[1], geometry.coordinates[0]], 13); }
    else { map.fitBounds(layer.getBounds(), { padding: [16, 16] }); }
    el.setAttribute("data-loaded", "1");
  }

  function preview(el) {
    var source = document.getElementById(el.getAttribute("data-preview-for"));
    var map = baseMap(el, { scrollWheelZoom: false });
    var layer = null;
    function draw() {
      if (layer) { map.removeLayer(layer); layer = null; }
      try {
        var g = JSON.parse(source.value);
        layer = L.geoJSON(g, { style: styleFor("county", true) }).addTo(map);
        map.fitBounds(layer.getBounds(), { padding: [16, 16] });
        el.classList.remove("map-empty");
      } catch (e) {
        map.setView([40.85, -76.85], 8);
        el.classList.add("map-empty");
      }
    }
    source.addEventListener("input", draw);
    draw();
  }

  function init() {
    if (typeof L === "undefined") { return; }
    document.querySelectorAll("[data-layer]").forEach(regionLayer);
    document.querySelectorAll("[data-geometry]").forEach(singleGeometry);
    document.querySelectorAll("[data-preview-for]").forEach(preview);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
