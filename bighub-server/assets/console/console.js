// The approvals console's live list: on each approval event, fetch the list as the
// server renders it (escaped there) and put it in place. No text is written as HTML here.
(function () {
  "use strict";
  var list = document.getElementById("pending-list");
  if (!list || !window.EventSource) {
    return;
  }
  var busy = false;
  var again = false;

  function showCount(section) {
    var n = section.getAttribute("data-count") || "0";
    document.title = (n === "0" ? "" : "(" + n + ") ") + "Pending approvals · BIGHUB approvals";
  }

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch("/console/approvals/fragment", {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then(function (response) {
        if (response.status === 401) {
          window.location.assign("/console/login");
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        var parsed = new DOMParser().parseFromString(html, "text/html");
        var fresh = parsed.getElementById("pending-list");
        var current = document.getElementById("pending-list");
        // Replaced only when it changed, so that nothing under the reader's eyes (or
        // focus) moves for nothing.
        if (fresh && current && fresh.outerHTML !== current.outerHTML) {
          current.replaceWith(document.adoptNode(fresh));
          showCount(fresh);
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  var source = new EventSource("/console/events");
  ["approval.requested", "approval.answered", "approval.expired", "resync"].forEach(
    function (name) {
      source.addEventListener(name, refresh);
    }
  );
  // After a lost connection the browser reconnects; events missed meanwhile are caught
  // up by reading the list again.
  source.addEventListener("open", refresh);
  showCount(list);
})();
