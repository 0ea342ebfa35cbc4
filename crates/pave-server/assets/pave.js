// Pave portal: small enhancements. Every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons: data-copy holds the text, or data-copy-target an element id.
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const target = button.dataset.copyTarget && document.getElementById(button.dataset.copyTarget);
      const text = button.dataset.copy ?? (target ? target.textContent : "");
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Copy failed";
      }
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }

  // Live search: the explorer's search box submits itself after a pause.
  for (const form of document.querySelectorAll("form[data-live-search]")) {
    const input = form.querySelector("input[type=search]");
    if (!input) continue;
    let timer;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => form.requestSubmit(), 400);
    });
  }
});
