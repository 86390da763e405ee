// The refund dialog's clock work, done in the browser so that the server does none for
// an open dialog (and none at all once its tab is gone). Loaded by the dialog from
// 'self' (no inline script, no eval). Once a second:
//
// - an element with data-countdown-seconds and data-countdown-runs="true" shows
//   "Refund window remaining Xh Ym", counted down from the seconds the server had left
//   on the app's clock (not the browser's: the app clock may be frozen or offset) when
//   it read the preview. A new data-countdown-seconds / -stamp starts a new count. With
//   a frozen app clock (data-countdown-runs="false") the server's text stays as it is.
//   Same wording as domain/policy.window_remaining_text: whole hours then minutes,
//   rounded down. The server re-checks the window at Submit.
// - an element with data-poll-every-ms is clicked at that pace while the page is
//   visible: the dialog renders one while a refund is Refunding, to ask for its status.
(function () {
  "use strict";
  if (window.zenmuxDialogClock) {
    return;
  }
  window.zenmuxDialogClock = true;

  var counts = new WeakMap();
  var polls = new WeakMap();

  // data-countdown-template: the sentence in the page's language, "{hours}" and
  // "{minutes}" filled in (English when the page gives none)
  function windowText(seconds, template) {
    var minutes = Math.floor(Math.max(seconds, 0) / 60);
    return (template || "Refund window remaining {hours}h {minutes}m")
      .replace("{hours}", String(Math.floor(minutes / 60)))
      .replace("{minutes}", String(minutes % 60));
  }

  function countDown(el, now) {
    if (el.getAttribute("data-countdown-runs") !== "true") {
      return;
    }
    var seconds = Number(el.getAttribute("data-countdown-seconds"));
    if (!Number.isFinite(seconds)) {
      return;
    }
    var key = seconds + "/" + el.getAttribute("data-countdown-stamp");
    var count = counts.get(el);
    if (!count || count.key !== key) {
      count = { key: key, seconds: seconds, since: now };
      counts.set(el, count);
    }
    var text = windowText(count.seconds - (now - count.since) / 1000,
                          el.getAttribute("data-countdown-template"));
    if (el.textContent !== text) {
      el.textContent = text;
    }
  }

  function poll(el, now) {
    var every = Number(el.getAttribute("data-poll-every-ms")) || 2000;
    var last = polls.get(el);
    if (last === undefined) {
      polls.set(el, now); // the status was read when the element appeared
      return;
    }
    if (now - last >= every && document.visibilityState !== "hidden") {
      polls.set(el, now);
      el.click();
    }
  }

  function tick() {
    var now = performance.now();
    document.querySelectorAll("[data-countdown-seconds]").forEach(function (el) {
      countDown(el, now);
    });
    document.querySelectorAll("[data-poll-every-ms]").forEach(function (el) {
      poll(el, now);
    });
  }

  window.setInterval(tick, 500);
})();
