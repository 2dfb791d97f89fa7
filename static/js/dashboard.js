// The dashboard's "Beregner…" line: follows a running recompute without reloading, and reloads
// once new results are current.
(function () {
  "use strict";
  const box = document.getElementById("computation-status");
  if (!box) return;
  const bar = box.querySelector("progress");
  const label = box.querySelector("[data-field=label]");
  let running = box.dataset.running === "1";

  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) {
        const state = await response.json();
        if (String(state.current_id || "") !== box.dataset.currentId) {
          window.location.reload();
          return;
        }
        running = Boolean(state.running);
        box.hidden = !running;
        if (running) {
          bar.value = state.progress;
          label.textContent =
            state.status === "running" ? state.progress + " %" : "(" + state.status_label + ")";
        }
      }
    } catch (err) {
      /* the network blinked: try again */
    }
    window.setTimeout(poll, running ? 1500 : 20000);
  }
  window.setTimeout(poll, running ? 1000 : 20000);
})();
