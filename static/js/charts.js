// Draws every [data-figure] element from the JSON figure in the <script type="application/json">
// it names (built on the server), after registering plotly's Danish locale (month names,
// decimal comma) from #plotly-locale. Shared by the department pages.
(function () {
  "use strict";
  const Plotly = window.Plotly;
  if (!Plotly) return;
  const locale = document.getElementById("plotly-locale");
  if (locale) Plotly.register(JSON.parse(locale.textContent));

  function draw(el) {
    const source = document.getElementById(el.dataset.figure);
    if (!source) return Promise.resolve(null);
    const figure = JSON.parse(source.textContent);
    return Plotly.newPlot(el, figure.data, figure.layout, figure.config).then((plot) => {
      // A point that carries a link (the month's patients) opens it when clicked.
      el.on("plotly_click", (data) => {
        const point = data && data.points && data.points[0];
        if (point && typeof point.customdata === "string" && point.customdata.startsWith("/")) {
          window.location.href = point.customdata;
        }
      });
      return plot;
    });
  }

  // Selects marked data-autosubmit submit their form when changed (the button stays for
  // keyboard and no-JS use).
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form && select.form.requestSubmit());
  });

  window.KvpCharts = { draw: draw };
  document.querySelectorAll("[data-figure]").forEach(draw);
})();
