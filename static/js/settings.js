// Department settings: the rule builder with its live preview, moving indicators up and down,
// and following the recompute a saved change queued. Every text comes from the server
// (json_script "rule-schema"), already in the page's language.
(function () {
  "use strict";

  const schemaEl = document.getElementById("rule-schema");
  const schema = schemaEl ? JSON.parse(schemaEl.textContent) : { fields: [], ops: {}, text: {} };
  const T = schema.text || {};
  const FIELDS = {};
  schema.fields.forEach((f) => { FIELDS[f.field] = f; });
  const DATE_FIELDS = schema.fields.filter((f) => f.kind === "date");
  const NO_VALUE = ["blank", "not_blank"];
  const LISTS = ["in", "not_in"];
  const DAYS = "__days";

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach((child) => node.appendChild(child));
    return node;
  }

  function select(options, value, label) {
    const node = el("select", { "aria-label": label });
    options.forEach(([optValue, optLabel]) => {
      const option = el("option", { value: optValue, text: optLabel });
      if (String(optValue) === String(value)) option.selected = true;
      node.appendChild(option);
    });
    return node;
  }

  // --- rules <-> the builder's model --------------------------------------------------------
  // The builder edits one level: all/any of plain conditions. A rule with nesting ("not",
  // groups in groups) stays editable as text.

  function isLeaf(node) {
    return node && typeof node === "object" && ("field" in node || "days" in node);
  }

  function toModel(rule, empty) {
    if (rule === null || rule === undefined) return { mode: empty, conditions: [] };
    if (isLeaf(rule)) return { mode: "all", conditions: [leafToCondition(rule)] };
    const keys = Object.keys(rule);
    if (keys.length === 1 && (keys[0] === "all" || keys[0] === "any") && Array.isArray(rule[keys[0]])) {
      const children = rule[keys[0]];
      if (children.every(isLeaf)) return { mode: keys[0], conditions: children.map(leafToCondition) };
    }
    return null;
  }

  function leafToCondition(node) {
    if ("days" in node) {
      return { field: DAYS, from: node.days[0], to: node.days[1], op: node.op, value: node.value };
    }
    return { field: node.field, op: node.op, value: node.value };
  }

  function number(text) {
    const cleaned = String(text).trim().replace(",", ".");
    if (cleaned === "") return text;
    const value = Number(cleaned);
    return Number.isFinite(value) ? value : String(text);
  }

  function conditionToRule(c) {
    if (c.field === DAYS) {
      return { days: [c.from, c.to], op: c.op, value: number(c.value === undefined ? "" : c.value) };
    }
    const spec = FIELDS[c.field];
    const node = { field: c.field, op: c.op };
    if (NO_VALUE.includes(c.op)) return node;
    let value = c.value;
    if (spec.kind === "boolean") {
      value = value === true || value === "true";
    } else if (spec.kind === "choice") {
      if (LISTS.includes(c.op)) value = Array.isArray(value) ? value : (value ? [value] : []);
      else value = Array.isArray(value) ? (value[0] || "") : value;
    } else if (LISTS.includes(c.op)) {
      const parts = String(Array.isArray(value) ? value.join(";") : (value || ""))
        .split(";").map((part) => part.trim()).filter((part) => part !== "");
      value = spec.kind === "text" ? parts : parts.map(number);
    } else if (spec.kind === "integer" || spec.kind === "number") {
      value = number(Array.isArray(value) ? value.join(";") : (value === undefined ? "" : value));
    } else if (Array.isArray(value)) {
      value = value.join("; ");
    }
    node.value = value;
    return node;
  }

  function toRule(model) {
    return { [model.mode]: model.conditions.map(conditionToRule) };
  }

  // --- one builder --------------------------------------------------------------------------

  function dateField(preferred, fallback) {
    const found = DATE_FIELDS.find((f) => f.field === preferred) || DATE_FIELDS[fallback] || {};
    return found.field;
  }

  function defaultCondition() {
    const first = schema.fields.find((f) => f.kind !== "date") || schema.fields[0];
    return { field: first.field, op: first.ops[0], value: first.choices.length ? first.choices[0].value : "" };
  }

  function Builder(container, textarea, empty, onChange) {
    const model = toModel(parse(textarea.value), empty);
    if (!model) {
      container.appendChild(el("p", { className: "muted small", text: T.advanced }));
      return;
    }
    textarea.closest(".rule-text").hidden = true;

    const modeSelect = select([["all", T.all], ["any", T.any]], model.mode, T.all);
    modeSelect.className = "rule-mode";
    const list = el("ol", { className: "conditions" });
    const emptyNote = el("p", { className: "muted small empty-note" });
    const addButton = el("button", { type: "button", className: "btn secondary small add-condition", text: "+ " + T.add });
    container.append(modeSelect, list, emptyNote, addButton);

    function commit(quiet) {
      textarea.value = JSON.stringify(toRule(model));
      emptyNote.textContent = model.conditions.length ? "" : (model.mode === "all" ? T.none_all : T.none_any);
      if (quiet !== true) onChange();
    }

    function render(quiet) {
      list.replaceChildren(...model.conditions.map((c, index) => conditionRow(c, index)));
      commit(quiet);
    }

    function conditionRow(c, index) {
      const row = el("li", { className: "condition" });
      const fieldOptions = schema.fields.filter((f) => f.kind !== "date").map((f) => [f.field, f.label]);
      fieldOptions.push([DAYS, T.days]);
      const fieldSelect = select(fieldOptions, c.field, T.field);
      fieldSelect.className = "condition-field";
      fieldSelect.addEventListener("change", () => {
        if (fieldSelect.value === DAYS) {
          model.conditions[index] = { field: DAYS, from: dateField("operation_date", 0), to: dateField("discharge_date", 1), op: "gt", value: "" };
        } else {
          const spec = FIELDS[fieldSelect.value];
          model.conditions[index] = {
            field: spec.field, op: spec.ops[0], value: spec.choices.length ? spec.choices[0].value : "",
          };
        }
        render();
      });
      row.appendChild(fieldSelect);

      if (c.field === DAYS) {
        const dates = DATE_FIELDS.map((f) => [f.field, f.label]);
        const from = select(dates, c.from, T.days_from);
        const to = select(dates, c.to, T.days_to);
        const op = select(schema.days_ops.map((o) => [o, schema.ops[o]]), c.op, T.operator);
        const value = el("input", { type: "text", inputmode: "decimal", size: "4", "aria-label": T.value });
        value.value = c.value === undefined ? "" : String(c.value);
        from.addEventListener("change", () => { c.from = from.value; commit(); });
        to.addEventListener("change", () => { c.to = to.value; commit(); });
        op.addEventListener("change", () => { c.op = op.value; commit(); });
        value.addEventListener("input", () => { c.value = value.value; commit(); });
        row.append(el("span", { className: "muted", text: T.days_from }), from,
          el("span", { className: "muted", text: T.days_to }), to, op, value);
      } else {
        const spec = FIELDS[c.field];
        const op = select(spec.ops.map((o) => [o, schema.ops[o] || o]), c.op, T.operator);
        op.className = "condition-op";
        op.addEventListener("change", () => {
          c.op = op.value;
          if (LISTS.includes(c.op) !== Array.isArray(c.value)) {
            // The value changes form (one value, or a list): it starts again from what the new
            // control shows (nothing ticked; the first choice), never from what the old one held.
            c.value = LISTS.includes(c.op) ? [] : (spec.choices.length ? spec.choices[0].value : "");
          }
          render();
        });
        row.appendChild(op);
        row.appendChild(valueControl(spec, c));
      }
      const remove = el("button", { type: "button", className: "remove", "aria-label": T.remove, title: T.remove, text: "×" });
      remove.addEventListener("click", () => { model.conditions.splice(index, 1); render(); });
      row.appendChild(remove);
      return row;
    }

    function valueControl(spec, c) {
      const wrap = el("span", { className: "condition-value" });
      if (NO_VALUE.includes(c.op)) return wrap;
      if (spec.kind === "boolean") {
        const yesNo = spec.choices.map((ch) => [String(ch.value), ch.label]);
        const control = select(yesNo, String(c.value === true || c.value === "true"), T.value);
        c.value = control.value === "true";
        control.addEventListener("change", () => { c.value = control.value === "true"; commit(); });
        wrap.appendChild(control);
      } else if (spec.kind === "choice" && LISTS.includes(c.op)) {
        const chosen = new Set(Array.isArray(c.value) ? c.value.map(String) : []);
        spec.choices.forEach((ch) => {
          const box = el("input", { type: "checkbox", value: String(ch.value) });
          box.checked = chosen.has(String(ch.value));
          box.addEventListener("change", () => {
            c.value = Array.from(wrap.querySelectorAll("input:checked")).map((b) => b.value);
            commit();
          });
          wrap.appendChild(el("label", { className: "check" }, [box, document.createTextNode(" " + ch.label)]));
        });
      } else if (spec.kind === "choice") {
        const control = select(spec.choices.map((ch) => [ch.value, ch.label]), c.value, T.value);
        c.value = control.value;
        control.addEventListener("change", () => { c.value = control.value; commit(); });
        wrap.appendChild(control);
      } else {
        const input = el("input", { type: "text", size: "8", "aria-label": T.value });
        if (spec.kind !== "text") input.setAttribute("inputmode", "decimal");
        input.value = Array.isArray(c.value) ? c.value.join("; ") : (c.value === undefined ? "" : String(c.value));
        input.addEventListener("input", () => { c.value = input.value; commit(); });
        wrap.appendChild(input);
        if (LISTS.includes(c.op)) wrap.appendChild(el("span", { className: "muted small", text: T.list_hint }));
      }
      return wrap;
    }

    modeSelect.addEventListener("change", () => { model.mode = modeSelect.value; commit(); });
    addButton.addEventListener("click", () => { model.conditions.push(defaultCondition()); render(); });
    render(true);  // showing the rule as it is changes nothing: no preview yet
  }

  function parse(text) {
    if (!text || !text.trim()) return null;
    try { return JSON.parse(text); } catch (err) { return undefined; }
  }

  // --- the own-indicator form: builders, kind, live preview ---------------------------------

  const form = document.getElementById("own-form");
  if (form) {
    const kind = form.querySelector("[name=own-kind]");
    const preview = document.getElementById("rule-preview");
    const headline = preview.querySelector("[data-preview=headline]");
    const errors = preview.querySelector("[data-preview=errors]");
    const table = preview.querySelector("[data-preview=table]");
    let timer = null;
    let sequence = 0;

    function showKind() {
      form.querySelectorAll("[data-kind]").forEach((part) => {
        part.hidden = part.dataset.kind !== kind.value;
      });
    }

    function token() {
      const input = form.querySelector("[name=csrfmiddlewaretoken]");
      return input ? input.value : "";
    }

    async function runPreview() {
      const mine = ++sequence;
      headline.textContent = T.preview_wait;
      preview.classList.add("is-busy");
      try {
        const response = await fetch(form.dataset.previewUrl, {
          method: "POST",
          body: new FormData(form),
          headers: { "X-CSRFToken": token(), Accept: "application/json" },
          credentials: "same-origin",
        });
        if (mine !== sequence) return;  // a newer preview is on its way
        if (!response.ok) throw new Error(String(response.status));
        showPreview(await response.json());
      } catch (err) {
        if (mine === sequence) {
          headline.textContent = T.preview_error;
          table.hidden = true;
        }
      } finally {
        if (mine === sequence) preview.classList.remove("is-busy");
      }
    }

    function showPreview(answer) {
      errors.replaceChildren();
      const tbody = table.tBodies[0];
      tbody.replaceChildren();
      if (!answer.ok) {
        headline.textContent = "";
        Object.values(answer.errors || {}).flat().forEach((message) => {
          errors.appendChild(el("p", { text: message }));
        });
        table.hidden = true;
        return;
      }
      headline.textContent = answer.headline;
      const rows = answer.periods.slice();
      if (answer.total) rows.push(answer.total);
      rows.forEach((row, index) => {
        const tr = el("tr", { className: answer.total && index === rows.length - 1 ? "total" : "" }, [
          el("th", { scope: "row", text: row.period }),
          el("td", { className: "num", text: row.numerator_text }),
          el("td", { className: "num", text: row.denominator_text }),
          el("td", { className: "num", text: row.missing_text }),
          el("td", { className: "num", "data-value": row.value === null ? "" : String(row.value), text: row.value_text }),
          el("td", { className: "num", text: row.interval_text || "–" }),
        ]);
        tbody.appendChild(tr);
      });
      table.hidden = rows.length === 0;
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(runPreview, 350);
    }

    // A form shown again with a draft in it (after an error) gets its preview at once.
    const eventText = form.querySelector("[name=own-event]");
    const hadDraft = Boolean((eventText && eventText.value.trim()) ||
      form.querySelector("[name=own-measure_from]").value);

    form.querySelectorAll(".builder").forEach((container) => {
      const textarea = document.getElementById(container.dataset.target);
      if (textarea) Builder(container, textarea, container.dataset.empty, schedule);
    });
    kind.addEventListener("change", () => { showKind(); schedule(); });
    form.addEventListener("input", (event) => {
      if (!event.target.closest(".builder")) schedule();
    });
    form.addEventListener("change", (event) => {
      if (!event.target.closest(".builder")) schedule();
    });
    showKind();
    if (hadDraft) schedule();
  }

  // --- moving indicators up and down --------------------------------------------------------

  const choices = document.getElementById("indicator-choices");
  if (choices) {
    const body = choices.tBodies[0];
    function renumber() {
      Array.from(body.rows).forEach((row, index) => {
        const input = row.querySelector("input.position");
        if (input) input.value = String(index + 1);
      });
    }
    Array.from(body.rows).forEach((row) => {
      const cell = row.querySelector(".order-cell");
      if (!cell) return;
      const up = el("button", { type: "button", className: "move", "aria-label": T.move_up, title: T.move_up, text: "↑" });
      const down = el("button", { type: "button", className: "move", "aria-label": T.move_down, title: T.move_down, text: "↓" });
      up.addEventListener("click", () => {
        if (row.previousElementSibling) body.insertBefore(row, row.previousElementSibling);
        renumber();
        up.focus();
      });
      down.addEventListener("click", () => {
        if (row.nextElementSibling) body.insertBefore(row.nextElementSibling, row);
        renumber();
        down.focus();
      });
      cell.append(up, down);
    });
    // Show the rows in the order their numbers say (a re-shown form keeps what was typed).
    const sorted = Array.from(body.rows).sort((a, b) => {
      const x = Number((a.querySelector("input.position") || {}).value || 999);
      const y = Number((b.querySelector("input.position") || {}).value || 999);
      return x - y;
    });
    sorted.forEach((row) => body.appendChild(row));
  }

  // --- the recompute a save queued ----------------------------------------------------------

  const state = document.getElementById("computation-state");
  if (state && state.dataset.finished !== "1") {
    const bar = state.querySelector("progress");
    async function poll() {
      try {
        const url = state.dataset.statusUrl + (state.dataset.id ? "?id=" + encodeURIComponent(state.dataset.id) : "");
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (response.ok) {
          const answer = await response.json();
          bar.value = answer.progress;
          state.querySelectorAll("[data-field]").forEach((node) => {
            const value = answer[node.dataset.field];
            if (value !== undefined && value !== null) node.textContent = value;
          });
          state.className = state.className.replace(/comp-\S+/, "comp-" + answer.status);
          if (answer.finished) { state.dataset.finished = "1"; return; }
        }
      } catch (err) { /* the network blinked: try again */ }
      window.setTimeout(poll, 1000);
    }
    window.setTimeout(poll, 500);
  }
})();
