/* The wall screen (/tv/<token>): read-only, no log-in. Shows Today, This Week and This Month in
 * turn every data-rotate-seconds, reloads the numbers every data-refresh-seconds, and says so
 * when the link is revoked (the data endpoint answers 404). URLs come from data- attributes. */
(function () {
  "use strict";

  const board = document.getElementById("tv");
  if (!board) return;
  const $ = (id) => document.getElementById(id);
  const settings = board.dataset;
  const rotateSeconds = Math.max(1, Number(settings.rotateSeconds) || 20);
  const refreshSeconds = Math.max(10, Number(settings.refreshSeconds) || 300);
  const periods = [...board.querySelectorAll(".tv-periods [data-period]")].map((item) => item.dataset.period);

  const answers = {}; // period -> the last closures answer
  const timers = [];
  let index = 0;
  let chart = null;

  class Revoked extends Error {}

  async function fetchPeriod(period) {
    const url = `${settings.closuresUrl}?period=${encodeURIComponent(period)}`;
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" });
    if (response.status === 404) throw new Revoked();
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    return response.json();
  }

  async function refresh() {
    try {
      const loaded = await Promise.all(periods.map(fetchPeriod));
      loaded.forEach((answer, position) => { answers[periods[position]] = answer; });
      $("tv-offline").hidden = true;
    } catch (error) {
      if (error instanceof Revoked) {
        revoke();
        return;
      }
      const offline = $("tv-offline");
      offline.textContent = `Could not reach the site at ${clock(new Date())} (${error.message}); ` +
        "showing the last numbers loaded.";
      offline.hidden = false;
    }
    render();
  }

  function revoke() {
    timers.forEach(clearInterval);
    if (chart) chart.destroy();
    board.remove();
    $("tv-revoked").hidden = false;
    document.body.dataset.state = "revoked";
  }

  function clock(date) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function ago(value) {
    if (!value) return "never";
    const minutes = Math.max(0, Math.round((Date.now() - new Date(value).getTime()) / 60000));
    if (minutes === 0) return "just now";
    if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"} ago`;
    return `${Math.round(minutes / 60)} hours ago`;
  }

  function fontSize() {
    // Large on a 1080p screen (about 26 px), still legible on a phone.
    return Math.round(Math.max(13, Math.min(28, window.innerWidth / 40, window.innerHeight / 40)));
  }

  function render() {
    const period = periods[index];
    board.dataset.period = period;
    for (const item of board.querySelectorAll(".tv-periods [data-period]")) {
      item.classList.toggle("is-current", item.dataset.period === period);
    }
    const data = answers[period];
    if (!data) return;
    const entries = data.closures;
    const tied = data.top_closers || (data.top_closer ? [data.top_closer] : []);
    $("tv-heading").textContent = data.team ? `Daily Ticket Closures — ${data.team.name}` : "Daily Ticket Closures";
    $("tv-top-closer").textContent = tied.length ? tied.map((entry) => entry.name).join(" and ") : "—";
    $("tv-top-count").textContent = tied.length
      ? `${tied[0].tickets_closed} ticket${tied[0].tickets_closed === 1 ? "" : "s"}` : "No closures yet";
    $("tv-total").textContent = data.total;
    $("tv-range").textContent = data.start === data.end ? data.start : `${data.start} – ${data.end}`;
    $("tv-last-synced").textContent = ago(data.last_synced_at);
    $("tv-stale").hidden = !data.stale;
    $("tv-empty").hidden = entries.length > 0;
    const more = entries.length - Math.min(entries.length, yamBars.AGENTS);
    $("tv-more").textContent = more > 0 ? `and ${more} more` : "";
    $("tv-more").hidden = more <= 0;
    // On a phone the page scrolls: bars keep their thickness. On a screen the chart fills the rest.
    const narrow = window.matchMedia("(max-width: 700px)").matches;
    const shown = Math.min(entries.length, yamBars.AGENTS);
    $("tv-chart-box").style.height = narrow ? `${Math.max(220, shown * 34 + 50)}px` : "";
    chart = yamBars.draw(chart, $("tv-canvas"), entries, {
      theme: "dark", fontSize: fontSize(), values: true, barThickness: 64,
    });
    window.yamTvChart = chart;
    restartProgress();
  }

  function restartProgress() {
    const bar = $("tv-progress");
    bar.style.animation = "none";
    void bar.offsetWidth; // restart the CSS animation from zero
    bar.style.animation = `tv-progress ${rotateSeconds}s linear`;
  }

  function tick() {
    $("tv-clock").textContent = clock(new Date());
  }

  function rotate() {
    index = (index + 1) % periods.length;
    render();
  }

  tick();
  refresh().then(() => {
    if (document.body.dataset.state === "revoked") return;
    board.dataset.ready = "1";
    timers.push(setInterval(rotate, rotateSeconds * 1000));
    timers.push(setInterval(refresh, refreshSeconds * 1000));
    timers.push(setInterval(() => {
      tick();
      const data = answers[periods[index]];
      if (data) $("tv-last-synced").textContent = ago(data.last_synced_at);
    }, 15000));
  });
  window.addEventListener("resize", () => { if (answers[periods[index]]) render(); });
})();
