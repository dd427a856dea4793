// The status page's component groups open as disclosures (<details>); a group that was
// rendered without its uptime bars fetches them from its data-bars URL when first opened,
// by mouse, touch or keyboard alike. Without this script the groups still open and show
// each service's name and status.
(function () {
  "use strict";

  function load(group) {
    var url = group.getAttribute("data-bars");
    if (!url || group.getAttribute("aria-busy") === "true") {
      return;
    }
    group.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var list = group.querySelector(":scope > .component-list");
        var template = document.createElement("template");
        template.innerHTML = html;  // our own server's escaped fragment
        var fresh = template.content.querySelector(".component-list");
        if (list && fresh) {
          list.replaceWith(fresh);
        }
        group.removeAttribute("data-bars");
      })
      .catch(function () {
        var note = group.querySelector(":scope > .group-note");
        if (!note) {
          note = document.createElement("p");
          note.className = "group-note";
          note.setAttribute("role", "status");
          group.appendChild(note);
        }
        note.textContent = "Uptime history is unavailable right now; try again later.";
      })
      .finally(function () {
        group.removeAttribute("aria-busy");
      });
  }

  function watch(root) {
    root.querySelectorAll("details.group-details[data-bars]").forEach(function (group) {
      group.addEventListener("toggle", function () {
        if (group.open) {
          load(group);
        }
      });
      if (group.open) {
        load(group);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { watch(document); });
  } else {
    watch(document);
  }
})();
