/* The team selector (SPEC §16.5), shown when FRESH_GROUP_ID names several groups: the chosen
 * team lives in the URL (`&team=<group id>`, so a link reproduces the view) and the board
 * reloads its data through dashboard.js (the `yam:reload` event). Loaded before dashboard.js, so
 * a team the selector does not offer is dropped from the URL before the first load. */
(function () {
  "use strict";

  const select = document.getElementById("team-select");
  if (!select) return;
  const offered = new Set([...select.options].map((option) => option.value));

  function urlTeam() {
    return new URLSearchParams(window.location.search).get("team") || "";
  }

  function urlWith(team) {
    const url = new URL(window.location.href);
    if (team) url.searchParams.set("team", team);
    else url.searchParams.delete("team");
    return url;
  }

  function showUrlTeam() {
    select.value = offered.has(urlTeam()) ? urlTeam() : "";
  }

  if (!offered.has(urlTeam())) window.history.replaceState(window.history.state, "", urlWith(""));
  showUrlTeam();

  select.addEventListener("change", () => {
    window.history.pushState(window.history.state, "", urlWith(select.value));
    document.dispatchEvent(new CustomEvent("yam:reload"));
  });
  window.addEventListener("popstate", () => {
    showUrlTeam();
    document.dispatchEvent(new CustomEvent("yam:reload"));
  });
})();
