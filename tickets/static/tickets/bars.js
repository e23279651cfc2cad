/* The closures bar chart: one horizontal bar per agent, most closures first, the top closers
 * (every agent tied at the top) highlighted. Needs Chart.js loaded first. Used by tv.js; it
 * draws what the dashboard's chart draws, so the dashboard can switch to it.
 *
 *   const chart = yamBars.draw(previousChartOrNull, canvas, entries, {theme, fontSize, values})
 */
(function () {
  "use strict";

  const AGENTS = 15;
  const THEMES = {
    light: { bar: "#2563eb", top: "#f59e0b", ink: "#1d2430", grid: "#dde2ea" },
    dark: { bar: "#3b82f6", top: "#fbbf24", ink: "#e5e7eb", grid: "rgba(229, 231, 235, 0.14)" },
  };

  // Writes each bar's number just past its end (a wall screen is read from across the room).
  const valuesPlugin = {
    id: "yamValues",
    afterDatasetsDraw(chart, args, options) {
      if (!options.show) return;
      const { ctx } = chart;
      const meta = chart.getDatasetMeta(0);
      ctx.save();
      ctx.fillStyle = options.color;
      ctx.font = `600 ${options.size}px system-ui, sans-serif`;
      ctx.textBaseline = "middle";
      meta.data.forEach((bar, index) => {
        ctx.fillText(String(chart.data.datasets[0].data[index]), bar.x + 8, bar.y);
      });
      ctx.restore();
    },
  };

  function draw(chart, canvas, entries, options = {}) {
    const theme = THEMES[options.theme || "light"];
    const size = options.fontSize || 12;
    const shown = entries.slice(0, AGENTS);
    const top = shown.length ? shown[0].tickets_closed : null;
    const data = {
      labels: shown.map((entry) => entry.name),
      datasets: [{
        label: "Tickets closed",
        data: shown.map((entry) => entry.tickets_closed),
        backgroundColor: shown.map((entry) => (entry.tickets_closed === top ? theme.top : theme.bar)),
        borderRadius: 4,
        maxBarThickness: options.barThickness || 36,
      }],
    };
    const ticks = { color: theme.ink, font: { size } };
    const chartOptions = {
      indexAxis: "y",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      layout: { padding: { right: options.values ? size * 3 : 0 } },
      plugins: {
        legend: { display: false },
        tooltip: { enabled: !options.values },
        yamValues: { show: Boolean(options.values), color: theme.ink, size },
      },
      scales: {
        x: { beginAtZero: true, ticks: { ...ticks, precision: 0 }, grid: { color: theme.grid } },
        y: { ticks, grid: { display: false } },
      },
    };
    if (chart) {
      chart.data = data;
      chart.options = chartOptions;
      chart.update();
      return chart;
    }
    return new Chart(canvas, { type: "bar", data, options: chartOptions, plugins: [valuesPlugin] });
  }

  window.yamBars = { AGENTS, draw };
})();
