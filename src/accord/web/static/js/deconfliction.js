/* Deconfliction maps: pick a point (and radius) for a planned operation, preview a pasted
   area, and show an operation's own footprint. Jurisdictions are drawn faintly for
   context; no basemap tiles unless ACCORD_BASEMAP_URL is configured (closed networks). */
(function () {
  "use strict";
  var STYLE = { color: "#cf222e", weight: 2, fillColor: "#cf222e", fillOpacity: 0.18 };
  var REGION = [40.85, -76.85];

  function baseMap(el) {
    var map = L.map(el, { zoomSnap: 0.25, attributionControl: false, scrollWheelZoom: false });
    var url = el.getAttribute("data-basemap");
    if (url) { L.tileLayer(url, { maxZoom: 18 }).addTo(map); } else { el.classList.add("no-basemap"); }
    L.control.scale({ imperial: true }).addTo(map);
    return map;
  }

  function context(map, el) {
    var url = el.getAttribute("data-context");
    if (!url) { return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fc) {
        if (!fc) { return; }
        var local = { type: "FeatureCollection", features: fc.features.filter(function (f) {
          return f.properties.level === "county" || f.properties.level === "local";
        }) };
        L.geoJSON(local, { interactive: false, style: { color: "#57606a", weight: 1, fillOpacity: 0.02, dashArray: "4 3" } })
          .addTo(map).bringToBack();
      })
      .catch(function () { /* context only */ });
  }

  function footprintLayer(fp) {
    if (fp.area) { return L.geoJSON(fp.area, { style: STYLE }); }
    if (fp.location && fp.radius_m) {
      var c = fp.location.coordinates;
      return L.circle([c[1], c[0]], Object.assign({ radius: fp.radius_m }, STYLE));
    }
    return null;
  }

  // A circle knows its bounds only once on a map with a view: compute them from the centre.
  function boundsOf(fp, layer) {
    if (fp.area) { return layer.getBounds(); }
    var c = fp.location.coordinates;
    return L.latLng(c[1], c[0]).toBounds(2 * fp.radius_m);
  }

  function show(el) {
    var map = baseMap(el);
    var fp = JSON.parse(el.getAttribute("data-footprint"));
    var layer = footprintLayer(fp);
    if (layer) {
      map.fitBounds(boundsOf(fp, layer), { padding: [24, 24], maxZoom: 16 });
      layer.addTo(map);
    } else { map.setView(REGION, 9); }
    context(map, el);
    el.setAttribute("data-loaded", "1");
  }

  function pick(el) {
    var map = baseMap(el);
    var lon = document.getElementById("lon"), lat = document.getElementById("lat");
    var radius = document.getElementById("radius_m"), area = document.getElementById("area");
    var layer = null;
    function draw(fit) {
      if (layer) { map.removeLayer(layer); layer = null; }
      var fp = null;
      if (area && area.value.trim()) {
        try { fp = { area: JSON.parse(area.value) }; } catch (e) { fp = null; }
      } else if (lon.value && lat.value) {
        fp = { location: { coordinates: [parseFloat(lon.value), parseFloat(lat.value)] }, radius_m: parseFloat(radius.value) || 1 };
      }
      try {
        layer = fp ? footprintLayer(fp) : null;
        if (layer && fit) { map.fitBounds(boundsOf(fp, layer), { padding: [24, 24], maxZoom: 16 }); }
        if (layer) { layer.addTo(map); }
      } catch (e) { layer = null; }
      el.setAttribute("data-drawn", layer ? "1" : "0");
    }
    map.on("click", function (e) {
      if (area && area.value.trim()) { return; }
      lon.value = e.latlng.lng.toFixed(6);
      lat.value = e.latlng.lat.toFixed(6);
      if (!radius.value) { radius.value = "200"; }
      draw(false);
    });
    [lon, lat, radius].forEach(function (input) { input.addEventListener("input", function () { draw(false); }); });
    if (area) { area.addEventListener("input", function () { draw(true); }); }
    map.setView(REGION, 9);
    draw(true);
    context(map, el);
    el.setAttribute("data-loaded", "1");
  }

  function init() {
    if (typeof L === "undefined") { return; }
    document.querySelectorAll("[data-footprint]").forEach(show);
    document.querySelectorAll("[data-pick]").forEach(pick);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
