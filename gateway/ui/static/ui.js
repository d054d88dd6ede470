// Progressive enhancement for the web UI (the pages work without it): a "Copy" button beside
// every read-only field worth copying (digests, pull commands, a new token's secret). Loaded as
// a file of this origin: the pages' Content-Security-Policy allows no inline script.
"use strict";

function addCopyButton(field) {
  const row = document.createElement("div");
  row.className = "copy-row";
  field.replaceWith(row);
  row.appendChild(field);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy-button";
  button.textContent = "Copy";
  const label = field.labels && field.labels.length ? field.labels[0].textContent.trim() : "the value";
  button.setAttribute("aria-label", "Copy " + label);
  const status = document.createElement("span");
  status.className = "copy-status visually-hidden";
  status.setAttribute("role", "status");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = "Copied";
      button.textContent = "Copied";
    } catch (error) {
      field.select();
      status.textContent = "Selected: press Ctrl+C to copy";
    }
    window.setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
  row.append(button, status);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input.copy-field").forEach(addCopyButton);
});
