/* Words and numbers as the board shows them, shared by the dashboard and the other views that
 * draw closures (window.yamBoard). No DOM here. */
(function () {
  "use strict";

  // How many tied top closers are named before "and N more" (a wall screen has one line).
  const NAMED_TIES = 5;

  /** `1 ticket`, `2 tickets` (tickets/wording.py `plural`). */
  function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
  }

  /** "A", "A and B", "A, B and C"; past NAMED_TIES: "A, B, C, D, E and 3 more". */
  function joinNames(names) {
    if (names.length > NAMED_TIES) {
      return `${names.slice(0, NAMED_TIES).join(", ")} and ${names.length - NAMED_TIES} more`;
    }
    if (names.length <= 1) return names[0] || "";
    return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  }

  /**
   * The change from `before` to `now`: {text, direction} with direction "up", "down" or "same".
   * With `percent`, a share of `before` ("▲ 12 %"); when `before` is 0 a share of nothing means
   * nothing, so the count is shown instead ("▲ 12"). Without `percent`, always the count
   * ("▼ 3"). No change: "±0".
   */
  function change(now, before, { percent = false } = {}) {
    const difference = now - before;
    if (difference === 0) return { text: percent && before > 0 ? "±0 %" : "±0", direction: "same" };
    const arrow = difference > 0 ? "▲" : "▼";
    const direction = difference > 0 ? "up" : "down";
    if (percent && before > 0) {
      const share = Math.round((Math.abs(difference) / before) * 100);
      return { text: `${arrow} ${share === 0 ? "<1" : share} %`, direction };
    }
    return { text: `${arrow} ${Math.abs(difference)}`, direction };
  }

  /** `2026-11-26` or `2026-11-20 – 2026-11-26`. */
  function dates(start, end) {
    return start === end ? start : `${start} – ${end}`;
  }

  /**
   * One format for every time on the page: `2026-11-26 09:00 CET`, in `timeZone` (the server's
   * TIME_ZONE, whose calendar the counts use), the zone named. "—" for none.
   */
  function dateTime(value, timeZone) {
    if (!value) return "—";
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: timeZone || undefined,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
    });
    const part = Object.fromEntries(
      format.formatToParts(new Date(value)).map(({ type, value: text }) => [type, text]),
    );
    return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute} ${part.timeZoneName}`;
  }

  window.yamBoard = { plural, joinNames, change, dates, dateTime, NAMED_TIES };
})();
