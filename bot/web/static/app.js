// Tuan dashboard: live counts over server-sent events, and the time left to each cutoff. No framework.
"use strict";

function setText(root, selector, value) {
  const el = root.querySelector(selector);
  if (el && el.textContent !== String(value)) { el.textContent = value; el.classList.add("changed"); }
}

function applyCounts(root, s) {
  setText(root, '[data-field="households"]', s.households);
  setText(root, '[data-field="amount"]', s.amount);
  for (const i of s.items || []) {
    setText(root, '[data-item="' + i.code + '"]', i.qty);
    if (i.left !== null && i.left !== undefined) setText(root, '[data-left="' + i.code + '"]', i.left);
  }
}

function left(ms) {
  if (ms <= 0) return "已到截单时间";
  const m = Math.floor(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
  return "距截单 " + (d ? d + "天" : "") + (d || h ? h + "小时" : "") + (m % 60) + "分";
}

function tick() {
  for (const el of document.querySelectorAll("[data-cutoff]")) {
    if (el.dataset.cutoff) el.textContent = left(Date.parse(el.dataset.cutoff) - Date.now());
  }
}

async function refresh(box, url) {
  const target = document.getElementById("households");
  if (!target || !url) return;
  const r = await fetch(url, {credentials: "same-origin"});
  if (r.ok) target.innerHTML = await r.text();
}

function live(box) {
  const source = new EventSource(box.dataset.live);
  let first = true;
  source.addEventListener("counts", (ev) => {
    const data = JSON.parse(ev.data);
    if (Array.isArray(data)) {  // today: one card per group
      for (const c of data) {
        const card = document.querySelector('[data-chat="' + CSS.escape(c.chat_key) + '"]');
        if (card && c.deal) applyCounts(card, c.deal);
      }
    } else {
      applyCounts(box, data);
      if (!first) refresh(box, box.dataset.refresh);
    }
    first = false;
    document.body.dataset.live = "on";
  });
  source.addEventListener("gone", () => {  // signed out, or no longer allowed to see this page
    source.close();
    document.body.dataset.live = "off";
    location.reload();
  });
  source.onerror = () => { document.body.dataset.live = "retrying"; };
}

document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("[data-live]")) live(box);
  tick();
  setInterval(tick, 30000);
});
