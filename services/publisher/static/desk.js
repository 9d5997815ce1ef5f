// The desk's progressive enhancement: keyboard shortcuts, decisions with undo, live updates.
// Without it every page still works through plain forms.
(() => {
  "use strict";
  const page = document.body.dataset;

  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  if (page.page !== "queue") return;

  const list = document.getElementById("items");
  const empty = document.getElementById("empty");
  const toast = document.getElementById("toast");
  const dialog = document.getElementById("reject-dialog");
  const undoSeconds = parseFloat(page.undo || "5");
  const mine = new Set(); // ids this page decided, hidden while they can be undone
  let current = 0;
  let lastDecided = [];
  let toastTimer = null;

  const rows = () => Array.from(list.querySelectorAll(".item:not([hidden])"));
  const rowOf = (id) => document.getElementById(`item-${id}`);

  function focusRow(index) {
    const all = rows();
    all.forEach((row) => row.classList.remove("current"));
    if (!all.length) {
      empty.hidden = false;
      return;
    }
    empty.hidden = true;
    current = Math.max(0, Math.min(index, all.length - 1));
    all[current].classList.add("current");
    all[current].scrollIntoView({ block: "nearest" });
  }

  function chosen() {
    const picked = rows().filter((row) => row.querySelector(".select").checked);
    if (picked.length) return picked.map((row) => row.dataset.id);
    const row = rows()[current];
    return row ? [row.dataset.id] : [];
  }

  async function post(path, data) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": page.csrf },
      body: JSON.stringify({ tenant: page.tenant, ...data }),
    });
    if (!response.ok) {
      let message = `${response.status}`;
      try { message = (await response.json()).detail || message; } catch (e) { /* not JSON */ }
      throw new Error(typeof message === "string" ? message : JSON.stringify(message));
    }
    return response.json();
  }

  function say(text, undoIds) {
    toast.replaceChildren(document.createTextNode(text));
    if (undoIds) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Undo";
      button.id = "undo";
      button.addEventListener("click", () => undo(undoIds));
      toast.append(" ", button);
    }
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, (undoIds ? undoSeconds : 4) * 1000);
  }

  function hide(ids) {
    ids.forEach((id) => {
      const row = rowOf(id);
      if (row) row.hidden = true;
      mine.add(id);
    });
    focusRow(current);
  }

  async function decide(action, ids, category, note) {
    if (!ids.length) return;
    hide(ids);
    try {
      await post("/moderate/decide", { comment_ids: ids, action, category, note });
    } catch (error) {
      restore(ids);
      say(`Not saved: ${error.message}`);
      return;
    }
    lastDecided = ids;
    const verb = action === "approve" ? "Approved" : "Rejected";
    say(`${verb} ${ids.length} comment${ids.length > 1 ? "s" : ""}.`, ids);
    setTimeout(() => ids.forEach((id) => {
      const row = rowOf(id);
      if (row && row.hidden && mine.has(id)) row.remove();
      mine.delete(id);
    }), undoSeconds * 1000 + 500);
  }

  function restore(ids) {
    ids.forEach((id) => {
      mine.delete(id);
      const row = rowOf(id);
      if (row) {
        row.hidden = false;
        row.querySelector(".select").checked = false;
      }
    });
    focusRow(current);
  }

  async function undo(ids) {
    try {
      const result = await post("/moderate/undo", { comment_ids: ids });
      restore(result.undone);
      result.undone.forEach((id) => { if (!rowOf(id)) insertRow(id); });
      lastDecided = [];
      say(result.too_late.length ? `Too late for ${result.too_late.length}: already published.` : "Undone.");
    } catch (error) {
      say(`Undo failed: ${error.message}`);
    }
  }

  function askReject(ids) {
    if (!ids.length) return;
    dialog.dataset.ids = ids.join(",");
    document.getElementById("reject-count").textContent = ids.length;
    dialog.showModal();
    document.getElementById("reject-category").focus();
  }

  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "reject") return;
    const category = document.getElementById("reject-category").value;
    const note = document.getElementById("reject-note").value.trim() || null;
    document.getElementById("reject-note").value = "";
    decide("reject", dialog.dataset.ids.split(","), category, note);
  });

  document.getElementById("queue-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "approve";
    const ids = rows().filter((r) => r.querySelector(".select").checked).map((r) => r.dataset.id);
    if (!ids.length) { say("Select comments first (x)."); return; }
    if (action === "reject") askReject(ids);
    else decide("approve", ids, null, null);
  });

  document.getElementById("select-all").addEventListener("click", () => {
    const all = rows();
    const on = !all.every((row) => row.querySelector(".select").checked);
    all.forEach((row) => { row.querySelector(".select").checked = on; });
  });

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const row = event.target.closest(".item");
    if (row) focusRow(rows().indexOf(row));
    if (!button || !row) return;
    if (button.dataset.action === "approve") decide("approve", [row.dataset.id], null, null);
    else askReject([row.dataset.id]);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || dialog.open) return;
    if (event.target.closest("input, textarea, select")) return;
    const row = rows()[current];
    switch (event.key) {
      case "j": focusRow(current + 1); break;
      case "k": focusRow(current - 1); break;
      case "x": if (row) { const box = row.querySelector(".select"); box.checked = !box.checked; } break;
      case "a": decide("approve", chosen(), null, null); break;
      case "r": askReject(chosen()); break;
      case "u": if (lastDecided.length) undo(lastDecided); break;
      default: return;
    }
    event.preventDefault();
  });

  // Live: rows arrive and leave as verdicts are applied, by the worker or another moderator.
  async function insertRow(id) {
    if (rowOf(id)) return;
    const params = new URLSearchParams({ tenant: page.tenant, queue: page.queue });
    if (page.article) params.set("article", page.article);
    if (page.section) params.set("section", page.section);
    const response = await fetch(`/moderate/rows/${encodeURIComponent(id)}?${params}`, { credentials: "same-origin" });
    if (response.status !== 200 || rowOf(id)) return;
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim(); // server-rendered and escaped
    const row = template.content.firstElementChild;
    if (page.sort === "newest") list.prepend(row); else list.append(row);
    row.classList.add("arrived");
    focusRow(current);
  }

  function drop(id) {
    const row = rowOf(id);
    if (row && !mine.has(id)) {
      row.remove();
      focusRow(current);
    }
  }

  async function refreshCounts() {
    const response = await fetch(`/moderate/counts?tenant=${encodeURIComponent(page.tenant)}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const counts = await response.json();
    Object.entries(counts).forEach(([queue, count]) => {
      const badge = document.querySelector(`[data-count="${queue}"]`);
      if (badge) badge.textContent = count;
    });
  }

  const queueOf = { review: "held", approved: "approved", rejected: "rejected" };
  const live = new EventSource(`/moderate/events?tenant=${encodeURIComponent(page.tenant)}`);
  live.onopen = () => document.body.classList.add("live");
  live.onerror = () => document.body.classList.remove("live");
  live.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "verdict") {
      if (queueOf[event.verdict] === page.queue) insertRow(event.comment_id);
      else drop(event.comment_id);
    } else if (event.type === "pending") {
      event.comment_ids.forEach(drop);
    } else if (event.type === "restored") {
      event.comment_ids.forEach((id) => { if (!mine.has(id)) insertRow(id); });
    }
    refreshCounts();
  };

  focusRow(0);
  if (page.decided) say(`Decided ${page.decided.split(",").length}.`, page.decided.split(","));
})();
