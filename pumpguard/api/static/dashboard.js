// pumpguard live dashboard: plain JS + SVG, no external code. Fed by server-sent events
// (/events/stream): a "snapshot" first, then prediction / telemetry / state / transition / alarm.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const WINDOW = 600;                       // points kept per series (the server keeps the same)
  const COLORS = ["#58a6ff", "#3fb950", "#d29922", "#f778ba", "#a371f7", "#39c5cf", "#ff7b72", "#e3b341"];
  const STATE_COLORS = { NORMAL: "#2ea043", ALARM: "#f85149", ISOLATING: "#d29922", BROKEN: "#a371f7", RECOVERING: "#58a6ff" };
  const $ = (id) => document.getElementById(id);

  const live = { predictions: {}, telemetry: {}, state: null, alarms: new Map(), map: null, asset: null,
                 chosen: null, dirty: true, alarmsVersion: 0, alarmsDrawn: -1 };

  // ---------------------------------------------------------------- helpers
  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function fmt(x) {
    if (x === null || x === undefined || Number.isNaN(x)) return "—";
    const a = Math.abs(x);
    return a >= 1000 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 0.01 ? x.toFixed(3) : x.toExponential(2);
  }
  function shortTime(ts) {
    if (!ts) return "—";
    const d = new Date(ts);
    return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString().replace("T", " ").slice(0, 19) + "Z";
  }
  function push(store, key, point) {
    const s = store[key] || (store[key] = []);
    s.push(point);
    if (s.length > WINDOW) s.splice(0, s.length - WINDOW);
  }
  function sensorMeta(name) {
    if (!live.map) return null;
    return live.map.sensors.find((s) => s.id === name || s.alias === name) || null;
  }
  function controller() { return (live.state && live.state.controller) || null; }

  // ---------------------------------------------------------------- events in
  function onEvent(ev) {
    switch (ev.type) {
      case "snapshot":
        live.predictions = ev.data.predictions || {};
        live.telemetry = ev.data.telemetry || {};
        live.state = ev.data.state || null;
        live.alarms = new Map((ev.data.alarms || []).map((a) => [a.id, a]));
        live.alarmsVersion++;
        break;
      case "prediction": push(live.predictions, ev.asset, ev.data); break;
      case "telemetry": push(live.telemetry, ev.asset, ev.data); break;
      case "state": live.state = ev.data; break;
      case "transition":
        if (live.state) { (live.state.history = live.state.history || []).push(ev.data); }
        break;
      case "alarm": live.alarms.set(ev.data.id, ev.data); live.alarmsVersion++; break;
      default: return;
    }
    live.dirty = true;
  }

  function connect() {
    const source = new EventSource("/events/stream");
    source.onopen = () => { $("link").textContent = "live"; $("link").className = "link up"; };
    source.onerror = () => { $("link").textContent = "reconnecting…"; $("link").className = "link down"; };
    source.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (e) { console.error(e); } };
  }

  // ---------------------------------------------------------------- charts
  function chart(svg, series, opts) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const W = 600, H = 200, pad = 4;
    const all = series.flatMap((s) => s.points);
    if (!all.length) { el("text", { x: 12, y: 24, class: "axis-label" }, svg).textContent = "waiting for data…"; return; }
    let t0 = Infinity, t1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const [t, v] of all) { if (t < t0) t0 = t; if (t > t1) t1 = t; if (v < y0) y0 = v; if (v > y1) y1 = v; }
    if (opts.threshold !== undefined && opts.threshold !== null) { y0 = Math.min(y0, opts.threshold); y1 = Math.max(y1, opts.threshold); }
    if (opts.zero) y0 = Math.min(0, y0);
    if (y1 === y0) { y1 += 1; y0 -= opts.zero ? 0 : 1; }
    if (t1 === t0) t1 = t0 + 1;
    const margin = (y1 - y0) * 0.08; y1 += margin; if (!opts.zero) y0 -= margin;
    const X = (t) => pad + (W - 2 * pad) * (t - t0) / (t1 - t0);
    const Y = (v) => H - pad - (H - 2 * pad) * (v - y0) / (y1 - y0);
    for (let i = 1; i < 4; i++) el("line", { x1: 0, x2: W, y1: H * i / 4, y2: H * i / 4, class: "grid-line" }, svg);
    if (opts.bands) for (const [a, b] of opts.bands) el("rect", { x: X(a), y: 0, width: Math.max(2, X(b) - X(a)), height: H, class: "alarm-band" }, svg);
    if (opts.threshold !== undefined && opts.threshold !== null)
      el("polyline", { points: `0,${Y(opts.threshold)} ${W},${Y(opts.threshold)}`, class: "threshold-line" }, svg);
    for (const s of series) {
      if (!s.points.length) continue;
      const line = el("polyline", { points: s.points.map(([t, v]) => `${X(t).toFixed(1)},${Y(v).toFixed(1)}`).join(" "), class: s.cls || "" }, svg);
      if (s.color) line.setAttribute("stroke", s.color);
    }
  }

  function drawScore() {
    const assets = Object.keys(live.predictions);
    const pick = $("asset");
    if (pick.options.length !== assets.length) {
      pick.innerHTML = "";
      for (const a of assets) pick.appendChild(new Option(a, a));
    }
    if (!live.asset || !live.predictions[live.asset]) live.asset = assets[0] || null;
    if (live.asset) pick.value = live.asset;
    const series = live.asset ? live.predictions[live.asset] : [];
    const pts = [], bands = [];
    let start = null, threshold = null;
    for (const p of series) {
      const t = Date.parse(p.ts);
      if (p.score !== null && p.score !== undefined) pts.push([t, p.score]);
      if (p.threshold !== null && p.threshold !== undefined) threshold = p.threshold;
      if (p.anomaly && start === null) start = t;
      if (!p.anomaly && start !== null) { bands.push([start, t]); start = null; }
    }
    if (start !== null && pts.length) bands.push([start, pts[pts.length - 1][0]]);
    chart($("score-chart"), [{ points: pts, cls: "score-line" }], { threshold, bands, zero: true });
    const last = series[series.length - 1];
    $("score-value").textContent = last ? fmt(last.score) : "—";
    $("threshold-value").textContent = last ? fmt(last.threshold) : "—";
    $("status-value").textContent = last ? last.status : "—";
    $("status-value").className = last && last.anomaly ? "anomaly" : "";
    $("last-ts").textContent = last ? shortTime(last.ts) : "—";
  }

  function drawSensors() {
    const asset = live.asset && live.telemetry[live.asset] ? live.asset : Object.keys(live.telemetry)[0];
    const rows = asset ? live.telemetry[asset] : [];
    const names = rows.length ? Object.keys(rows[rows.length - 1].values || {}) : [];
    const select = $("sensor-select");
    const key = names.join(",") + (live.map ? "+map" : "");
    if (select.dataset.key !== key) {
      select.dataset.key = key;
      select.innerHTML = "";
      for (const n of names) {
        const meta = sensorMeta(n);
        select.appendChild(new Option(meta && meta.alias && meta.alias !== n ? `${n} · ${meta.alias}` : n, n));
      }
    }
    if (!live.userChose) {  // follow the sensors behind the current alarm until the operator picks
      const top = currentAlarm() ? currentTop().map((t) => t.sensor).filter((n) => names.includes(n)) : [];
      live.chosen = (top.length ? top : names.slice(0, 3)).slice(0, 4);
    }
    for (const o of select.options) o.selected = live.chosen.includes(o.value);
    const series = live.chosen.map((name, i) => ({
      name, color: COLORS[i % COLORS.length],
      points: rows.map((r) => [Date.parse(r.ts), r.values ? r.values[name] : null]).filter(([, v]) => v !== null && v !== undefined),
    }));
    // each sensor on its own scale (units differ): normalise to its window's range
    const scaled = series.map((s) => {
      const vs = s.points.map(([, v]) => v), lo = Math.min(...vs), hi = Math.max(...vs), span = hi - lo || 1;
      return { ...s, points: s.points.map(([t, v]) => [t, (v - lo) / span]) };
    });
    chart($("sensor-chart"), scaled, {});
    const legend = $("sensor-legend");
    legend.innerHTML = "";
    for (const s of series) {
      const li = html("li"); const sw = html("i"); sw.style.background = s.color;
      const last = s.points.length ? s.points[s.points.length - 1][1] : null;
      const meta = sensorMeta(s.name);
      li.append(sw, document.createTextNode(s.name), html("b", fmt(last) + (meta && meta.unit ? " " + meta.unit : "")));
      legend.appendChild(li);
    }
  }

  // ---------------------------------------------------------------- alarms, top sensors, history
  function openAlarms() { return [...live.alarms.values()].filter((a) => !a.closed); }
  function currentAlarm() {
    const open = openAlarms();
    return open.find((a) => a.source === "controller") || open[open.length - 1] || null;
  }
  function currentTop() {
    const alarm = currentAlarm();
    if (alarm && alarm.top_sensors && alarm.top_sensors.length) return alarm.top_sensors;
    for (const series of Object.values(live.predictions))
      for (let i = series.length - 1; i >= 0; i--) if (series[i].anomaly) return series[i].top_sensors || [];
    return [];
  }

  function drawAlarms() {
    // rebuilt only when an alarm changed, so a button is not replaced under the operator's click
    if (live.alarmsDrawn === live.alarmsVersion) return;
    live.alarmsDrawn = live.alarmsVersion;
    const body = $("alarm-list");
    body.innerHTML = "";
    const alarms = [...live.alarms.values()].reverse();
    const open = alarms.filter((a) => !a.closed).length;
    $("alarm-count").textContent = `${open} open`;
    $("alarm-count").className = open ? "count hot" : "count";
    if (!alarms.length) { const tr = html("tr", null, "empty"); const td = html("td", "no alarms"); td.colSpan = 6; tr.appendChild(td); body.appendChild(tr); return; }
    for (const a of alarms.slice(0, 50)) {
      const tr = html("tr", null, a.closed ? "closed" : a.acknowledged_by ? "acked" : "open");
      tr.dataset.alarmId = a.id;
      tr.append(html("td", a.id), html("td", shortTime(a.raised)), html("td", a.source === "detector" ? `detector · ${a.asset}` : "controller"),
                html("td", a.reason || ""), html("td", (a.suspected || []).join(", ") || "—"));
      const td = html("td");
      if (a.acknowledged_by) td.appendChild(html("span", `ack ${a.acknowledged_by}`, "ack-by"));
      else { const b = html("button", "Acknowledge", "ack"); b.type = "button"; b.onclick = () => acknowledge(a.id); td.appendChild(b); }
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  async function acknowledge(id) {
    const token = $("token").value.trim();
    const msg = $("ack-message");
    msg.className = "message";
    if (!token) { msg.textContent = "Enter the operator token (top right) to acknowledge."; $("token").focus(); return; }
    try {
      const r = await fetch(`/alarms/${encodeURIComponent(id)}/ack?by=operator`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) { msg.textContent = `Not acknowledged: ${body.detail || r.status}`; return; }
      msg.textContent = `Alarm ${id} acknowledged.`;
      msg.className = "message ok";
      live.alarms.set(body.id, body); live.alarmsVersion++; live.dirty = true;
    } catch (e) { msg.textContent = `Not acknowledged: ${e}`; }
  }

  function drawTop() {
    const list = $("top-sensors");
    list.innerHTML = "";
    const top = currentAlarm() ? currentTop() : [];
    if (!top.length) { list.appendChild(html("li", "no alarm", "empty")); return; }
    for (const t of top) {
      const li = html("li"); li.dataset.sensor = t.sensor;
      const line = html("div", null, "barline");
      const bar = html("span", null, "bar"); bar.style.width = `${Math.max(4, 160 * t.share)}px`;
      const meta = sensorMeta(t.sensor);
      line.append(html("span", t.sensor, "name"), bar, html("span", `${(100 * t.share).toFixed(0)} %`));
      li.appendChild(line);
      if (meta) li.appendChild(html("div", `${meta.alias || meta.kind} at ${meta.element}${meta.zone ? " · " + meta.zone : ""}`, "where"));
      list.appendChild(li);
    }
  }

  function drawHistory() {
    const hist = (live.state && live.state.history) || [];
    const list = $("history-list");
    list.innerHTML = "";
    if (!hist.length) list.appendChild(html("li", "no transitions yet", "empty"));
    for (const h of hist.slice(-30).reverse()) {
      const li = html("li");
      li.append(html("time", shortTime(h.ts)), html("span", h.from_state, `chip ${h.from_state}`), document.createTextNode(" → "),
                html("span", h.to_state, `chip ${h.to_state}`), document.createTextNode(" " + (h.reason || "")));
      list.appendChild(li);
    }
    const strip = $("history-strip");
    while (strip.firstChild) strip.removeChild(strip.firstChild);
    const marks = hist.map((h) => [Date.parse(h.ts), h.to_state]).filter(([t]) => !Number.isNaN(t));
    if (!marks.length) return;
    const series = live.asset && live.predictions[live.asset] ? live.predictions[live.asset] : [];
    const latest = series.length ? Date.parse(series[series.length - 1].ts) : NaN;
    const t0 = marks[0][0], t1 = Math.max(Number.isNaN(latest) ? 0 : latest, marks[marks.length - 1][0]) + 60000;
    marks.forEach(([t, s], i) => {
      const end = i + 1 < marks.length ? marks[i + 1][0] : t1;
      el("rect", { x: 600 * (t - t0) / (t1 - t0), y: 0, width: Math.max(1, 600 * (end - t) / (t1 - t0)), height: 24, fill: STATE_COLORS[s] || "#30363d" }, strip);
    });
  }

  function drawState() {
    const c = controller();
    const badge = $("controller-state");
    const s = c && c.state ? c.state : "UNKNOWN";
    badge.textContent = c ? s : "no controller";
    badge.dataset.state = s;
    badge.className = `state-badge state-${s}`;
  }

  // ---------------------------------------------------------------- network map
  function suspectedElements() {
    const c = controller();
    if (c && c.suspected && c.suspected.length) return c.suspected;
    const a = currentAlarm();
    return a && a.suspected ? a.suspected : [];
  }
  function engagedActions() {
    const c = controller();
    if (!c) return [];
    if (Array.isArray(c.engaged)) return c.engaged;
    const hist = (live.state && live.state.history) || [];
    for (let i = hist.length - 1; i >= 0; i--) if (hist[i].actions && hist[i].actions.length) return hist[i].actions;
    return [];
  }

  let mapBuilt = false, toXY = null;
  function buildMap() {
    const m = live.map, svg = $("map");
    if (!m || !m.bounds) return;
    const W = 1000, H = 600, pad = 50, b = m.bounds;
    const sx = (W - 2 * pad) / ((b.xmax - b.xmin) || 1), sy = (H - 2 * pad) / ((b.ymax - b.ymin) || 1), s = Math.min(sx, sy);
    const ox = (W - s * (b.xmax - b.xmin)) / 2, oy = (H - s * (b.ymax - b.ymin)) / 2;
    toXY = (x, y) => [ox + s * (x - b.xmin), H - oy - s * (y - b.ymin)];
    const nodes = new Map(m.nodes.map((n) => [n.id, n]));
    const gZone = el("g", { id: "map-zones" }, svg), gLinks = el("g", {}, svg), gNodes = el("g", {}, svg);
    const gSensors = el("g", { id: "map-sensors" }, svg); el("g", { id: "map-overlay" }, svg);
    // zone labels at the centre of their nodes
    for (const z of m.zones) {
      const members = m.nodes.filter((n) => n.zone === z);
      const cx = members.reduce((a, n) => a + n.x, 0) / members.length, cy = Math.max(...members.map((n) => n.y));
      const [x, y] = toXY(cx, cy);
      el("text", { x, y: y - 22, "text-anchor": "middle", class: "zone-label", "data-zone": z }, gZone).textContent = z;
    }
    for (const l of m.links) {
      const a = nodes.get(l.from), c = nodes.get(l.to);
      if (!a || !c) continue;
      const [x1, y1] = toXY(a.x, a.y), [x2, y2] = toXY(c.x, c.y);
      const cls = l.kind === "pump" ? "pipe pump-link" : "pipe" + (l.normally_closed ? " normally-closed" : "");
      el("line", { x1, y1, x2, y2, class: cls, "data-link": l.id, "data-zone": l.zone || "" }, gLinks);
      const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
      if (l.kind === "valve")
        el("rect", { x: mx - 8, y: my - 8, width: 16, height: 16, transform: `rotate(45 ${mx} ${my})`,
                     class: "valve" + (l.normally_closed ? " normally-closed" : ""), "data-valve": l.id }, gNodes);
      if (l.kind === "pump") {
        el("circle", { cx: mx, cy: my, r: 11, fill: "#f0883e", "data-pump": l.id }, gNodes);
        el("text", { x: mx, y: my + 28, "text-anchor": "middle", class: "node-label" }, gNodes).textContent = l.id;
      }
    }
    for (const n of m.nodes) {
      const [x, y] = toXY(n.x, n.y);
      if (n.kind === "tank") {
        el("rect", { x: x - 13, y: y - 18, width: 26, height: 26, rx: 3, class: "tank", "data-node": n.id, "data-zone": n.zone || "" }, gNodes);
        el("text", { x, y: y - 24, "text-anchor": "middle", class: "node-label" }, gNodes).textContent = n.id;
      } else if (n.kind === "reservoir") {
        el("rect", { x: x - 16, y: y - 12, width: 32, height: 24, class: "reservoir", "data-node": n.id, "data-zone": n.zone || "" }, gNodes);
        el("text", { x, y: y + 30, "text-anchor": "middle", class: "node-label" }, gNodes).textContent = n.id;
      } else {
        el("circle", { cx: x, cy: y, r: 5, class: "junction", "data-node": n.id, "data-zone": n.zone || "" }, gNodes);
      }
    }
    // sensors: small dots beside their element (several sensors at one place are spread around it)
    const seen = new Map();
    for (const sn of m.sensors) {
      const key = `${sn.x},${sn.y}`, k = seen.get(key) || 0; seen.set(key, k + 1);
      const [x, y] = toXY(sn.x, sn.y), ang = k * 0.9 + 0.6, r = 12 + 5 * Math.floor(k / 7);
      const dot = el("circle", { cx: x + r * Math.cos(ang), cy: y - r * Math.sin(ang), r: 4.5, class: "sensor",
                                 "data-sensor": sn.id, "data-alias": sn.alias || "" }, gSensors);
      el("title", {}, dot).textContent = `${sn.id}${sn.alias ? " · " + sn.alias : ""} — ${sn.description || sn.kind}`;
    }
    mapBuilt = true;
  }

  function heat(share) {  // 0 -> slate, 0.5 -> yellow, 1 -> red
    if (!share) return "#3a4653";
    const t = Math.min(1, share * 2);
    const mix = (a, b, u) => Math.round(a + (b - a) * u);
    return t < 0.5 ? `rgb(${mix(90, 255, t * 2)},${mix(100, 211, t * 2)},${mix(110, 61, t * 2)})`
                   : `rgb(255,${mix(211, 77, (t - 0.5) * 2)},${mix(61, 77, (t - 0.5) * 2)})`;
  }

  function drawMap() {
    if (!live.map) return;
    if (!mapBuilt) buildMap();
    if (!mapBuilt) return;
    const svg = $("map");
    const shares = new Map(currentAlarm() ? currentTop().map((t) => [t.sensor, t.share]) : []);
    for (const dot of svg.querySelectorAll("circle.sensor")) {
      const share = shares.get(dot.dataset.sensor) || shares.get(dot.dataset.alias) || 0;
      dot.style.fill = heat(share);
      dot.setAttribute("r", share ? 5 + 9 * Math.min(1, share) : 4.5);
      dot.classList.toggle("contributing", share > 0);
    }
    const suspected = suspectedElements();
    const nodes = new Map(live.map.nodes.map((n) => [n.id, n]));
    const links = new Map(live.map.links.map((l) => [l.id, l]));
    const zones = new Set();
    for (const e of suspected) {
      const n = nodes.get(e), l = links.get(e);
      if (n && n.zone) zones.add(n.zone);
      if (l && l.zone) zones.add(l.zone);
    }
    for (const node of svg.querySelectorAll("[data-node], [data-link]")) {
      const id = node.dataset.node || node.dataset.link;
      node.classList.toggle("suspected", suspected.includes(id));
      node.classList.toggle("in-suspect-zone", zones.has(node.dataset.zone));
    }
    for (const z of svg.querySelectorAll(".zone-label")) z.classList.toggle("suspected", zones.has(z.dataset.zone));
    const overlay = svg.querySelector("#map-overlay");
    while (overlay.firstChild) overlay.removeChild(overlay.firstChild);
    for (const e of suspected) {
      const n = nodes.get(e), l = links.get(e);
      let xy = null;
      if (n) xy = toXY(n.x, n.y);
      else if (l && nodes.get(l.from) && nodes.get(l.to)) {
        const a = nodes.get(l.from), c = nodes.get(l.to); xy = toXY((a.x + c.x) / 2, (a.y + c.y) / 2);
      }
      if (xy) el("circle", { cx: xy[0], cy: xy[1], r: 20, class: "suspect-ring", "data-suspected": e }, overlay);
    }
    // the controller's actions: closed valves red, reopened normally-closed links (alternate route) green
    const actions = engagedActions();
    const closed = new Set(actions.filter((a) => a.kind === "close_valve").map((a) => a.element));
    const opened = new Set(actions.filter((a) => a.kind === "open_valve").map((a) => a.element));
    for (const v of svg.querySelectorAll("[data-valve]")) {
      v.classList.toggle("closed", closed.has(v.dataset.valve));
      v.classList.toggle("opened", opened.has(v.dataset.valve));
    }
    for (const line of svg.querySelectorAll("line[data-link]")) line.classList.toggle("alt-route", opened.has(line.dataset.link));
    const note = [];
    if (suspected.length) note.push(`suspected: ${suspected.join(", ")}${zones.size ? " (" + [...zones].join(", ") + ")" : ""}`);
    if (closed.size) note.push(`closed: ${[...closed].join(", ")}`);
    if (opened.size) note.push(`alternate route: ${[...opened].join(", ")}`);
    $("map-note").textContent = note.join(" · ");
    $("map-note").dataset.zones = [...zones].join(",");
  }

  // ---------------------------------------------------------------- wiring
  function render() {
    if (live.dirty) {
      live.dirty = false;
      try { drawState(); drawScore(); drawSensors(); drawAlarms(); drawTop(); drawHistory(); drawMap(); }
      catch (e) { console.error(e); }
    }
    requestAnimationFrame(render);
  }

  function setWall(on) {
    document.body.classList.toggle("wall", on);
    $("wall").setAttribute("aria-pressed", String(on));
    try { localStorage.setItem("pumpguard.wall", on ? "1" : "0"); } catch (e) { /* private mode */ }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const params = new URLSearchParams(location.search);
    let wall = params.get("wall") === "1";
    try { wall = wall || localStorage.getItem("pumpguard.wall") === "1"; } catch (e) { /* ignore */ }
    setWall(wall);
    $("wall").onclick = () => setWall(!document.body.classList.contains("wall"));
    try { $("token").value = sessionStorage.getItem("pumpguard.token") || ""; } catch (e) { /* ignore */ }
    $("token").addEventListener("change", () => { try { sessionStorage.setItem("pumpguard.token", $("token").value); } catch (e) { /* ignore */ } });
    $("asset").onchange = (e) => { live.asset = e.target.value; live.userChose = false; live.dirty = true; };
    $("sensor-select").onchange = (e) => {
      live.chosen = [...e.target.selectedOptions].map((o) => o.value).slice(0, 8);
      live.userChose = live.chosen.length > 0; live.dirty = true;
    };
    fetch("/network").then((r) => r.ok ? r.json() : null).then((m) => { live.map = m; live.dirty = true; }).catch(() => {});
    connect();
    requestAnimationFrame(render);
  });
})();
