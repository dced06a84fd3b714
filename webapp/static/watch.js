// labelcheck watch page: follows a running watch. Events arrive as Server-Sent Events; each one
// makes the page fetch the watch's state (timeline so far, numbers, latest events) from the
// JSON API. Where the event stream is not available, the page polls every 3 s. Without
// JavaScript the page refreshes itself (a <noscript> refresh).
(function () {
  "use strict";
  var root = document.getElementById("watch");
  if (!root || root.dataset.status !== "running") { return; }
  var SVG = "http://www.w3.org/2000/svg";
  var KINDS = ["started", "label_shown", "label_missing", "label_back", "progress", "stalled",
               "reconnected", "error", "ended"];
  var pending = false, polling = null;

  function text(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = value; }
  }

  function seconds(value) { return value === null || value === undefined ? "—" : value.toFixed(1) + " s"; }

  function drawBar(bar) {
    var svg = document.getElementById("watch-bar");
    Array.prototype.slice.call(svg.querySelectorAll("rect:not(.track)")).forEach(function (rect) {
      svg.removeChild(rect);
    });
    if (!bar.duration_s) { return; }
    bar.spans.forEach(function (span) {
      var rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("class", "state-" + span.state);
      rect.setAttribute("x", String(1000 * span.start_s / bar.duration_s));
      rect.setAttribute("y", "8");
      rect.setAttribute("height", "32");
      rect.setAttribute("width", String(Math.max(1, 1000 * (span.end_s - span.start_s) / bar.duration_s)));
      var title = document.createElementNS(SVG, "title");
      title.textContent = span.state + " " + span.start_s.toFixed(1) + "–" + span.end_s.toFixed(1) + " s";
      rect.appendChild(title);
      svg.appendChild(rect);
    });
  }

  function details(event) {
    if (event.text) {
      return "“" + event.text + "” (" + event.lang + "), " + event.height_px + " px high" +
        (event.gap_s !== undefined ? ", after " + event.gap_s.toFixed(1) + " s without one" : "");
    }
    if (event.absent_s !== undefined) { return "no label for " + event.absent_s.toFixed(1) + " s"; }
    if (event.event === "progress") {
      return "label shown " + Math.round(event.coverage * 100) + " %, longest gap " + event.longest_gap_s + " s";
    }
    return event.reason || "";
  }

  function listEvents(watch) {
    var body = document.getElementById("watch-list");
    body.textContent = "";
    watch.recent.slice().reverse().forEach(function (event) {
      var row = document.createElement("tr");
      [event.stream_s === null ? "" : seconds(event.stream_s), event.wall,
       event.event.replace(/_/g, " "), details(event)].forEach(function (value) {
        var cell = document.createElement("td");
        cell.textContent = value;
        row.appendChild(cell);
      });
      var picture = document.createElement("td");
      if (event.evidence) {
        var link = document.createElement("a"), image = document.createElement("img");
        link.href = watch.links.page + "/evidence/" + encodeURIComponent(event.evidence);
        image.src = link.href;
        image.className = "event-picture";
        image.alt = "The frame at " + event.stream_s + " s";
        link.appendChild(image);
        picture.appendChild(link);
      }
      row.appendChild(picture);
      body.appendChild(row);
    });
  }

  function refresh() {
    if (pending) { return; }
    pending = true;
    fetch(root.dataset.state, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (watch) {
        pending = false;
        if (watch.status !== "running") { window.location.reload(); return; }
        text("watch-stream", seconds(watch.stream_s));
        text("watch-coverage", watch.coverage === null ? "—" : Math.round(watch.coverage * 100) + " %");
        text("watch-gap", seconds(watch.longest_gap_s));
        text("watch-events", String(watch.events));
        drawBar(watch.bar);
        listEvents(watch);
      })
      .catch(function () { pending = false; });
  }

  function poll() {
    if (!polling) { polling = window.setInterval(refresh, 3000); }
  }

  if (!window.EventSource) { poll(); return; }
  var source = new EventSource(root.dataset.stream);
  KINDS.forEach(function (kind) { source.addEventListener(kind, refresh); });
  source.addEventListener("closed", function () { source.close(); refresh(); });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) { poll(); }
  });
}());
