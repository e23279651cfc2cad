/* Daily Ticket Closures: draws the chart and table from the JSON API, drives the sync button
 * and the admin statistics modal. Every URL comes from the section's data- attributes.
 *
 * The view (?period=, or ?start=&end=; any other parameter such as &team= kept as it is) lives
 * in the URL, so a reload or a shared link shows the same. After each load the page dispatches
 * `yam:view` {period, start, end, team, data}; a click on an agent's bar or row `yam:agent`
 * {freshworks_user_id, name, start, end, team}: other views listen to those. */
(function () {
  "use strict";

  const section = document.getElementById("ticket-closures");
  if (!section) return;
  const urls = section.dataset;
  const CHART_AGENTS = 15;
  const $ = (id) => document.getElementById(id);
  const board = window.yamBoard;
  const DEFAULT_VIEW = { period: "today" };

  let view = viewFromUrl();
  let shown = null; // the last closures answer drawn
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

  // --- the view in the URL -------------------------------------------------------------------

  function viewFromUrl() {
    const params = new URLSearchParams(window.location.search);
    if (params.has("start") || params.has("end")) {
      const range = { start: params.get("start") || "", end: params.get("end") || "" };
      // Both kinds at once are refused by the API, which says why; keep them to be told.
      if (params.has("period")) range.period = params.get("period");
      return range;
    }
    return { period: params.get("period") || DEFAULT_VIEW.period };
  }

  function team() {
    return new URLSearchParams(window.location.search).get("team");
  }

  /** The query for `view`, keeping every other parameter of the page's URL (e.g. team). */
  function viewQuery(aView) {
    const params = new URLSearchParams(window.location.search);
    for (const name of ["period", "start", "end"]) params.delete(name);
    for (const name of ["period", "start", "end"]) {
      if (aView[name] !== undefined) params.set(name, aView[name]);
    }
    return params.toString();
  }

  function putViewInUrl(aView, { replace = false } = {}) {
    const url = `${window.location.pathname}?${viewQuery(aView)}`;
    if (url === `${window.location.pathname}${window.location.search}`) return;
    if (replace) window.history.replaceState(null, "", url);
    else window.history.pushState(null, "", url);
  }

  // --- closures ----------------------------------------------------------------------------

  let loads = 0; // only the newest load draws: a slower older answer never overwrites it

  /** The answer to the first request, carried by the page (the same the API gives for that
   * query: one round trip fewer before the chart is drawn); null if it answers another query. */
  function carriedAnswer() {
    const element = $("closures-answer");
    if (!element) return null;
    const carried = JSON.parse(element.textContent);
    element.remove();
    return carried.query === viewQuery(view) ? { status: 200, ok: true, body: carried.answer } : null;
  }

  async function loadClosures({ fallback = true, carried = null } = {}) {
    const load = ++loads;
    const answer = carried || await api(`${urls.closuresUrl}?${viewQuery(view)}`);
    if (load !== loads) return;
    if (!answer.ok) {
      if (answer.status === 401 || answer.status === 403) window.location.reload();
      if (answer.status === 400 && fallback) {
        // A link with a period or dates the API refuses: say so, and show Today instead.
        show($("message"), `The period in this link could not be shown: ${detailOf(answer.body)} ` +
          "Showing Today instead.", true);
        view = { ...DEFAULT_VIEW };
        putViewInUrl(view, { replace: true });
        return loadClosures({ fallback: false });
      }
      show($("message"), `Could not load the closures: ${detailOf(answer.body)}`, true);
      return;
    }
    render(answer.body);
    document.dispatchEvent(new CustomEvent("yam:view", {
      detail: {
        period: answer.body.period, start: answer.body.start, end: answer.body.end,
        team: team(), data: answer.body,
      },
    }));
  }

  function showChange(element, now, before, options) {
    const { text, direction } = board.change(now, before, options);
    element.textContent = text;
    element.dataset.direction = direction;
  }

  function render(data) {
    shown = data;
    const entries = data.closures;
    const previous = data.previous;
    $("total").textContent = data.total;
    showChange($("total-change"), data.total, previous.total, { percent: true });
    $("total-change").title = `${previous.total} in ${board.dates(previous.start, previous.end)}`;
    $("range").textContent = board.dates(data.start, data.end);
    $("previous").textContent =
      `previous period ${board.dates(previous.start, previous.end)}: ${previous.total}`;
    const tops = data.top_closers;
    $("top-closer").textContent = tops.length ? board.joinNames(tops.map((entry) => entry.name)) : "—";
    $("top-closer").title = tops.map((entry) => entry.name).join(", ");
    $("top-closer-count").textContent = tops.length
      ? board.plural(tops[0].tickets_closed, "ticket") + (tops.length > 1 ? " each" : "")
      : "No closures yet";
    $("stale-warning").hidden = !data.stale;
    const teamName = data.team ? data.team.name : (data.teams || []).length > 1 ? "All teams" : "";
    $("closures-heading").textContent = `Daily Ticket Closures${teamName ? ` — ${teamName}` : ""}`;
    lastSyncedAt = data.last_synced_at ? new Date(data.last_synced_at) : null;
    renderLastSynced();
    renderChart(entries);
    renderTable(entries);
    for (const button of section.querySelectorAll("[data-period]")) {
      button.setAttribute("aria-pressed", String(button.dataset.period === data.period));
    }
    $("range-start").value = data.start;
    $("range-end").value = data.end;
    const exportLink = $("export-csv");
    if (exportLink) exportLink.href = `${urls.exportUrl}?${viewQuery(view)}`;
  }

  function renderLastSynced() {
    const element = $("last-synced");
    $("last-synced-at").textContent = lastSyncedAt
      ? board.dateTime(lastSyncedAt, urls.timeZone) : "";
    if (!lastSyncedAt) {
      element.textContent = "never";
      return;
    }
    const minutes = Math.max(0, Math.round((Date.now() - lastSyncedAt.getTime()) / 60000));
    element.textContent = minutes === 0 ? "just now" : minutes < 120
      ? `${minutes} minute${minutes === 1 ? "" : "s"} ago`
      : `${Math.round(minutes / 60)} hours ago`;
    element.title = board.dateTime(lastSyncedAt, urls.timeZone);
  }

  function agentClicked(entry) {
    if (!entry || !shown) return;
    document.dispatchEvent(new CustomEvent("yam:agent", {
      detail: {
        freshworks_user_id: entry.freshworks_user_id, name: entry.name,
        start: shown.start, end: shown.end, team: team(),
      },
    }));
  }

  function renderChart(entries) {
    const bars = entries.slice(0, CHART_AGENTS);
    const more = entries.length - bars.length;
    const top = entries.length ? entries[0].tickets_closed : null;
    show($("more-agents"), more > 0 ? `and ${more} more (see the table below)` : "");
    // Bars keep a readable thickness whether 2 or 15 agents are shown.
    $("closures-chart").parentElement.style.height = `${Math.max(200, bars.length * 40 + 60)}px`;
    $("no-closures").hidden = entries.length > 0;
    const data = {
      labels: bars.map((entry) => entry.name),
      datasets: [{
        label: "Tickets closed",
        data: bars.map((entry) => entry.tickets_closed),
        // Every top closer's bar stands out, ties included.
        backgroundColor: bars.map((entry) => (entry.tickets_closed === top ? "#f59e0b" : "#2563eb")),
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
          onClick: (event, elements) => {
            if (elements.length) agentClicked(shown.closures[elements[0].index]);
          },
          onHover: (event, elements) => {
            event.native.target.style.cursor = elements.length ? "pointer" : "default";
          },
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
      row.tabIndex = 0;
      row.className = "agent-row";
      const cells = [[index + 1, "num"], [entry.name, ""], [entry.tickets_closed, "num"]];
      for (const [text, className] of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (className) cell.className = className;
        row.appendChild(cell);
      }
      const difference = document.createElement("td");
      difference.className = "num change";
      showChange(difference, entry.tickets_closed, entry.previous_tickets_closed);
      difference.title = `${entry.previous_tickets_closed} in the previous period`;
      row.appendChild(difference);
      row.addEventListener("click", () => agentClicked(entry));
      row.addEventListener("keydown", (event) => {
        if (event.key === "Enter") agentClicked(entry);
      });
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
    if (minutes > 0) {
      // The clock is a static SVG (site.css), not an emoji: it shows without an emoji font.
      const clock = document.createElement("span");
      clock.className = "clock-icon";
      clock.setAttribute("aria-hidden", "true");
      button.replaceChildren(clock, ` ${minutes} min`);
    } else {
      button.textContent = "🔄";
    }
    const label = minutes > 0
      ? `Rate limit: the next sync is allowed in ${board.plural(minutes, "minute")}` : "Sync now";
    button.title = label;
    button.setAttribute("aria-label", label);
    $("sync-state").textContent = minutes > 0
      ? `next sync in ${minutes} min (rate limit)` : "sync available";
  }

  async function sync(url, body) {
    syncing = true;
    renderSyncButton();
    try {
      const answer = await api(url, { method: "POST", body: JSON.stringify(body) });
      if (answer.ok) {
        nextSyncAt = new Date(answer.body.next_sync_at);
        show($("message"), `Synced: ${board.plural(answer.body.tickets_processed, "updated ticket")} ` +
          `read in ${board.plural(answer.body.api_calls, "API call")}.`);
        await loadClosures();
      } else if (answer.status === 429 && answer.body.rate_limited) {
        nextSyncAt = new Date(answer.body.next_sync_at);
        show($("message"), "Not synced: the rate limit allows the next sync in " +
          `${answer.body.minutes_until_next_sync} min.`, true);
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

  const when = (value) => board.dateTime(value, urls.timeZone);
  const ACTIVITY_COLUMNS = ["Started", "Dates", "Trigger", "Status", "Tickets", "API calls"];

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
      ["Next sync allowed (rate limit)", sync.next_sync_at ? when(sync.next_sync_at) : "now"],
      ["Next scheduled sync (schedule)", when(sync.next_scheduled_sync)],
      ["Syncs today", sync.syncs_today],
      ["Tickets processed today", sync.tickets_processed_today],
      ["Data", sync.stale ? "STALE" : "fresh"],
    ]);
    fill($("stats-database"), [
      ["Closure records", database.total_records],
      // The same words as the admin's Sync statistics page; "unmapped" means no local user.
      ["Agents linked to a local user", database.mapped_users],
      ["Unmapped agents (closures, no local user)", database.unlinked_agents],
      ["Agents unknown to IDs.txt and Freshservice", database.unmapped_agents],
      ["Days with data", database.days_with_data],
      ["Sync operations", database.total_sync_operations],
    ]);
    $("stats-activity").tBodies[0].replaceChildren(...answer.body.recent_activity.map((run) => {
      const row = document.createElement("tr");
      const cells = [
        when(run.started_at), board.dates(run.first_date, run.last_date), run.trigger, run.status,
        run.tickets_processed, run.api_calls,
      ];
      cells.forEach((text, index) => {
        const cell = document.createElement("td");
        cell.textContent = text;
        cell.dataset.label = ACTIVITY_COLUMNS[index]; // shown beside the value on a phone
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

  function selectView(aView) {
    view = aView;
    putViewInUrl(view);
    return loadClosures();
  }

  for (const button of section.querySelectorAll("[data-period]")) {
    button.addEventListener("click", () => selectView({ period: button.dataset.period }));
  }
  $("range-form").addEventListener("submit", (event) => {
    event.preventDefault();
    selectView({ start: $("range-start").value, end: $("range-end").value });
  });
  window.addEventListener("popstate", () => {
    view = viewFromUrl();
    loadClosures();
  });
  // teams.js: another team, or Back/Forward (its popstate may run before ours): the URL is the view.
  document.addEventListener("yam:reload", () => {
    view = viewFromUrl();
    loadClosures();
  });
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

  loadClosures({ carried: carriedAnswer() }).then(() => section.setAttribute("data-ready", "1"));
  loadSyncStatus();
})();
