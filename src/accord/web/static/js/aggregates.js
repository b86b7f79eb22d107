/* De-identified trends: weekly counts per category of one area as stacked bars (Chart.js,
   served from our own origin). The numbers come from the page itself (a JSON data block);
   a grey diamond just above the axis marks a week where some categories are suppressed. */
(function () {
  "use strict";
  var COLORS = ["#1f6feb", "#d4660f", "#1a7f37", "#6e40c9", "#bf3989", "#9a6700", "#0b7285"];

  function draw() {
    var canvas = document.getElementById("aggregate-chart");
    var source = document.getElementById("aggregate-chart-data");
    if (!canvas || !source || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var datasets = data.datasets.map(function (d, i) {
      return {
        type: "bar", label: d.label, data: d.data, stack: "counts", order: 1,
        backgroundColor: COLORS[i % COLORS.length], borderWidth: 0, maxBarThickness: 48
      };
    });
    // On an axis of its own (hidden), just above the baseline and over the bars: a marker, not a count.
    datasets.push({
      type: "line", label: "Suppressed (under " + data.threshold + ")", yAxisID: "marks", order: 0,
      data: data.suppressed.map(function (names) { return names.length ? 4 : null; }),
      showLine: false, pointStyle: "rectRot", pointRadius: 7, pointHoverRadius: 9,
      backgroundColor: "#aeb6bf", borderColor: "#424a53",
      pointBackgroundColor: "#aeb6bf", pointBorderColor: "#424a53", pointBorderWidth: 1.5
    });
    new window.Chart(canvas, {
      data: { labels: data.weeks, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "records" } },
          marks: { display: false, min: 0, max: 100 }
        },
        plugins: {
          legend: { position: "bottom", labels: { sort: function (a, b) { return a.datasetIndex - b.datasetIndex; } } },
          tooltip: {
            callbacks: {
              label: function (item) {
                if (item.dataset.type === "line") {
                  var names = data.suppressed[item.dataIndex];
                  return names.length ? "Suppressed: " + names.join(", ") : null;
                }
                return item.parsed.y === null ? null : item.dataset.label + ": " + item.parsed.y;
              }
            }
          }
        }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
