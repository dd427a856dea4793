// The admin's check form: show only the settings of the chosen kind, and add header rows.
// Without this script every kind's settings are shown and only the chosen kind's are used.
(function () {
  "use strict";

  function container(select) {
    return select.closest(".inline-related") || select.closest("form");
  }

  function showKind(select) {
    const box = container(select);
    if (!box) return;
    box.querySelectorAll("fieldset.check-kind").forEach(function (fieldset) {
      fieldset.hidden = !fieldset.classList.contains("check-kind-" + select.value);
    });
  }

  function addHeaderRow(button) {
    const rows = button.closest(".header-rows");
    const last = rows.querySelectorAll(".header-row");
    const template = last[last.length - 1];
    const row = template.cloneNode(true);
    const next = last.length;
    row.querySelectorAll("input").forEach(function (input) {
      input.name = input.name.replace(/_(name|value)_\d+$/, "_$1_" + next);
      input.value = "";
    });
    rows.insertBefore(row, button);
    row.querySelector("input").focus();
  }

  function setUp(root) {
    root.querySelectorAll("select[name$='kind']").forEach(function (select) {
      if (select.closest(".empty-form") || select.dataset.checkForm) return;
      select.dataset.checkForm = "on";
      select.addEventListener("change", function () { showKind(select); });
      showKind(select);
    });
    root.querySelectorAll(".header-rows .header-add").forEach(function (button) {
      if (button.closest(".empty-form") || button.dataset.checkForm) return;
      button.dataset.checkForm = "on";
      button.hidden = false;
      button.addEventListener("click", function () { addHeaderRow(button); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  // A check added with "Add another" on the service page.
  document.addEventListener("formset:added", function (event) { setUp(event.target); });
})();
