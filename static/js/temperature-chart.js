// Temperature over the cycle, with the patient's call-the-hospital lines.
// Data comes from a json_script tag, so no inline script is needed (CSP).
(function () {
  "use strict";
  var source = document.getElementById("temperature-data");
  var canvas = document.getElementById("temperature-chart");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = { red: "#b02a37", amber: "#cc8a00", green: "#198754" };
  var labels = data.points.map(function (p) { return p.t.replace("T", " "); });
  var line = function (value) { return labels.map(function () { return value; }); };
  new Chart(canvas, {
    type: "line",
    data: {
      labels: labels,
      datasets: [
        {
          label: "Temperature °C",
          data: data.points.map(function (p) { return p.c; }),
          borderColor: "#0d6efd",
          pointBackgroundColor: data.points.map(function (p) { return colours[p.s]; }),
          pointRadius: 6,
          tension: 0.2
        },
        { label: "Call at or above " + data.high + " °C", data: line(data.high),
          borderColor: colours.red, borderDash: [6, 4], pointRadius: 0 },
        { label: "Call below " + data.low + " °C", data: line(data.low),
          borderColor: colours.red, borderDash: [2, 4], pointRadius: 0 }
      ]
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { suggestedMin: 35, suggestedMax: 39.5, title: { display: true, text: "°C" } } },
      plugins: { legend: { position: "bottom" } }
    }
  });
})();
