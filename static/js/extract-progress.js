// Follows an import through its stages without reloading; reloads once at the end to show the report.
(function () {
  "use strict";
  const box = document.getElementById("extract-progress");
  if (!box || box.dataset.finished === "1") return;
  const bar = box.querySelector("progress");
  const fields = box.querySelectorAll("[data-field]");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const state = await response.json();
        bar.value = state.progress;
        fields.forEach((el) => {
          const value = state[el.dataset.field];
          if (value !== undefined && value !== null) {
            el.textContent = typeof value === "number" ? value.toLocaleString("da-DK") : value;
          }
        });
        if (state.finished) { window.location.reload(); return; }
      }
    } catch (err) { /* the network blinked: try again */ }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
