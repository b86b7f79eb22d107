/* Mutual-aid metrics: requests opened and filled per month (Chart.js, served from our own
   origin). The numbers come from the page itself (a JSON data block). */
(function () {
  "use strict";

  function draw() {
    var canvas = document.getElementById("aid-chart");
    var source = document.getElementById("aid-chart-data");
    if (!canvas || !source || typeof window.Chart === "undefined") { return; }
    var months = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: months.map(function (m) { return m.month; }),
        datasets: [
          { label: "Opened", data: months.map(function (m) { return m.opened; }), backgroundColor: "#1f6feb", maxBarThickness: 28 },
          { label: "Filled", data: months.map(function (m) { return m.filled; }), backgroundColor: "#1a7f37", maxBarThickness: 28 }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { x: { grid: { display: false } }, y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "requests" } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
