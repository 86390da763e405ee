// Keyboard and screen-reader help that Radix cannot give a dialog opened by the server
// (the app opens the refund dialog from state, not from a Dialog.Trigger). Loaded from
// 'self' on every page: no inline script, no eval.
//
// - The button that opened a dialog (a Refund button, a refund tag) gets the focus back
//   when the dialog closes, even when the rows were re-rendered meanwhile (a refund
//   disables its button: disabled Refund buttons stay focusable, aria-disabled).
// - The skip link puts the focus on the page's main content.
// - <html lang> follows the page's language ([data-lang]).
// - When a dialog's step changes, the focus moves to the new step's heading
//   ([data-step-heading], tabindex -1), so a keyboard or screen-reader user starts there.
(function () {
  "use strict";
  if (window.zenmuxA11y) {
    return;
  }
  window.zenmuxA11y = true;

  var opener = null; // id of the element that last opened a dialog
  var openDialog = null;
  var lastStep = null;

  // The skip link moves the focus itself: a fragment link in this single-page app only
  // scrolls, it would leave the focus (and the next Tab) where it was.
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest && event.target.closest(".skip-link");
    var target = link && document.getElementById(link.hash.slice(1));
    if (target) {
      event.preventDefault();
      target.focus();
    }
  }, true);

  function remember(event) {
    var el = event.target && event.target.closest && event.target.closest("[data-opens-dialog]");
    if (el && el.id) {
      opener = el.id;
    }
  }
  document.addEventListener("click", remember, true);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") {
      remember(event);
    }
  }, true);

  function restore() {
    var id = opener;
    // after Radix's own focus restore (a timeout of its own) has run
    setTimeout(function () {
      var active = document.activeElement;
      if (id && (!active || active === document.body || !active.isConnected)) {
        var el = document.getElementById(id);
        if (el) {
          el.focus();
        }
      }
    }, 60);
  }

  // <html lang> follows the page's language (the header's data-lang)
  function syncLang() {
    var el = document.querySelector("[data-lang]");
    var lang = el && el.getAttribute("data-lang");
    if (lang && document.documentElement.lang !== lang) {
      document.documentElement.lang = lang;
    }
  }

  function check() {
    syncLang();
    var dialog = document.querySelector("[role=dialog]");
    if (!dialog) {
      if (openDialog) {
        openDialog = null;
        lastStep = null;
        restore();
      }
      return;
    }
    openDialog = dialog;
    var heading = dialog.querySelector("[data-step-heading]");
    var step = heading ? heading.getAttribute("data-step-heading") : null;
    if (heading && step !== lastStep) {
      lastStep = step;
      if (!heading.hasAttribute("tabindex")) {
        heading.setAttribute("tabindex", "-1");
      }
      // after Radix has put the focus in the dialog (on the first step)
      setTimeout(function () {
        if (heading.isConnected) {
          heading.focus();
        }
      }, 30);
    }
  }
  new MutationObserver(check).observe(document.documentElement, { childList: true, subtree: true,
    attributes: true, attributeFilter: ["data-step-heading", "data-lang"] });
  syncLang();
})();
