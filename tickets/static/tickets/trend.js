/* The trend (SPEC §16.3): a line chart of the team's closures per day over the page's range, and
 * the line of the agent last picked (a bar or a table row) over it. Follows dashboard.js through
 * its `yam:view` and `yam:agent` events; reads /api/tickets/closures/daily. */
(function () {
  "use strict";

  const section = document.getElementById("ticket-closures");
  const canvas = document.getElementById("trend-chart");
  if (!section || !canvas || !window.Chart) return;
  const $ = (id) => document.getElementById(id);
  const TEAM_COLOUR = "#2563eb";
  const AGENT_COLOUR = "#f59e0b";
  const LONG_RANGE = 62; // days; a longer range draws no point markers, and 7-day averages

  let chart = null;
  let answer = null; // the last daily answer
  let agent = null; // {freshworks_user_id, name} whose line is drawn, or null
  let shownRange = null;
  let loading = 0; // a newer load wins over a slower older one

  function rangeKey(detail) {
    return `${detail.start}/${detail.end}/${detail.team || ""}`;
  }

  // A view of a few days (Today, Yesterday) draws the two weeks up to its end: one point is no
  // trend. Longer views draw exactly their own days.
  const SHORT_VIEW_DAYS = 7;
  const WIDENED_DAYS = 14;
  const DAY_MS = 86400000;
  let widened = false; // whether the last answer is the two weeks around a short view

  function trendRange(detail) {
    const end = Date.parse(`${detail.end}T00:00:00Z`);
    const days = Math.round((end - Date.parse(`${detail.start}T00:00:00Z`)) / DAY_MS) + 1;
    if (days >= SHORT_VIEW_DAYS) return { start: detail.start, end: detail.end, widened: false };
    const start = new Date(end - (WIDENED_DAYS - 1) * DAY_MS).toISOString().slice(0, 10);
    return { start, end: detail.end, widened: true };
  }

  function dailyUrl(detail) {
    const range = trendRange(detail);
    const query = new URLSearchParams({ start: range.start, end: range.end });
    if (detail.team) query.set("team", detail.team);
    return `${section.dataset.dailyUrl}?${query}`;
  }

  async function fetchDaily(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || Object.values(body).flat().join(" ") || `HTTP ${response.status}`);
    return body;
  }

  function message(text) {
    $("trend-message").textContent = text;
    $("trend-message").hidden = !text;
  }

  async function load(detail) {
    const ticket = ++loading;
    try {
      const body = await fetchDaily(dailyUrl(detail));
      if (ticket !== loading) return;
      answer = body;
      widened = trendRange(detail).widened;
      shownRange = rangeKey(detail);
      message("");
      draw();
    } catch (error) {
      if (ticket === loading) message(`Could not load the trend: ${error.message}`);
    }
  }

  // The agent's counts: from the answer when they closed anything in the range, else zeros.
  function agentCounts() {
    if (!agent || !answer) return null;
    const row = answer.agents.find((entry) => entry.freshworks_user_id === agent.freshworks_user_id);
    return row ? row.counts : answer.days.map(() => 0);
  }

  const phone = () => window.matchMedia("(max-width: 600px)").matches;
  const sum = (values) => values.reduce((total, value) => total + value, 0);

  // One formatter each, made once: toLocaleDateString(…, options) builds a new one per call,
  // which over a year's 366 labels took longer than drawing the chart.
  const LABELS = {
    short: new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" }),
    long: new Intl.DateTimeFormat("en-GB", {
      day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
    }),
  };

  function label(day, long) {
    // "23 Nov", or "23 Nov 2025" where the range crosses a year; the day is a local date already.
    const [year, month, date] = day.split("-").map(Number);
    return LABELS[long ? "long" : "short"].format(new Date(Date.UTC(year, month - 1, date)));
  }

  // Over a long range the daily line is a comb (weekends): a 7-day average carries the shape.
  // It starts on the range's 7th day (no average of fewer days).
  function weekAverage(values) {
    return values.map((_, index) => (index < 6
      ? null
      : Math.round((sum(values.slice(index - 6, index + 1)) / 7) * 10) / 10));
  }

  // An agent's line on the team's scale lies flat when the team is large (one of 300): it then
  // gets a scale of its own, on the right, in its colour.
  function ownScale(counts) {
    return Boolean(counts) && Math.max(...counts) * 10 < Math.max(...answer.total);
  }

  function datasets() {
    const long = answer.days.length > LONG_RANGE;
    const points = answer.days.length <= (phone() ? 14 : LONG_RANGE);
    const line = (name, data, colour, options = {}) => ({
      label: name,
      data,
      borderColor: colour,
      backgroundColor: colour,
      borderWidth: 2,
      pointRadius: points ? 3 : 0,
      pointHoverRadius: 4,
      pointHitRadius: 6,
      cubicInterpolationMode: "monotone", // smooth, never below zero between two days
      ...options,
    });
    const counts = agentCounts();
    const sets = long
      ? [
        line("Team total", answer.total, "rgba(37, 99, 235, 0.30)", { borderWidth: 1 }),
        line("Team, 7-day average", weekAverage(answer.total), TEAM_COLOUR, { borderWidth: 2.5 }),
      ]
      : [line("Team total", answer.total, TEAM_COLOUR, { fill: true, backgroundColor: "rgba(37, 99, 235, 0.10)" })];
    if (counts) {
      const own = ownScale(counts);
      const name = `${agent.name}${long ? ", 7-day average" : ""}${own ? " (right scale)" : ""}`;
      sets.push(line(name, long ? weekAverage(counts) : counts, AGENT_COLOUR, {
        borderWidth: long ? 2.5 : 2, yAxisID: own ? "agent" : "y",
      }));
    }
    return sets;
  }

  function scales() {
    const counts = agentCounts();
    return {
      x: {
        grid: { display: false },
        ticks: { autoSkip: true, autoSkipPadding: 16, maxRotation: 0, maxTicksLimit: phone() ? 5 : 14 },
      },
      y: { beginAtZero: true, ticks: { precision: 0 } },
      agent: {
        display: ownScale(counts),
        position: "right",
        beginAtZero: true,
        grid: { drawOnChartArea: false },
        ticks: { precision: 0, color: AGENT_COLOUR },
      },
    };
  }

  function describe() {
    const total = sum(answer.total);
    const busiest = answer.total.indexOf(Math.max(...answer.total));
    let text = `Tickets closed per day from ${answer.start} to ${answer.end}: ${total} in all`;
    if (total) text += `, most on ${answer.days[busiest]} (${answer.total[busiest]})`;
    const counts = agentCounts();
    if (counts) text += `; ${agent.name}: ${sum(counts)}`;
    return `${text}.`;
  }

  function draw() {
    const years = new Set(answer.days.map((day) => day.slice(0, 4)));
    const labels = answer.days.map((day) => label(day, years.size > 1));
    const heading = agent ? `Tickets closed per day — ${agent.name} and the team` : "Tickets closed per day";
    $("trend-heading").textContent = widened ? `${heading}, the last ${WIDENED_DAYS} days` : heading;
    $("trend-team-only").hidden = !agent;
    $("trend-hint").hidden = Boolean(agent);
    canvas.setAttribute("aria-label", describe());
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets = datasets();
      chart.options.scales = scales();
      chart.update();
      return;
    }
    chart = new Chart(canvas, {
      type: "line",
      data: { labels, datasets: datasets() },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: true, position: "bottom", labels: { boxWidth: 14 } },
          tooltip: {
            callbacks: { title: (items) => (items.length ? answer.days[items[0].dataIndex] : "") },
          },
        },
        scales: scales(),
      },
    });
    window.yamTrend = chart;
  }

  // Another period, or the page's reload every few minutes: the trend follows, keeping the
  // agent's line (as the ticket list keeps the agent).
  document.addEventListener("yam:view", (event) => load(event.detail));

  document.addEventListener("yam:agent", (event) => {
    agent = { freshworks_user_id: event.detail.freshworks_user_id, name: event.detail.name };
    if (answer && rangeKey(event.detail) === shownRange) draw();
    else load(event.detail);
  });

  $("trend-team-only").addEventListener("click", () => {
    agent = null;
    if (answer) draw();
  });
})();
