/* The home page's map: institutions of the MOE list per province as a choropleth,
 * next to the bars that give the same counts. Each province boundary (Natural Earth,
 * named in English) is given its province of the graph by its name, read with the
 * place gazetteer (the Latin forms ROR writes, and the pinyin: data-names), else by
 * the province of most of the graph's own points that fall inside it ("Inner Mongol"
 * is neither ROR's "Inner Mongolia" nor the pinyin): no table of names is typed. */
(function () {
  "use strict";

  var figure = document.getElementById("province-map");
  if (!figure) {
    return;
  }
  var COUNTS = JSON.parse(figure.dataset.counts);
  var POINTS = JSON.parse(figure.dataset.points);
  var NAMES = JSON.parse(figure.dataset.names);
  var COLOURS = ["#d9ecef", "#a7d0d8", "#6aaab8", "#2f7f91", "#0f4c5c"];

  function bounds(feature) {
    var box = [Infinity, Infinity, -Infinity, -Infinity];
    var g = feature.geometry;
    (g.type === "Polygon" ? [g.coordinates] : g.coordinates).forEach(function (rings) {
      rings[0].forEach(function (c) {
        box = [Math.min(box[0], c[0]), Math.min(box[1], c[1]),
          Math.max(box[2], c[0]), Math.max(box[3], c[1])];
      });
    });
    return box;
  }

  /* The boundary's province: by its name, else by the points inside it. */
  function provinceOf(feature) {
    var key = String((feature.properties || {}).name || "").toLowerCase().replace(/[^a-z]/g, "");
    return NAMES[key] || provinceOfPoints(feature);
  }

  /* The province most of the graph's points inside *feature* are in, or null. */
  function provinceOfPoints(feature) {
    var box = bounds(feature);
    var votes = {};
    Object.keys(POINTS).forEach(function (province) {
      POINTS[province].forEach(function (p) {
        if (p[0] >= box[0] && p[0] <= box[2] && p[1] >= box[1] && p[1] <= box[3] &&
            window.MedEdKGMap.contains(feature, p[0], p[1])) {
          votes[province] = (votes[province] || 0) + p[2];
        }
      });
    });
    var best = null;
    Object.keys(votes).sort().forEach(function (province) {
      if (best === null || votes[province] > votes[best]) {
        best = province;
      }
    });
    return best;
  }

  /* Five classes of equal width from 0 to the largest count, rounded up to tens. */
  function classes() {
    var top = Math.max.apply(null, Object.keys(COUNTS).map(function (k) { return COUNTS[k]; }));
    var step = Math.max(10, Math.ceil(top / COLOURS.length / 10) * 10);
    return COLOURS.map(function (_, i) { return [i * step + (i ? 1 : 0), (i + 1) * step]; });
  }

  function legend(bins) {
    var list = document.getElementById("province-map-legend");
    var title = document.createElement("li");
    title.textContent = figure.dataset.legend + ":";
    list.appendChild(title);
    bins.forEach(function (bin, i) {
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch map-bin-" + i;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(" " + bin[0] + "–" + bin[1]));
      list.appendChild(item);
    });
  }

  function draw(base) {
    var box = document.getElementById("province-map-box");
    box.textContent = "";
    var map = window.MedEdKGMap.create(box, base, true);
    var bins = classes();
    legend(bins);
    /* feature → the province it shows (each province once, by the first boundary
     * its points name; boundaries without institutions stay blank) */
    var shows = new Map();
    var named = {};
    base.provinces.features.forEach(function (feature) {
      var province = provinceOf(feature);
      if (province !== null && COUNTS[province] && !named[province]) {
        named[province] = true;
        shows.set(feature, province);
      }
    });
    L.geoJSON(base.provinces, {
      style: function (feature) {
        var n = shows.has(feature) ? COUNTS[shows.get(feature)] : 0;
        var bin = bins.findIndex(function (b) { return n && n <= b[1]; });
        return {
          className: n ? "map-area" : "map-empty",
          color: "#fff", weight: 0.8, fillOpacity: 1,
          fillColor: n ? COLOURS[bin < 0 ? COLOURS.length - 1 : bin] : "#f4f1ea"
        };
      },
      onEachFeature: function (feature, layer) {
        var province = shows.get(feature);
        if (province !== undefined) {
          layer.bindTooltip(province + ": " + COUNTS[province], { sticky: true });
          layer.on("add", function () {
            layer.getElement().setAttribute("data-province", province);
          });
        }
      }
    }).addTo(map);
    figure.dataset.ready = "true";
  }

  // map.js comes before this script (both deferred, in order); it loads Leaflet and
  // the boundaries.
  Promise.resolve()
    .then(function () { return window.MedEdKGMap.load(); })
    .then(draw)
    .catch(function (error) {
      document.getElementById("province-map-box").textContent = String(error.message || error);
    });
})();
