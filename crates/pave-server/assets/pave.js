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

// ==== Create: the task page follows its task live ====
// The page is drawn by the server (and reloads itself every 2 s without
// JavaScript); here, server-sent events append log lines and update the
// statuses as they happen, and the page reloads once the task has finished
// so the server draws the outcome.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector("[data-task-events]");
  if (!root || !("EventSource" in window)) return;
  const url = new URL(root.dataset.taskEvents, window.location.href);
  if (root.dataset.after) url.searchParams.set("after", root.dataset.after);
  const source = new EventSource(url);
  const taskStatus = document.getElementById("task-status");
  const setStatus = (element, status) => {
    if (!element) return;
    element.textContent = status;
    element.className = "status status-" + status;
    element.dataset.status = status;
  };
  const append = (list, message) => {
    if (!list || !message) return;
    const line = document.createElement("li");
    line.textContent = message;
    list.appendChild(line);
    list.scrollTop = list.scrollHeight;
  };
  const read = (event) => {
    try { return JSON.parse(event.data); } catch { return null; }
  };
  source.addEventListener("log", (event) => {
    const data = read(event);
    if (!data || !data.body) return;
    if (taskStatus && taskStatus.dataset.status === "open") setStatus(taskStatus, "processing");
    const body = data.body;
    const step = body.stepId
      ? Array.from(document.querySelectorAll("[data-step]")).find((item) => item.dataset.step === body.stepId)
      : null;
    if (!step) {
      append(document.getElementById("task-log"), body.message);
      return;
    }
    append(step.querySelector(".step-log"), body.message);
    if (body.status) {
      step.dataset.status = body.status;
      setStatus(step.querySelector("summary .status"), body.status);
      const details = step.querySelector("details");
      if (details && (body.status === "processing" || body.status === "failed")) details.open = true;
    }
  });
  for (const type of ["cancelled", "recovered"]) {
    source.addEventListener(type, (event) => {
      const data = read(event);
      if (data && data.body) append(document.getElementById("task-log"), data.body.message);
    });
  }
  source.addEventListener("completion", () => {
    source.close();
    window.location.reload();
  });
  source.addEventListener("error", () => {
    // The stream ended (the task finished) or broke: show the page afresh.
    if (source.readyState === EventSource.CLOSED) setTimeout(() => window.location.reload(), 2000);
  });
});
// ==== end of Create ====

// ==== Environments: forms that run a deployment ====
// Deploy, Roll back, Promote and Delete wait for the engine (seconds, up to a
// minute): the pressed button says so and cannot be pressed twice. Without
// JavaScript the forms work the same, only without the message.
document.addEventListener("DOMContentLoaded", () => {
  const busy = {
    "deploy-form": "Deploying…",
    "rollback-form": "Rolling back…",
    "promote-form": "Promoting…",
    "delete-form": "Deleting…",
  };
  for (const [name, label] of Object.entries(busy)) {
    for (const form of document.querySelectorAll("form." + name)) {
      form.addEventListener("submit", () => {
        const button = form.querySelector("button[type=submit]");
        if (!button) return;
        // Disabled after the form data is taken, so nothing it sends is lost.
        setTimeout(() => {
          button.disabled = true;
          button.textContent = label;
        }, 0);
      });
    }
  }
});
// ==== end of Environments ====
