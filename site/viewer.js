// mi-exercise site: the matrix viewer (attention patterns, composition scores, patching maps).
// Reads the JSON a page embeds in each .mi-viewer, draws one heatmap per panel (the reference's,
// and the learner's own last result beside it when the page has one), a selector for the matrix
// (a head, say), and on hover a tooltip and a readout: row label, column label, value.
// No other host, no dependencies; works opened from disk (file://).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var STOPS = [[0, [247, 251, 255]], [0.25, [198, 219, 239]], [0.5, [107, 174, 214]], [0.75, [33, 113, 181]], [1, [8, 48, 107]]];
  var NEG = [[0, [255, 255, 255]], [1, [178, 24, 43]]];

  function ramp(stops, t) {
    for (var k = 1; k < stops.length; k++) {
      if (t <= stops[k][0]) {
        var a = stops[k - 1], b = stops[k], u = (t - a[0]) / (b[0] - a[0]);
        return "rgb(" + a[1].map(function (c, i) { return Math.round(c + (b[1][i] - c) * u); }).join(",") + ")";
      }
    }
    var last = stops[stops.length - 1][1];
    return "rgb(" + last.join(",") + ")";
  }

  // below zero (a patching metric can be) a red ramp from white; from zero up the blue one
  function colour(v, vmin, vmax) {
    if (v === null || v === undefined) { return "#9aa4af"; }
    if (vmin < 0 && v < 0) { return ramp(NEG, Math.min(1, v / vmin)); }
    var lo = vmin < 0 ? 0 : vmin, span = (vmax - lo) || 1;
    return ramp(STOPS, Math.min(1, Math.max(0, (v - lo) / span)));
  }

  function fmt(v) {
    if (v === null || v === undefined) { return "n/a"; }
    var a = Math.abs(v);
    return a !== 0 && (a < 0.001 || a >= 1000) ? v.toExponential(2) : v.toFixed(3);
  }

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function label(list, i) { return list && list[i] !== undefined ? list[i] : String(i); }

  function drawPanel(panel, data, matrix, who, show) {
    var rows = matrix.length, cols = matrix[0].length;
    var cell = Math.max(8, Math.min(40, Math.floor(420 / Math.max(rows, cols))));
    var longest = function (l) { return (l || []).reduce(function (m, s) { return Math.max(m, s.length); }, 0); };
    var left = 16 + 7 * longest(data.y_labels), top = 4, bottom = 16 + 7 * longest(data.x_labels);
    var svg = el("svg", {"class": "mi-viewer-svg", role: "img", width: left + cols * cell + 4,
                         height: top + rows * cell + bottom,
                         viewBox: "0 0 " + (left + cols * cell + 4) + " " + (top + rows * cell + bottom)});
    el("title", {}, svg).textContent = who;
    var span = Math.max(Math.abs(data.vmin), Math.abs(data.vmax)) || 1;
    for (var i = 0; i < rows; i++) {
      for (var j = 0; j < cols; j++) {
        var v = matrix[i][j];
        var r = el("rect", {x: left + j * cell, y: top + i * cell, width: cell, height: cell,
                            fill: colour(v, data.vmin, data.vmax), "class": "mi-cell",
                            "data-row": i, "data-col": j}, svg);
        r.addEventListener("mouseenter", show);
        if (cell >= 24 && v !== null && Math.abs(v) >= 0.1 * span) {
          var dark = v > data.vmin + 0.55 * (data.vmax - data.vmin) || (data.vmin < 0 && v < 0.55 * data.vmin);
          var t = el("text", {x: left + j * cell + cell / 2, y: top + i * cell + cell / 2 + 4,
                              "text-anchor": "middle", "class": "mi-cell-value" + (dark ? " on-dark" : "")}, svg);
          t.textContent = Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2).replace(/^(-?)0\./, "$1.");
        }
      }
    }
    for (i = 0; i < rows; i++) {
      el("text", {x: left - 4, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", "class": "tick"}, svg)
        .textContent = label(data.y_labels, i);
    }
    for (j = 0; j < cols; j++) {
      var x = left + j * cell + cell / 2 + 4, y = top + rows * cell + 6;
      el("text", {x: x, y: y, "text-anchor": "end", "class": "tick", transform: "rotate(-90 " + x + " " + y + ")"}, svg)
        .textContent = label(data.x_labels, j);
    }
    panel.appendChild(svg);
  }

  function build(root) {
    var script = root.querySelector("script.mi-viewer-data");
    if (!script) { return; }
    var data = JSON.parse(script.textContent);
    var learnerByName = {};
    (data.learner || []).forEach(function (it) { learnerByName[it.name] = it.data; });
    var controls = document.createElement("div");
    controls.className = "mi-viewer-controls";
    var lab = document.createElement("label");
    lab.textContent = data.select_label + " ";
    var select = document.createElement("select");
    data.items.forEach(function (it, n) {
      var o = document.createElement("option");
      o.value = String(n);
      o.textContent = it.name + (learnerByName[it.name] ? "" : (data.learner.length ? " (reference only)" : ""));
      select.appendChild(o);
    });
    lab.appendChild(select);
    controls.appendChild(lab);
    var axes = document.createElement("span");
    axes.className = "mi-viewer-axes";
    axes.textContent = "rows: " + (data.y_title || "row") + " · columns: " + (data.x_title || "column");
    controls.appendChild(axes);
    var panels = document.createElement("div");
    panels.className = "mi-viewer-panels";
    var readout = document.createElement("p");
    readout.className = "mi-viewer-readout";
    readout.setAttribute("aria-live", "polite");
    readout.textContent = "Point at a cell to read its row, column and value.";
    var tip = document.createElement("div");
    tip.className = "mi-viewer-tip";
    tip.hidden = true;

    function render() {
      var item = data.items[Number(select.value)];
      panels.textContent = "";
      var sources = [["reference", item.data]];
      if (learnerByName[item.name]) { sources.push(["yours", learnerByName[item.name]]); }
      sources.forEach(function (src) {
        var panel = document.createElement("div");
        panel.className = "mi-viewer-panel mi-viewer-" + src[0];
        var h = document.createElement("div");
        h.className = "mi-viewer-panel-title";
        h.textContent = (src[0] === "reference" ? "Reference" : "Your last check") + ": " + item.name;
        panel.appendChild(h);
        var matrix = src[1], other = sources.length > 1 ? sources[src[0] === "reference" ? 1 : 0][1] : null;
        drawPanel(panel, data, matrix, h.textContent, function (ev) {
          var i = Number(ev.target.getAttribute("data-row")), j = Number(ev.target.getAttribute("data-col"));
          var text = label(data.y_labels, i) + " → " + label(data.x_labels, j) + ": " + fmt(matrix[i][j]) +
                     " (" + (src[0] === "reference" ? "reference" : "yours") + ", " + item.name + ")";
          if (other) { text += "; " + (src[0] === "reference" ? "yours" : "reference") + ": " + fmt(other[i][j]); }
          readout.textContent = text;
          tip.textContent = text;
          tip.hidden = false;
          var box = root.getBoundingClientRect(), cellBox = ev.target.getBoundingClientRect();
          var left = cellBox.left - box.left + cellBox.width + 6;
          if (left + tip.offsetWidth > box.width) { left = Math.max(0, cellBox.left - box.left - tip.offsetWidth - 6); }
          tip.style.left = left + "px";  // beside the cell, on whichever side it fits
          tip.style.top = (cellBox.top - box.top - 4) + "px";
        });
        panels.appendChild(panel);
      });
    }
    panels.addEventListener("mouseleave", function () { tip.hidden = true; });
    select.addEventListener("change", render);
    var stat = root.querySelector(".mi-viewer-static");
    if (stat) { stat.hidden = true; }
    root.appendChild(controls);
    root.appendChild(panels);
    root.appendChild(readout);
    if (data.learner.length && data.learner_note) {
      var note = document.createElement("p");
      note.className = "mi-viewer-note";
      note.textContent = data.learner_note;
      root.appendChild(note);
    }
    root.appendChild(tip);
    render();
  }

  document.querySelectorAll("[data-mi-viewer]").forEach(build);
}());
