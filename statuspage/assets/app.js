// lbkit status page: polls status.json every second and redraws in place.
// No dependencies, nothing loaded from the network, so it works offline.
"use strict";

const HISTORY_MS = 5 * 60 * 1000;
const COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#bab0ac", "#ff9da6"];
const history = {};   // balancer name -> [{t, share: {addr: x}, latency: {addr: ms}}]
const lastCounts = {}; // balancer name -> {addr: requests}
const colorOf = {};   // address -> color
let updates = 0;

function color(addr) {
  if (!(addr in colorOf)) colorOf[addr] = COLORS[Object.keys(colorOf).length % COLORS.length];
  return colorOf[addr];
}

function el(tag, attrs, ...children) {
  const svg = ["svg", "polyline", "line", "text", "g", "rect"].includes(tag);
  const e = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.appendChild(c);
  return e;
}

function fmt(x, digits) { return Number(x).toFixed(digits); }

// record turns cumulative request counts into the traffic share of the last
// interval, so the chart shows what the balancer does now, not since start.
function record(b, now) {
  const prev = lastCounts[b.name] || {};
  const cur = {};
  let total = 0;
  const delta = {};
  for (const h of b.hosts) {
    cur[h.address] = h.requests;
    const d = Math.max(0, h.requests - (prev[h.address] || 0));
    delta[h.address] = d;
    total += d;
  }
  lastCounts[b.name] = cur;
  const share = {}, latency = {};
  for (const h of b.hosts) {
    share[h.address] = total > 0 ? delta[h.address] / total : 0;
    latency[h.address] = h.latencyMs;
  }
  const hist = history[b.name] || (history[b.name] = []);
  hist.push({ t: now, share, latency });
  while (hist.length && hist[0].t < now - HISTORY_MS) hist.shift();
}

function chart(id, title, hist, key, maxOf, unit) {
  const W = 460, H = 180, L = 44, R = 10, T = 22, B = 22;
  const addrs = [...new Set(hist.flatMap(s => Object.keys(s[key])))];
  let max = maxOf(hist, addrs);
  if (!(max > 0)) max = 1;
  const t0 = hist.length ? hist[0].t : 0, t1 = hist.length ? hist[hist.length - 1].t : 1;
  const x = t => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - L - R);
  const y = v => T + (1 - v / max) * (H - T - B);
  const svg = el("svg", { class: "chart", id, width: W, height: H, viewBox: `0 0 ${W} ${H}` },
    el("text", { x: L, y: 14, text: title }),
    el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }),
    el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }),
    el("text", { x: 2, y: T + 4, text: fmt(max, unit === "%" ? 0 : 1) + unit }),
    el("text", { x: 2, y: H - B, text: "0" + unit }),
    el("text", { x: W - R - 60, y: H - 6, text: hist.length ? `${Math.round((t1 - t0) / 1000)} s` : "" }));
  for (const a of addrs) {
    const pts = hist.filter(s => a in s[key]).map(s => `${fmt(x(s.t), 1)},${fmt(y(s[key][a] * (unit === "%" ? 100 : 1)), 1)}`);
    svg.appendChild(el("polyline", { class: "series", "data-address": a, stroke: color(a), points: pts.join(" ") }));
  }
  return svg;
}

function render(snap) {
  document.getElementById("title").textContent = snap.title;
  document.title = snap.title;
  const main = document.getElementById("main");
  const now = Date.parse(snap.time);
  const frag = document.createDocumentFragment();
  for (const b of snap.balancers) {
    record(b, now);
    const sec = el("section", { class: "balancer", "data-name": b.name });
    sec.appendChild(el("h2", { text: `${b.name} · ${b.strategy} · ${b.hosts.length} hosts` }));
    if (b.discoveryErr) sec.appendChild(el("p", { class: "error", text: "discovery: " + b.discoveryErr }));
    if (b.invalidInstances) sec.appendChild(el("p", { class: "error", text: "left out: " + b.invalidInstances }));
    for (const f of b.factoryFailures || []) {
      sec.appendChild(el("p", { class: "error", text: `no endpoint for ${f.address}: ${f.err}` }));
    }
    if (b.factoryErrors) sec.appendChild(el("p", { class: "muted", text: `${b.factoryErrors} failed factory calls` }));
    const head = el("tr", {}, ...["host", "weight", "in flight", "score", "latency", "requests", "failures", "share"].map(h => el("th", { text: h })));
    const table = el("table", {}, el("thead", {}, head));
    const body = el("tbody");
    for (const h of b.hosts) {
      const share = el("td", { text: fmt(h.share * 100, 1) + "%" }, el("span", { class: "bar", style: `width:${fmt(h.share * 80, 1)}px` }));
      body.appendChild(el("tr", { class: "host", "data-address": h.address },
        el("td", {}, el("span", { class: "swatch", style: `background:${color(h.address)}` }), document.createTextNode(h.address)),
        el("td", { text: h.weight }), el("td", { text: h.inFlight }), el("td", { text: fmt(h.score, 3) }),
        el("td", { text: fmt(h.latencyMs, 2) + " ms" }), el("td", { text: h.requests }), el("td", { text: h.failures }), share));
    }
    table.appendChild(body);
    sec.appendChild(table);
    const hist = history[b.name];
    sec.appendChild(el("div", { class: "charts" },
      chart(`share-${b.name}`, "traffic share per host", hist, "share", () => 100, "%"),
      chart(`latency-${b.name}`, "mean latency per host (ms)", hist, "latency",
        (hs, as) => Math.max(0, ...hs.flatMap(s => as.map(a => s.latency[a] || 0))) * 1.1, "")));
    frag.appendChild(sec);
  }
  for (const p of snap.pools) {
    const sec = el("section", { class: "pool", "data-name": p.name });
    sec.appendChild(el("h2", { text: `pool ${p.name}` }));
    const cols = [...new Set(p.rows.flatMap(r => Object.keys(r.counts)))];
    const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "host" }), ...cols.map(c => el("th", { text: c })))));
    const body = el("tbody");
    for (const r of p.rows) body.appendChild(el("tr", { class: "pool-row" }, el("td", { text: r.name }), ...cols.map(c => el("td", { text: r.counts[c] ?? "" }))));
    table.appendChild(body);
    sec.appendChild(table);
    frag.appendChild(sec);
  }
  main.replaceChildren(frag);
  renderControls(snap.controls);
  updates++;
  document.body.dataset.updates = String(updates);
  document.getElementById("state").textContent = `updated ${new Date(now).toLocaleTimeString()}`;
}

function renderControls(controls) {
  const box = document.getElementById("controls");
  box.hidden = controls.length === 0;
  const list = document.getElementById("control-list");
  for (const c of controls) {
    let input = list.querySelector(`input[data-name="${CSS.escape(c.name)}"]`);
    if (!input) {
      input = el("input", { type: "number", min: c.min, max: c.max, "data-name": c.name });
      const button = el("button", { text: "set" });
      button.onclick = () => setControl(c.name, Number(input.value));
      list.appendChild(el("label", { text: c.name + " " }, input, button));
    }
    if (document.activeElement !== input) input.value = c.value;
  }
}

async function setControl(name, value) {
  const r = await fetch("control", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name, value }) });
  if (!r.ok) alert(await r.text());
}

async function poll() {
  try {
    const r = await fetch("status.json", { cache: "no-store" });
    if (!r.ok) throw new Error(r.status + " " + r.statusText);
    render(await r.json());
  } catch (e) {
    const s = document.getElementById("state");
    s.textContent = "disconnected: " + e.message;
    s.className = "error";
  }
}

poll();
setInterval(poll, 1000);
