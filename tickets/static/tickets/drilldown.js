/* The tickets behind a number (SPEC §16.4): a click on an agent's bar or table row (dashboard.js's
 * `yam:agent` event) opens a panel listing that agent's tickets for the page's range, each linking
 * to its page in Freshservice. Esc or ✕ closes it and gives the focus back. */
(function () {
  "use strict";

  const section = document.getElementById("ticket-closures");
  const panel = document.getElementById("drilldown");
  if (!section || !panel) return;
  const $ = (id) => document.getElementById(id);
  const zone = section.dataset.timeZone || undefined;

  let current = null; // the yam:agent detail shown
  let opener = null; // what had the focus before the panel opened
  let loading = 0;

  // "2026-11-02 13:30 CET": the server's zone (TIME_ZONE), named; the ISO time keeps its offset.
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
  });

  function when(iso) {
    const part = Object.fromEntries(parts.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
    return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute} ${part.timeZoneName}`;
  }

  function range(detail) {
    return detail.start === detail.end ? detail.start : `${detail.start} – ${detail.end}`;
  }

  function summary(text, isError = false) {
    $("drilldown-summary").textContent = text;
    $("drilldown-summary").classList.toggle("is-error", isError);
  }

  function cell(content) {
    const td = document.createElement("td");
    if (typeof content === "string") td.textContent = content;
    else td.appendChild(content);
    return td;
  }

  function row(ticket) {
    const tr = document.createElement("tr");
    let id = document.createTextNode(`#${ticket.ticket_id}`);
    if (ticket.url) {
      id = document.createElement("a");
      id.href = ticket.url;
      id.target = "_blank";
      id.rel = "noopener noreferrer";
      id.textContent = `#${ticket.ticket_id}`;
      id.title = "Open in Freshservice (new tab)";
    }
    const closed = cell(when(ticket.closed_at));
    closed.title = ticket.closed_at;
    tr.append(cell(id), closed, cell(ticket.status_label));
    return tr;
  }

  async function load(detail) {
    const ticket = ++loading;
    const body = $("drilldown-table").tBodies[0];
    $("drilldown-title").textContent = `Tickets closed by ${detail.name}`;
    summary(`Loading ${range(detail)}…`);
    body.replaceChildren();
    const query = new URLSearchParams({ agent: detail.freshworks_user_id, start: detail.start, end: detail.end });
    if (detail.team) query.set("team", detail.team);
    let response;
    let answer;
    try {
      response = await fetch(`${section.dataset.ticketsUrl}?${query}`, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      answer = await response.json();
    } catch (error) {
      if (ticket === loading) summary(`Could not load the tickets: ${error.message}`, true);
      return;
    }
    if (ticket !== loading) return;
    if (!response.ok) {
      summary(`Could not load the tickets: ${answer.detail || Object.values(answer).flat().join(" ")}`, true);
      return;
    }
    const count = answer.count;
    let text = `${count} ticket${count === 1 ? "" : "s"}, ${range(answer)}`;
    if (answer.truncated) text += `; the newest ${answer.tickets.length} are listed (narrow the range for the rest)`;
    summary(count ? `${text}. Newest first; each opens in Freshservice.` : `No tickets closed, ${range(answer)}.`);
    body.replaceChildren(...answer.tickets.map(row));
  }

  function open(detail) {
    if (panel.hidden) opener = document.activeElement;
    current = detail;
    panel.hidden = false;
    section.classList.add("has-drilldown");
    panel.focus({ preventScroll: true });
    panel.scrollIntoView({ block: "nearest" });
    return load(detail);
  }

  function close() {
    panel.hidden = true;
    section.classList.remove("has-drilldown");
    current = null;
    loading++; // a load still under way is dropped
    if (opener && document.contains(opener)) opener.focus();
    opener = null;
  }

  document.addEventListener("yam:agent", (event) => open(event.detail));
  document.addEventListener("yam:view", (event) => {
    // Another period or range: the open list follows it for the same agent.
    const view = event.detail;
    if (current && (view.start !== current.start || view.end !== current.end || view.team !== current.team)) {
      current = { ...current, start: view.start, end: view.end, team: view.team };
      load(current);
    }
  });
  $("drilldown-close").addEventListener("click", close);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
})();
