/* The "backfill in progress" notice (SPEC §15): after each load of closures data the page
 * dispatches `yam:view`; when the answer's `backfill` is set, some of the days shown are still
 * being filled in by a long sync, and the notice says so. */
(function () {
  "use strict";

  document.addEventListener("yam:view", (event) => {
    const notice = document.getElementById("backfill-notice");
    const data = event.detail && event.detail.data;
    if (!notice || !data) return;
    const backfill = data.backfill;
    notice.hidden = !backfill;
    if (!backfill) return;
    const pages = `${backfill.pages_done} ${backfill.pages_done === 1 ? "page" : "pages"}`;
    notice.textContent =
      `Backfill in progress for ${backfill.start} – ${backfill.end}: these counts are still ` +
      `filling in (${pages}, ${backfill.tickets.toLocaleString("en")} tickets so far).`;
  });
})();
