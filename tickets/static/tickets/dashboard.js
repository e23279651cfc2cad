/* Daily Ticket Closures: draws the chart and table from the JSON API, drives the sync button
 * and the admin statistics modal. Every URL comes from the section's data- attributes. */
(function () {
  "use strict";

  const section = document.getElementById("ticket-closures");
  if (!section) return;
  const urls = section.dataset;
  const CHART_AGENTS = 15;
  const $ = (id) => document.getElementById(id);

  const PERIODS = ["today", "yesterday", "week", "month"];
  const saved = localStorage.getItem("yam-period");
  let period = PERIODS.includes(saved) ? saved : "today";
  let chart = null;
  let lastSyncedAt = null;
  let nextSyncAt = null;
  let syncing = false;

  // --- talking to the API ----------------------------------------------------------------------

  async function api(url, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (options.method === "POST") {
      headers["X-CSRFToken"] = urls.csrfToken;
      headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url, { credentials: "same-origin", ...options, headers });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = { detail: `The server answered ${response.status} without details.` };
    }
    return { status: response.status, ok: response.ok, body };
  }

  function localDate() {
    return new Date().toLocaleDateString("en-CA"); // YYYY-MM-DD
  }

  function detailOf(body) {
    if (!body) return "unknown error";
    if (typeof body.detail === "string") return body.detail;
    return Object.values(body).flat().join(" ");
  }

  function show(element, text, isError = false) {
    element.textContent = text;
    element.classList.toggle("is-error", isError);
    element.hidden = !text;
  }

  // --- closures ----------------------------------------------------------------------------

  async function loadClosures() {
    const answer = await api(`${urls.closuresUrl}?period=${encodeURIComponent(period)}`);
    if (!answer.ok) {
      if (answer.status === 401 || answer.status === 403) window.location.reload();
      show($("message"), `Could not load the closures: ${detailOf(answer.body)}`, true);
      return;
    }
    render(answer.body);
  }

  function render(data) {
    const entries = data.closures;
    $("total").textContent = data.total;
    $("range").textContent = data.start === data.end ? data.start : `${data.start} – ${data.end}`;
    $("top-closer").textContent = data.top_closer ? data.top_closer.name : "—";
    $("top-closer-count").textContent = data.top_closer
      ? `${data.top_closer.tickets_closed} tickets` : "No closures yet";
    $("stale-warning").hidden = !data.stale;
    if (data.team) $("closures-heading").textContent = `Daily Ticket Closures — ${data.team.name}`;
    lastSyncedAt = data.last_synced_at ? new Date(data.last_synced_at) : null;
    renderLastSynced();
    renderChart(entries);
    renderTable(entries);
    const exportLink = $("export-csv");
    if (exportLink) exportLink.href = `${urls.exportUrl}?period=${encodeURIComponent(period)}`;
    // (placeholder: board branch provides this) other features listen for the view drawn.
    document.dispatchEvent(new CustomEvent("yam:view", {
      detail: { period, start: data.start, end: data.end, team: null, data },
    }));
  }

  function renderLastSynced() {
    const element = $("last-synced");
    if (!lastSyncedAt) {
      element.textContent = "never";
      return;
    }
    const minutes = Math.max(0, Math.round((Date.now() - lastSyncedAt.getTime()) / 60000));
    element.textContent = minutes === 0 ? "just now" : minutes < 120
      ? `${minutes} minute${minutes === 1 ? "" : "s"} ago`
      : `${Math.round(minutes / 60)} hours ago`;
    element.title = lastSyncedAt.toLocaleString();
  }

  function renderChart(entries) {
    const shown = entries.slice(0, CHART_AGENTS);
    const more = entries.length - shown.length;
    show($("more-agents"), more > 0 ? `and ${more} more (see the table below)` : "");
    // Bars keep a readable thickness whether 2 or 15 agents are shown.
    $("closures-chart").parentElement.style.height = `${Math.max(200, shown.length * 40 + 60)}px`;
    $("no-closures").hidden = entries.length > 0;
    const data = {
      labels: shown.map((entry) => entry.name),
      datasets: [{
        label: "Tickets closed",
        data: shown.map((entry) => entry.tickets_closed),
        backgroundColor: shown.map((_, index) => (index === 0 ? "#f59e0b" : "#2563eb")),
        borderRadius: 4,
        maxBarThickness: 36,
      }],
    };
    if (chart) {
      chart.data = data;
      chart.update();
    } else {
      chart = new Chart($("closures-chart"), {
        type: "bar",
        data,
        options: {
          indexAxis: "y",
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
    }
    window.yamChart = chart;
  }

  function renderTable(entries) {
    const body = $("closures-table").tBodies[0];
    body.replaceChildren(...entries.map((entry, index) => {
      const row = document.createElement("tr");
      row.dataset.agent = entry.freshworks_user_id;
      for (const [text, className] of [[index + 1, "num"], [entry.name, ""], [entry.tickets_closed, "num"]]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (className) cell.className = className;
        row.appendChild(cell);
      }
      return row;
    }));
  }

  // --- the sync button ---------------------------------------------------------------------

  async function loadSyncStatus() {
    const answer = await api(urls.syncStatusUrl); // today in the server's TIME_ZONE
    if (!answer.ok) return;
    nextSyncAt = answer.body.can_sync ? null : new Date(answer.body.next_sync_at);
    renderSyncButton();
  }

  function minutesLeft() {
    if (!nextSyncAt) return 0;
    return Math.max(0, Math.ceil((nextSyncAt.getTime() - Date.now()) / 60000));
  }

  function renderSyncButton() {
    const button = $("sync-button");
    if (syncing) {
      button.innerHTML = '<span class="spinner" aria-hidden="true"></span>';
      button.disabled = true;
      button.dataset.state = "syncing";
      button.setAttribute("aria-label", "Syncing…");
      return;
    }
    const minutes = minutesLeft();
    button.disabled = minutes > 0;
    button.dataset.state = minutes > 0 ? "rate-limited" : "ready";
    button.textContent = minutes > 0 ? `🕐 ${minutes} min` : "🔄";
    const label = minutes > 0 ? `Next sync allowed in ${minutes} minutes` : "Sync now";
    button.title = label;
    button.setAttribute("aria-label", label);
    $("sync-state").textContent = minutes > 0 ? `next sync in ${minutes} min` : "sync available";
  }

  async function sync(url, body) {
    syncing = true;
    renderSyncButton();
    try {
      const answer = await api(url, { method: "POST", body: JSON.stringify(body) });
      if (answer.ok) {
        nextSyncAt = new Date(answer.body.next_sync_at);
        show($("message"), `Synced: ${answer.body.tickets_processed} updated tickets read in ${answer.body.api_calls} API calls.`);
        await loadClosures();
      } else if (answer.status === 429 && answer.body.rate_limited) {
        nextSyncAt = new Date(answer.body.next_sync_at);
        show($("message"), `Not synced: the next sync is allowed in ${answer.body.minutes_until_next_sync} min.`, true);
      } else if (answer.status === 429 && answer.body.in_progress) {
        show($("message"), "Another sync is running; the numbers refresh when it finishes.");
        setTimeout(loadClosures, 15000);
      } else {
        show($("message"), `Sync failed: ${detailOf(answer.body)}`, true);
      }
      return answer;
    } catch (error) {
      show($("message"), `Sync failed: the site could not be reached (${error.message}).`, true);
      return null;
    } finally {
      syncing = false;
      renderSyncButton();
    }
  }

  // --- the admin statistics modal ------------------------------------------------------------

  const modal = $("admin-modal");
  let lastStats = null;

  function fill(list, pairs) {
    list.replaceChildren(...pairs.flatMap(([label, value]) => {
      const term = document.createElement("dt");
      term.textContent = label;
      const description = document.createElement("dd");
      description.textContent = value;
      return [term, description];
    }));
  }

  const when = (value) => (value ? new Date(value).toLocaleString() : "—");

  async function loadAdminStats() {
    const answer = await api(urls.adminStatsUrl);
    if (!answer.ok) {
      show($("admin-message"), `Could not load the statistics: ${detailOf(answer.body)}`, true);
      return;
    }
    lastStats = answer.body;
    const sync = answer.body.sync_status;
    const database = answer.body.database;
    fill($("stats-sync"), [
      ["Last sync", when(sync.last_sync_time)],
      ["Next sync allowed", sync.next_sync_at ? when(sync.next_sync_at) : "now"],
      ["Next scheduled sync", when(sync.next_scheduled_sync)],
      ["Syncs today", sync.syncs_today],
      ["Tickets processed today", sync.tickets_processed_today],
      ["Data", sync.stale ? "STALE" : "fresh"],
    ]);
    fill($("stats-database"), [
      ["Closure records", database.total_records],
      ["Mapped users", database.mapped_users],
      ["Unmapped agents", database.unmapped_agents],
      ["Days with data", database.days_with_data],
      ["Sync operations", database.total_sync_operations],
    ]);
    $("stats-activity").tBodies[0].replaceChildren(...answer.body.recent_activity.map((run) => {
      const row = document.createElement("tr");
      const dates = run.first_date === run.last_date ? run.first_date : `${run.first_date} – ${run.last_date}`;
      const cells = [when(run.started_at), dates, run.trigger, run.status, run.tickets_processed, run.api_calls];
      cells.forEach((text, index) => {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (index >= 4) cell.className = "num";
        if (index === 3 && run.status === "failed") {
          cell.className = "status-failed";
          cell.title = run.error;
        }
        row.appendChild(cell);
      });
      return row;
    }));
  }

  function downloadStats() {
    if (!lastStats) return;
    const blob = new Blob([JSON.stringify(lastStats, null, 2)], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `sync-statistics-${localDate()}.json`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000); // after the download has started
  }

  async function refreshMappings() {
    const button = $("refresh-mappings");
    button.disabled = true;
    const answer = await api(urls.refreshMappingsUrl, { method: "POST", body: "{}" });
    button.disabled = false;
    if (answer.ok) {
      const report = answer.body;
      const directory = report.directory
        ? ` Freshservice lists ${report.directory.listed} agents; ` +
          `${report.email_linked.length} linked by email.`
        : "";
      const problem = report.directory_failed ? ` ${report.directory_problem}.` : "";
      show($("admin-message"), `User mappings refreshed: ${report.matched.length} matched, ` +
        `${report.unmatched.length} unmatched, ${report.problems.length} lines skipped.` +
        directory + problem, report.directory_failed);
      await Promise.all([loadClosures(), loadAdminStats()]);
    } else {
      show($("admin-message"), `Refresh failed: ${detailOf(answer.body)}`, true);
    }
  }

  async function forceSync() {
    const answer = await sync(urls.forceSyncUrl, {});
    if (answer && answer.ok) show($("admin-message"), $("message").textContent);
    else if (answer) show($("admin-message"), $("message").textContent, true);
    await loadAdminStats();
  }

  // --- wiring --------------------------------------------------------------------------------

  function selectPeriod(name) {
    period = name;
    localStorage.setItem("yam-period", name);
    for (const button of section.querySelectorAll("[data-period]")) {
      button.setAttribute("aria-pressed", String(button.dataset.period === name));
    }
    return loadClosures();
  }

  for (const button of section.querySelectorAll("[data-period]")) {
    button.addEventListener("click", () => selectPeriod(button.dataset.period));
  }
  // No date: the server syncs its own today (its TIME_ZONE may differ from the browser's).
  $("sync-button").addEventListener("click", () => sync(urls.syncUrl, {}));
  if (modal) {
    $("admin-button").addEventListener("click", () => {
      modal.showModal();
      loadAdminStats();
    });
    modal.querySelector("[data-close]").addEventListener("click", () => modal.close());
    $("export-stats").addEventListener("click", downloadStats);
    if ($("force-sync")) $("force-sync").addEventListener("click", forceSync);
    if ($("refresh-mappings")) $("refresh-mappings").addEventListener("click", refreshMappings);
  }

  // Wall screens: refresh the data every few minutes, the clock every half minute.
  setInterval(() => { loadClosures(); loadSyncStatus(); }, Number(urls.refreshSeconds) * 1000);
  setInterval(() => { renderLastSynced(); renderSyncButton(); }, 30000);

  selectPeriod(period).then(() => section.setAttribute("data-ready", "1"));
  loadSyncStatus();
})();
