// The indicator page: PNG download of the chart with plotly.js's own image export.
(function () {
  "use strict";
  document.querySelectorAll("button[data-png]").forEach((button) => {
    const chart = document.getElementById(button.dataset.png);
    if (!chart || !window.Plotly) return;
    button.hidden = false;
    button.addEventListener("click", () => {
      window.Plotly.downloadImage(chart, {
        format: "png",
        filename: button.dataset.filename || "diagram",
        width: Math.max(chart.clientWidth, 1000),
        height: 480,
        scale: 2,
      });
    });
  });
})();
