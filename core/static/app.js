// Progressive enhancement only: every page works without this file.
// A link of the error summary moves the focus into its field (a fragment link only scrolls).
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest(".error-summary a[href^='#']");
  if (!link) return;
  var field = document.getElementById(link.getAttribute("href").slice(1));
  if (!field) return;
  event.preventDefault();
  field.focus();
  field.scrollIntoView({ block: "center" });
});

/* ---- preview */
// A link to a folded section (<details>) opens it; without this file the section opens by
// its own summary.
function openTargetSection() {
  var id = decodeURIComponent(location.hash.slice(1));
  var target = id && document.getElementById(id);
  if (target && target.tagName === "DETAILS") target.open = true;
}
window.addEventListener("hashchange", openTargetSection);
document.addEventListener("DOMContentLoaded", openTargetSection);

// ---- deadlines
// Region -> organization -> facility narrow each other on the server: when one changes, the
// choices after it no longer apply, so they are cleared and the list reloads with the new
// choices (without this file, "Apply" does the same).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-narrows]")) return;
  var form = select.form;
  select.getAttribute("data-narrows").split(" ").forEach(function (name) {
    var dependent = form.elements[name];
    if (dependent) dependent.value = "";
  });
  form.submit();
});

// ---- i10-imports: danger blocks. The red button stays disabled until the confirmation is
// given (the typed number equals the expected one, or the box is ticked); Enter in the typed
// confirmation presses that button, never the form's other (default) button. The server
// checks the confirmation again.
document.querySelectorAll("[data-danger]").forEach(function (block) {
  var input = block.querySelector("[data-confirm-expected]");
  var check = block.querySelector("[data-confirm-check]");
  var button = block.querySelector("[data-danger-button]");
  if (!button) return;
  function given() {
    if (input) return input.value.replace(/[\s\u00a0\u202f]/g, "") === input.dataset.confirmExpected;
    return check ? check.checked : true;
  }
  function update() { button.disabled = !given(); }
  if (input) {
    input.addEventListener("input", update);
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      if (given()) button.click();
    });
  }
  if (check) check.addEventListener("change", update);
  update();
});
