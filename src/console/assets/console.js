// Frontdesk console behaviour: the CSRF header on every htmx request, the
// live feed (Server-Sent Events) that refreshes what changed, presence on a
// case, SLA countdowns, and the keyboard shortcuts. No inline script is
// needed anywhere, so the Content-Security-Policy forbids it.
(function () {
  "use strict";
  const body = document.body;
  const csrf = document.querySelector('meta[name="csrf-token"]');

  document.addEventListener("htmx:configRequest", function (e) {
    if (csrf) e.detail.headers["X-CSRF-Token"] = csrf.content;
  });
  // A 409 (the case changed, asks before sending) or 4xx answer carries a
  // fragment to show: let htmx swap it instead of dropping it.
  document.addEventListener("htmx:beforeSwap", function (e) {
    const status = e.detail.xhr.status;
    if (status === 409 || status === 400 || status === 403 || status === 404 || status === 422 || status === 429) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // ---- live updates -------------------------------------------------------
  const liveBadge = document.getElementById("live");
  const caseId = body.dataset.case || null;
  let pending = null;
  function changed(ids) {
    // One refresh for a burst of changes.
    if (pending) { pending.forEach(function (id) { ids.add(id); }); }
    pending = ids;
    setTimeout(function () {
      const batch = pending; pending = null;
      if (!batch) return;
      document.body.dispatchEvent(new CustomEvent("fd:changed", { detail: { ids: Array.from(batch) } }));
      if (caseId && (batch.has(caseId) || batch.has("*"))) {
        document.body.dispatchEvent(new CustomEvent("fd:case-changed"));
      }
    }, 150);
  }
  function connect() {
    if (!body.dataset.live) return;
    const source = new EventSource("/console/live" + (caseId ? "?case=" + encodeURIComponent(caseId) : ""));
    source.addEventListener("open", function () {
      if (liveBadge) { liveBadge.classList.remove("off"); liveBadge.textContent = "live"; }
      // Connected (again): tell the others on this case, and catch up on
      // anything missed while the feed was down.
      if (caseId) presence(typingUntil > Date.now() ? "typing" : "viewing");
      changed(new Set(["*"]));
    });
    source.addEventListener("error", function () { if (liveBadge) { liveBadge.classList.add("off"); liveBadge.textContent = "offline"; } });
    source.addEventListener("cases", function (e) {
      // Case ids; 0 means the server fell behind and everything may have changed.
      changed(new Set(JSON.parse(e.data).map(function (id) { return id === 0 || id === "*" ? "*" : String(id); })));
    });
    source.addEventListener("presence", function (e) {
      const p = JSON.parse(e.data);
      if (String(p.case) !== caseId) return;
      const box = document.getElementById("presence");
      if (!box) return;
      const me = body.dataset.me;
      const others = p.agents.filter(function (a) { return a.name !== me; });
      box.textContent = "";
      if (others.length === 0) return;
      const div = document.createElement("div");
      div.className = "alert warn";
      div.setAttribute("role", "status");
      div.textContent = others.map(function (a) {
        return a.name + (a.typing ? " is typing a reply" : " is viewing this case");
      }).join("; ");
      box.appendChild(div);
    });
  }
  connect();

  // ---- presence on a case -------------------------------------------------
  function presence(state) {
    if (!caseId || !csrf) return;
    const form = new URLSearchParams({ state: state });
    fetch("/console/cases/" + caseId + "/presence", {
      method: "POST", body: form, keepalive: true,
      headers: { "X-CSRF-Token": csrf.content },
    }).catch(function () {});
  }
  if (caseId) {
    presence("viewing");
    setInterval(function () { presence(typingUntil > Date.now() ? "typing" : "viewing"); }, 10000);
    window.addEventListener("pagehide", function () { presence("left"); });
  }
  let typingUntil = 0;
  let typingSent = 0;
  document.addEventListener("input", function (e) {
    if (!e.target.closest || !e.target.closest(".composer")) return;
    typingUntil = Date.now() + 8000;
    if (Date.now() - typingSent > 4000) { typingSent = Date.now(); presence("typing"); }
  });

  // ---- SLA countdowns -----------------------------------------------------
  function human(seconds) {
    const s = Math.abs(seconds);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + m + "m";
    if (m > 0) return m + "m " + Math.floor(s % 60) + "s";
    return Math.floor(s) + "s";
  }
  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (el) {
      const due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      const left = (due - Date.now()) / 1000;
      const label = el.querySelector(".left");
      if (!label) return;
      label.textContent = left >= 0 ? human(left) + " left" : human(left) + " over";
      if (left < 0 && el.classList.contains("sla-running")) {
        el.classList.remove("sla-running"); el.classList.add("sla-breached");
      }
    });
  }
  tick();
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);

  // ---- composer -----------------------------------------------------------
  document.addEventListener("change", function (e) {
    if (e.target.name === "kind") {
      const composer = e.target.closest(".composer");
      if (composer) composer.classList.toggle("note-mode", e.target.value === "note");
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.closest && e.target.closest(".composer")) {
      e.preventDefault();
      const form = e.target.closest("form");
      if (form) form.requestSubmit();
    }
  });
  // A send in flight cannot be sent again by a second click; the
  // Idempotency-Key makes a retry safe as well.
  document.addEventListener("htmx:beforeRequest", function (e) {
    const form = e.target.closest && e.target.closest("form.composer-form");
    if (form) form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    const form = e.target.closest && e.target.closest("form.composer-form");
    if (form) form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
  });

  // ---- keyboard shortcuts -------------------------------------------------
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  function rows() { return Array.from(document.querySelectorAll("table.cases tbody tr[data-href]")); }
  function select(delta) {
    const all = rows();
    if (all.length === 0) return;
    let i = all.findIndex(function (r) { return r.classList.contains("selected"); });
    if (i >= 0) all[i].classList.remove("selected");
    i = Math.max(0, Math.min(all.length - 1, i + delta));
    all[i].classList.add("selected");
    all[i].scrollIntoView({ block: "nearest" });
    const link = all[i].querySelector("a");
    if (link) link.focus();
  }
  function click(selector) { const el = document.querySelector(selector); if (el) { el.click(); return true; } return false; }
  function focusComposer(kind) {
    const radio = document.querySelector('.composer input[name=kind][value="' + kind + '"]');
    if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }
    const area = document.querySelector(".composer textarea");
    if (area) area.focus();
  }
  let lastG = 0;
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      const dialog = document.querySelector("dialog[open]");
      if (dialog) dialog.close();
      if (typing(e.target)) e.target.blur();
      return;
    }
    // Enter on the macro picker applies the chosen macro (a select does
    // not submit its form by itself).
    if (e.key === "Enter" && e.target.id === "macro-picker" && e.target.form) {
      e.preventDefault();
      e.target.form.requestSubmit();
      return;
    }
    if (typing(e.target)) return;
    switch (e.key) {
      case "?": { const d = document.getElementById("shortcuts"); if (d) d.showModal(); break; }
      case "j": select(1); break;
      case "k": select(-1); break;
      case "Enter": {
        const row = document.querySelector("table.cases tr.selected");
        if (row) window.location = row.dataset.href; else return;
        break;
      }
      case "n": if (!click("#next-case")) return; break;
      case "r": focusComposer("reply"); break;
      case "i":
        if (Date.now() - lastG < 1000) window.location = "/"; else focusComposer("note");
        break;
      case "s": if (!click("#solve")) return; break;
      case "a": if (!click("#assign-me")) return; break;
      case "m": { const picker = document.getElementById("macro-picker"); if (!picker) return; picker.focus(); break; }
      case "/": { const box = document.getElementById("goto"); if (box) box.focus(); break; }
      case "g": lastG = Date.now(); return;
      default: return;
    }
    e.preventDefault();
  });
})();
