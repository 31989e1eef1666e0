// ozontrack dashboard and buyer page: the route map (Leaflet over the built-in land outlines,
// tiles only when configured), the statistics charts, and a keyboard shortcut. Runs on the
// first load and on every piece of page htmx swaps in.
(function () {
  "use strict";

  var land = null;
  function landOutlines(url) {
    if (!land) {
      land = fetch(url).then(function (r) { return r.json(); });
    }
    return land;
  }

  // A label from a carrier or the buyer's address as a text node: Leaflet reads a string
  // tooltip as HTML, and carrier text is nobody's markup.
  function asText(label) {
    var span = document.createElement("span");
    span.textContent = label == null ? "" : String(label);
    return span;
  }

  function drawMap(el) {
    if (el.dataset.ready || typeof L === "undefined") { return; }
    el.dataset.ready = "1";
    // No animations: the map is drawn once, and a screenshot or a slow machine never catches
    // it halfway through a zoom.
    var map = L.map(el, {
      attributionControl: false, zoomSnap: 0.25,
      zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false
    });
    map.setView([45, 90], 2);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 12 }).addTo(map);
    }
    var drawn = landOutlines(el.dataset.land).then(function (geo) {
      L.geoJSON(geo, {
        interactive: false,
        style: { color: "#8aa1b1", weight: 0.6, fillColor: "#e8eef2", fillOpacity: 1 }
      }).addTo(map);
    });
    Promise.all([drawn, fetch(el.dataset.route, { credentials: "same-origin" }).then(function (r) { return r.json(); })])
      .then(function (results) {
        var route = results[1];
        var latlngs = route.points.map(function (p) { return [p.lat, p.lon]; });
        route.points.forEach(function (p, i) {
          var last = i === route.points.length - 1;
          L.circleMarker([p.lat, p.lon], {
            radius: last ? 7 : 5, color: last ? "#c0392b" : "#1f6feb", weight: 2, fillOpacity: 0.9
          }).bindTooltip(asText(p.label)).addTo(map);
        });
        if (latlngs.length > 1) {
          L.polyline(latlngs, { color: "#1f6feb", weight: 3 }).addTo(map);
        }
        var all = latlngs.slice();
        if (route.destination) {
          var d = [route.destination.lat, route.destination.lon];
          L.circleMarker(d, { radius: 6, color: "#2e7d32", weight: 2, fillOpacity: 0.2 })
            .bindTooltip(asText(route.destination.label)).addTo(map);
          if (latlngs.length) {
            L.polyline([latlngs[latlngs.length - 1], d], { color: "#2e7d32", weight: 2, dashArray: "6 6" }).addTo(map);
          }
          all.push(d);
        }
        if (all.length) {
          map.fitBounds(L.latLngBounds(all).pad(0.3), { maxZoom: 5, animate: false });
        } else {
          var note = document.createElement("p");
          note.className = "muted map-note";
          note.textContent = el.dataset.empty;
          el.appendChild(note);
        }
        el.dataset.drawn = String(route.points.length);
      })
      .catch(function (e) { el.dataset.error = String(e); });
  }

  function drawChart(canvas) {
    if (canvas.dataset.ready || typeof Chart === "undefined") { return; }
    canvas.dataset.ready = "1";
    var data = JSON.parse(canvas.dataset.chart);
    var percent = canvas.dataset.percent === "true";
    new Chart(canvas, {
      type: canvas.dataset.kind || "bar",
      data: data,
      options: {
        animation: false,
        responsive: true,
        plugins: { legend: { display: data.datasets.length > 1 } },
        scales: { y: { beginAtZero: true, ticks: percent ? { callback: function (v) { return v + " %"; } } : {} } }
      }
    });
    canvas.dataset.drawn = "1";
  }

  function init(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("#map").forEach(drawMap);
    (root.querySelectorAll ? root : document).querySelectorAll("canvas[data-chart]").forEach(drawChart);
  }

  // "Select all shown" ticks every alert of the bulk form, wherever the boxes sit in the list.
  document.addEventListener("change", function (e) {
    var form = e.target.dataset && e.target.dataset.selectAll;
    if (!form) { return; }
    document.querySelectorAll("input[type=checkbox][form='" + form + "']").forEach(function (box) {
      box.checked = e.target.checked;
    });
  });

  // The postings report upload: the file goes as the request's body (no multipart), with the
  // session's CSRF token; the server answers with a fragment saying what changed or what is
  // wrong, line by line.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id !== "import-form") { return; }
    e.preventDefault();
    var file = form.querySelector("input[type=file]").files[0];
    var out = document.getElementById("import-result");
    if (!file) { return; }
    var params = new URLSearchParams({ store: form.store.value, dry_run: form.dry_run.checked ? "true" : "false" });
    out.textContent = form.dataset.busy;
    fetch("/postings/import?" + params.toString(), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": form.dataset.csrf, "Content-Type": "application/octet-stream" },
      body: file
    }).then(function (r) {
      return r.text().then(function (text) { return { ok: r.ok || r.status === 422, status: r.status, text: text }; });
    }).then(function (answer) {
      if (answer.ok) {
        out.innerHTML = answer.text;
      } else {
        out.textContent = form.dataset.failed + " (" + answer.status + ")";
      }
    }).catch(function () { out.textContent = form.dataset.failed; });
  });

  // A file for a posting's dispute evidence, sent the same way; the page shows it once stored.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id !== "attach-form") { return; }
    e.preventDefault();
    var file = form.querySelector("input[type=file]").files[0];
    var out = document.getElementById("attach-result");
    if (!file) { return; }
    var params = new URLSearchParams({ name: file.name });
    if (file.lastModified) { params.set("taken_at", new Date(file.lastModified).toISOString()); }
    out.textContent = form.dataset.busy;
    fetch(form.dataset.url + "?" + params.toString(), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": form.dataset.csrf, "Content-Type": "application/octet-stream" },
      body: file
    }).then(function (r) {
      if (r.ok) { window.location.reload(); return; }
      return r.text().then(function () { out.textContent = form.dataset.failed + " (" + r.status + ")"; });
    }).catch(function () { out.textContent = form.dataset.failed; });
  });

  // "/" jumps to the postings search box, as in most web apps.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "/" && !(t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement)) {
      var q = document.getElementById("q");
      if (q) { e.preventDefault(); q.focus(); }
    }
  });

  if (window.htmx) {
    window.htmx.onLoad(init);
  } else {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  }
})();
