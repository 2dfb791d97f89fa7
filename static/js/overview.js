// Leadership overview: sort each registry's matrix by a column, draw the funnels and the national trend
// from the figures the server built (json_script), open a department from a funnel point.
(function () {
  "use strict";

  function readJson(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  // --- the period picker: choosing a period shows it ----------------------------------------
  const periodSelect = document.getElementById("period-select");
  if (periodSelect) {
    periodSelect.addEventListener("change", () => periodSelect.form.submit());
  }

  // --- sorting ------------------------------------------------------------------------------
  // Column 0 (the department) restores the grouped order (region, hospital, department);
  // an indicator column sorts every department by its value, empty and hidden values last,
  // and the region and hospital then show on each row instead of as group headings.
  function sortable(table) {
    const body = table.tBodies[0];
    const groupRows = Array.from(body.querySelectorAll("tr.group"));
    const rows = Array.from(body.querySelectorAll("tr.dept"));
    const original = Array.from(body.rows);
    const headers = Array.from(table.tHead.querySelectorAll("th"));
    let current = { column: 0, direction: "none" };

    function sortValue(row, column) {
      const cell = row.cells[column];
      const raw = cell ? cell.dataset.sort : "";
      return raw === "" || raw === undefined ? null : Number(raw);
    }

    function showGrouped() {
      original.forEach((row) => body.appendChild(row));
      groupRows.forEach((row) => { row.hidden = false; });
      table.classList.remove("is-sorted");
    }

    function sortBy(column, direction) {
      const sign = direction === "descending" ? -1 : 1;
      const sorted = rows.slice().sort((a, b) => {
        const x = sortValue(a, column);
        const y = sortValue(b, column);
        if (x === null && y === null) return Number(a.dataset.order) - Number(b.dataset.order);
        if (x === null) return 1;
        if (y === null) return -1;
        if (x !== y) return sign * (x - y);
        return Number(a.dataset.order) - Number(b.dataset.order);
      });
      groupRows.forEach((row) => { row.hidden = true; });
      sorted.forEach((row) => body.appendChild(row));
      table.classList.add("is-sorted");
    }

    table.tHead.addEventListener("click", (event) => {
      const button = event.target.closest("button.sort");
      if (!button) return;
      const column = Number(button.dataset.sortColumn);
      let direction;
      if (column === 0) {
        direction = "none";
        showGrouped();
      } else {
        direction = current.column === column && current.direction === "ascending" ? "descending" : "ascending";
        sortBy(column, direction);
      }
      current = { column: column, direction: direction };
      headers.forEach((th, index) => {
        th.setAttribute("aria-sort", index === column && direction !== "none" ? direction : "none");
      });
    });
  }

  // --- one indicator at a time on a narrow screen ------------------------------------------
  // The chooser shows every indicator column or just one; on a tablet it starts with the
  // first, so the matrix fits the screen instead of scrolling sideways.
  function oneColumnAtATime(chooser) {
    const table = document.getElementById(chooser.dataset.matrix);
    if (!table) return;
    function showColumn(chosen) {
      Array.from(table.rows).forEach((row) => {
        if (row.classList.contains("group")) return;
        Array.from(row.cells).forEach((cell, index) => {
          cell.hidden = chosen !== "" && index !== 0 && String(index) !== chosen;
        });
      });
      table.classList.toggle("one-column", chosen !== "");
    }
    const narrow = window.matchMedia(`(max-width: ${chooser.dataset.narrow}px)`);
    if (narrow.matches && chooser.value === "" && chooser.options.length > 1) {
      chooser.value = chooser.options[1].value;
    }
    showColumn(chooser.value);
    chooser.addEventListener("change", () => showColumn(chooser.value));
  }

  document.querySelectorAll("table.matrix").forEach(sortable);
  document.querySelectorAll("select.matrix-chooser").forEach(oneColumnAtATime);

  // --- charts -------------------------------------------------------------------------------
  const figures = readJson("overview-figures");
  if (!figures || !window.Plotly) return;
  const locale = readJson("plotly-locale");
  if (locale) window.Plotly.register(locale);

  Object.keys(figures).forEach((id) => {
    const el = document.getElementById(id);
    if (!el) return;
    const fig = figures[id];
    window.Plotly.newPlot(el, fig.data, fig.layout, fig.config).then(() => {
      el.on("plotly_click", (data) => {
        const point = data && data.points && data.points[0];
        if (point && typeof point.customdata === "string" && point.customdata.startsWith("/")) {
          window.location.href = point.customdata;
        }
      });
    });
  });
})();
