// The provider form shows only the settings and credentials of the chosen kind. Without this
// script every kind's fieldset shows, and the server reads only the chosen kind's fields.
(function () {
  "use strict";
  function sync(form) {
    var select = form.querySelector("select[name='kind']");
    if (!select) { return; }
    var kind = select.value;
    form.querySelectorAll("fieldset[data-kind]").forEach(function (fieldset) {
      fieldset.hidden = fieldset.getAttribute("data-kind") !== kind;
    });
    form.querySelectorAll("[data-kinds]").forEach(function (row) {
      var unused = row.getAttribute("data-kinds").split(" ").indexOf(kind) === -1;
      row.hidden = unused && !row.querySelector(".errorlist");  // an error stays in sight
    });
    form.querySelectorAll(".provider-kind-note").forEach(function (note) { note.hidden = true; });
  }
  document.querySelectorAll("select[name='kind']").forEach(function (select) {
    var form = select.form;
    if (!form || !form.querySelector("fieldset[data-kind]")) { return; }
    sync(form);
    select.addEventListener("change", function () { sync(form); });
  });
})();
