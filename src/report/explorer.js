// The causal explorer: draws the run embedded in #explorer-data (its fields
// are described in src/report/explorer.rs) and marks, on a click, the
// clicked event's causal past, its future and what is concurrent with it,
// by comparing the vector clocks the Rust side computed.
//
// Two layers: a canvas draws everything (tens of thousands of marks and
// arrows repaint in milliseconds), and above it an SVG layer holds one
// transparent ellipse per tick event, which takes the clicks and carries
// the contract for tests: every tick event's element has data-vm and
// data-tick; after a click the clicked element has the class `selected`
// and every other event element exactly one of `past`, `future`,
// `concurrent`. No style rule names those classes, so setting them costs
// the browser no restyle. A shift-click marks from the shift-clicked event
// and rings the one selected before it (class `pinned`): "does a happen
// before b?".
(function () {
  "use strict";
  const began = performance.now();
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const F = {};
  data.fields.forEach((f, k) => { F[f] = k; });
  const vms = data.vms, n = vms.length, ev = data.events, N = ev.length;
  const vmIndex = new Map(vms.map((id, i) => [id, i]));

  // Columns, for speed: lane (VM index), vector clocks (N x n), own entry.
  const lane = new Uint16Array(N), own = new Uint32Array(N), kind = new Uint8Array(N);
  const vc = new Uint32Array(N * n), wallMs = new Float64Array(N), lam = new Float64Array(N);
  const sendOf = new Int32Array(N).fill(-1);
  const receivers = new Map();
  const KINDS = "isr", KIND = { i: "internal", s: "send", r: "receive" };
  for (let e = 0; e < N; e++) {
    const row = ev[e], i = vmIndex.get(row[F.vm]);
    lane[e] = i;
    kind[e] = KINDS.indexOf(row[F.kind]);
    const c = row[F.vc];
    for (let j = 0; j < n; j++) vc[e * n + j] = c[j];
    own[e] = c[i];
    wallMs[e] = row[F.wall] / 1000;
    lam[e] = row[F.lamport];
    const m = row[F.msg];
    if (m && m[2] >= 0) {
      sendOf[e] = m[2];
      if (!receivers.has(m[2])) receivers.set(m[2], []);
      receivers.get(m[2]).push(e);
    }
  }
  // The labels an event can show; a field the data lacks is not offered.
  const LABELS = [["lamport", "Lamport clock"], ["vc", "vector clock"], ["hlc", "hybrid logical clock"]]
    .filter(([f]) => f in F);

  const SVGNS = "http://www.w3.org/2000/svg";
  const LEFT = 70, RIGHT = 20, TOP = 34, BOTTOM = 12;
  // Marks: none (nothing selected), past, future, concurrent, selected.
  const NONE = 0, PAST = 1, FUTURE = 2, CONC = 3, SEL = 4;
  const MARK_CLASS = ["", "past", "future", "concurrent", "selected"];
  const KIND_FILL = ["#bdbdbd", "#4a86c8", "#55a874"];
  const MARK_FILL = [null, "#2f5fd0", "#d9622b", "#c4c4c4", "#000000"];
  const state = {
    axis: "wall", order: vms.map((_, i) => i), hidden: new Set(),
    label: LABELS.length ? LABELS[0][0] : null,
    scale: 1, u0: 0, fitScale: 1, sel: -1, pinned: -1, fitted: false,
  };
  const markOf = new Uint8Array(N);
  const view = document.getElementById("view");
  const panel = document.getElementById("panel");
  let canvas, ctx, svg, plot, els = new Array(N).fill(null), cls = new Array(N).fill("");
  const laneY = new Float64Array(n);
  let laneH = 20, width = 800, height = 200;
  const timing = { loadMs: null, clicks: [] };

  const xOf = (e) => (state.axis === "wall" ? wallMs[e] : lam[e]);
  const toU = (px) => state.u0 + (px - LEFT) / state.scale;
  const toPx = (u) => LEFT + (u - state.u0) * state.scale;
  const shownLane = (i) => !Number.isNaN(laneY[i]);

  function extent() {
    let lo = Infinity, hi = -Infinity;
    for (let e = 0; e < N; e++) {
      if (state.hidden.has(lane[e])) continue;
      const x = xOf(e);
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    return lo <= hi ? [lo, hi] : [0, 1];
  }

  // The smallest gap between two events of one lane, in axis units: a mark
  // is at most half of it wide, so each one's centre is its own.
  const minGap = {};
  function gapOf(axis) {
    if (minGap[axis] === undefined) {
      let g = Infinity;
      for (let e = 1; e < N; e++) {
        if (lane[e] !== lane[e - 1]) continue;
        const d = axis === "wall" ? wallMs[e] - wallMs[e - 1] : lam[e] - lam[e - 1];
        if (d > 0 && d < g) g = d;
      }
      minGap[axis] = Number.isFinite(g) ? g : 1;
    }
    return minGap[axis];
  }
  // Marks on the canvas may touch (the click layer's ellipses do not).
  const radius = () => Math.max(1.7, Math.min(5, 0.45 * gapOf(state.axis) * state.scale));

  // Lays out the shown lanes and rebuilds the click layer; then draws.
  function render() {
    const shown = state.order.filter((i) => !state.hidden.has(i));
    laneH = Math.max(12, Math.min(48, Math.floor(640 / Math.max(1, shown.length))));
    laneY.fill(NaN);
    shown.forEach((i, k) => { laneY[i] = TOP + laneH * (k + 0.5); });
    width = Math.max(400, view.clientWidth);
    height = TOP + laneH * shown.length + BOTTOM;
    if (!state.fitted) { fitScale(); state.fitted = true; }
    // Each ellipse is 0.9 of the smallest gap wide in axis units, so it
    // grows with the zoom and no two overlap: a click at an element's
    // centre (what test drivers do) lands on that element.
    const rx = 0.45 * gapOf(state.axis);
    const ry = Math.min(5, laneH / 2 - 1);
    const parts = [`<canvas></canvas><svg xmlns="${SVGNS}" class="hits" width="${width}" height="${height}">`];
    parts.push(`<defs><clipPath id="clip"><rect x="${LEFT - 6}" y="0" width="${width - LEFT - RIGHT + 12}" height="${height}"/></clipPath></defs><g clip-path="url(#clip)"><g id="plot">`);
    for (let e = 0; e < N; e++) {
      if (!shownLane(lane[e])) continue;
      const row = ev[e];
      parts.push(`<ellipse class="ev ${row[F.kind]}" data-vm="${row[F.vm]}" data-tick="${row[F.tick]}" data-i="${e}" cx="${xOf(e)}" cy="${laneY[lane[e]]}" rx="${rx}" ry="${ry}"/>`);
    }
    parts.push(`</g></g></svg>`);
    view.innerHTML = parts.join("");
    canvas = view.firstChild;
    svg = canvas.nextSibling;
    plot = svg.querySelector("#plot");
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    els.fill(null);
    cls.fill("");
    for (const el of plot.children) els[+el.dataset.i] = el;
    if (state.sel >= 0 && els[state.sel]) mark(); else { state.sel = state.pinned = -1; markOf.fill(NONE); panelIdle(); }
    place();
  }

  function fitScale() {
    const [lo, hi] = extent();
    const span = Math.max(hi - lo, 1e-9);
    state.scale = state.fitScale = (width - LEFT - RIGHT - 20) / span;
    state.u0 = lo - 10 / state.scale;
  }

  function fit() {
    fitScale();
    place();
  }

  // Applies the zoom and pan to the click layer and draws the canvas.
  function place() {
    plot.setAttribute("transform", `translate(${LEFT - state.u0 * state.scale},0) scale(${state.scale},1)`);
    draw();
  }
  let pending = false;
  function placeSoon() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; place(); });
  }

  // The canvas: a background (axis, lanes, every message) kept between
  // clicks, as it changes only with the view; then the selected event's
  // messages, the events and the labels.
  const bg = { canvas: document.createElement("canvas"), key: "" };
  function draw() {
    const faded = state.sel >= 0;
    const key = `${width}x${height} ${state.axis} ${state.scale} ${state.u0} ${laneY.join(",")} ${faded}`;
    const dpr = window.devicePixelRatio || 1;
    if (bg.key !== key) {
      bg.canvas.width = canvas.width;
      bg.canvas.height = canvas.height;
      const main = ctx;
      ctx = bg.canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      drawAxis();
      ctx.save();
      clipToPlot();
      drawArrows(faded);
      ctx.restore();
      ctx = main;
      bg.key = key;
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bg.canvas, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.save();
    clipToPlot();
    drawHot();
    drawEvents();
    drawLabels();
    ctx.restore();
  }

  function clipToPlot() {
    ctx.beginPath();
    ctx.rect(LEFT - 6, 0, width - LEFT - RIGHT + 12, height);
    ctx.clip();
  }

  function drawAxis() {
    const lo = toU(LEFT), hi = toU(width - RIGHT), wall = state.axis === "wall";
    const raw = (hi - lo) / 8;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw) || p * 10;
    ctx.font = "10px sans-serif";
    ctx.fillStyle = "#666";
    ctx.textAlign = "left";
    ctx.fillText(wall ? "wall s" : "Lamport", 4, 14);
    ctx.textAlign = "center";
    ctx.strokeStyle = "#eeeeee";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let u = Math.ceil(lo / step) * step; u <= hi; u += step) {
      const x = Math.round(toPx(u)) + 0.5;
      ctx.moveTo(x, TOP - 14);
      ctx.lineTo(x, height - BOTTOM);
      ctx.fillText(String(wall ? +(u / 1000).toFixed(6) : Math.round(u)), x, TOP - 18);
    }
    ctx.stroke();
    ctx.strokeStyle = "#dddddd";
    ctx.beginPath();
    ctx.font = "11px sans-serif";
    ctx.textAlign = "right";
    ctx.fillStyle = "#333";
    for (let i = 0; i < n; i++) {
      if (!shownLane(i)) continue;
      const y = Math.round(laneY[i]) + 0.5;
      ctx.moveTo(LEFT, y);
      ctx.lineTo(width - RIGHT, y);
      ctx.fillText(`VM ${vms[i]}`, LEFT - 8, y + 4);
    }
    ctx.stroke();
  }

  // Every delivered message between shown lanes, faded while an event is
  // selected.
  function drawArrows(faded) {
    const lo = toU(0), hi = toU(width);
    ctx.beginPath();
    for (let e = 0; e < N; e++) {
      const s = sendOf[e];
      if (s < 0 || !shownLane(lane[e]) || !shownLane(lane[s])) continue;
      const a = xOf(s), b = xOf(e);
      if (Math.max(a, b) < lo || Math.min(a, b) > hi) continue;
      ctx.moveTo(toPx(a), laneY[lane[s]]);
      ctx.lineTo(toPx(b), laneY[lane[e]]);
    }
    ctx.strokeStyle = faded ? "rgba(140,160,185,0.25)" : "rgba(120,145,175,0.55)";
    ctx.lineWidth = 1;
    ctx.stroke();
  }

  // The selected event's messages, bold, with a head at the receive.
  function drawHot() {
    const e0 = state.sel;
    if (e0 < 0) return;
    const hot = sendOf[e0] >= 0 ? [e0] : [];
    hot.push(...(receivers.get(e0) || []));
    ctx.strokeStyle = ctx.fillStyle = "#111";
    ctx.lineWidth = 2;
    for (const e of hot) {
      const s = sendOf[e];
      if (!shownLane(lane[e]) || !shownLane(lane[s])) continue;
      const x0 = toPx(xOf(s)), y0 = laneY[lane[s]], x1 = toPx(xOf(e)), y1 = laneY[lane[e]];
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.stroke();
      const t = Math.atan2(y1 - y0, x1 - x0);
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - 9 * Math.cos(t - 0.4), y1 - 9 * Math.sin(t - 0.4));
      ctx.lineTo(x1 - 9 * Math.cos(t + 0.4), y1 - 9 * Math.sin(t + 0.4));
      ctx.closePath();
      ctx.fill();
    }
  }

  // One path per colour and shape: sends square, internal events small.
  function drawEvents() {
    const lo = toU(-10), hi = toU(width + 10), r = radius();
    const paths = new Map();
    for (let e = 0; e < N; e++) {
      const y = laneY[lane[e]], u = xOf(e);
      if (Number.isNaN(y) || u < lo || u > hi || e === state.sel || e === state.pinned) continue;
      const m = markOf[e], fill = m === NONE ? KIND_FILL[kind[e]] : MARK_FILL[m];
      let p = paths.get(fill);
      if (!p) { p = new Path2D(); paths.set(fill, p); }
      const x = toPx(u), k = kind[e];
      const rr = k === 0 ? r * 0.8 : r;
      if (k === 1) p.rect(x - rr, y - rr, 2 * rr, 2 * rr);
      else { p.moveTo(x + rr, y); p.arc(x, y, rr, 0, 2 * Math.PI); }
    }
    for (const [fill, p] of paths) { ctx.fillStyle = fill; ctx.fill(p); }
    for (const [e, fill] of [[state.pinned, "#b0007a"], [state.sel, "#000000"]]) {
      if (e < 0 || !shownLane(lane[e])) continue;
      ctx.beginPath();
      ctx.arc(toPx(xOf(e)), laneY[lane[e]], Math.max(5, r + 2), 0, 2 * Math.PI);
      ctx.fillStyle = fill;
      ctx.fill();
    }
  }

  // Labels on the events in view, only when zoomed in far enough to read.
  function drawLabels() {
    if (!state.label) return;
    const lo = toU(LEFT), hi = toU(width - RIGHT), at = [];
    for (let e = 0; e < N && at.length <= 3000; e++) {
      const u = xOf(e);
      if (shownLane(lane[e]) && u >= lo && u <= hi) at.push(e);
    }
    const room = state.label === "vc" ? 6 * n + 12 : state.label === "hlc" ? 52 : 26;
    const lanes = Math.max(1, n - state.hidden.size);
    if (at.length === 0 || at.length > 3000 || (width - LEFT) * lanes / at.length < room) return;
    ctx.font = "9px sans-serif";
    ctx.textAlign = "center";
    ctx.fillStyle = "#444";
    for (const e of at) ctx.fillText(labelOf(e, state.label), toPx(xOf(e)), laneY[lane[e]] - 7);
  }

  // An HLC label is (l, c) with l in ms since the start, to 0.1 ms.
  function labelOf(e, f) {
    const v = ev[e][F[f]];
    if (f === "hlc") return `(${(v[0] / 1000).toFixed(1)},${v[1]})`;
    return Array.isArray(v) ? `[${v.join(",")}]` : String(v);
  }

  // The marks of every event against the selected one e, from the vector
  // clocks: f is in e's past when f's own entry is at most V(e)[vm of f];
  // in its future when V(f)[vm of e] reaches e's own entry.
  function mark() {
    const t0 = performance.now();
    const e = state.sel, i = lane[e], k = own[e], base = e * n;
    const counts = [0, 0, 0, 0, 0];
    for (let f = 0; f < N; f++) {
      let m;
      if (f === e) m = SEL;
      else if (own[f] <= vc[base + lane[f]]) m = PAST;
      else if (vc[f * n + i] >= k) m = FUTURE;
      else m = CONC;
      markOf[f] = m;
      const el = els[f];
      if (!el) continue;
      counts[m]++;
      const c = `ev ${KINDS[kind[f]]} ${MARK_CLASS[m]}${f === state.pinned ? " pinned" : ""}`;
      if (cls[f] !== c) { el.setAttribute("class", c); cls[f] = c; }
    }
    showEvent(e, counts);
    requestAnimationFrame(() => setTimeout(() => { timing.clicks.push(performance.now() - t0); }, 0));
  }

  // a -> b exactly when a's own entry is at most V(b)[vm of a].
  const before = (a, b) => a !== b && own[a] <= vc[b * n + lane[a]];
  const name = (e) => `VM ${ev[e][F.vm]} tick ${ev[e][F.tick]}`;
  const secs = (ms) => `${(ms / 1000).toFixed(6)} s`;

  function showEvent(e, counts) {
    const row = ev[e], h = [];
    h.push(`<h2>${name(e)}: ${KIND[row[F.kind]]}</h2><table>`);
    h.push(`<tr><th>Lamport clock</th><td>${row[F.lamport]}</td></tr>`);
    if ("hlc" in F) {
      const [l, c, ahead] = row[F.hlc];
      h.push(`<tr><th>hybrid logical clock</th><td>l = ${secs(l / 1000)}, c = ${c}; l is ${(ahead / 1000).toFixed(3)} ms ahead of this VM's clock</td></tr>`);
    }
    h.push(`<tr><th>wall time</th><td>${secs(wallMs[e])} after the start</td></tr></table>`);
    h.push(`<h3>Vector clock</h3><table class="vc"><tr>${vms.map((v) => `<th>VM ${v}</th>`).join("")}</tr><tr>${row[F.vc].map((x) => `<td>${x}</td>`).join("")}</tr></table>`);
    const m = row[F.msg];
    if (m) {
      h.push(`<h3>Message received</h3><p>From VM ${m[0]}, sent at its tick ${m[1]}`);
      if (m[2] >= 0) {
        h.push(` (Lamport ${ev[m[2]][F.lamport]}) at ${secs(m[3] / 1000)}; taken ${((row[F.wall] - m[3]) / 1000).toFixed(3)} ms after it was sent`);
      } else {
        h.push(" (a send not in the logs)");
      }
      h.push(`, after waiting ${(m[4] / 1000).toFixed(3)} ms in the queue.</p>`);
    }
    const to = receivers.get(e);
    if (to) h.push(`<h3>Message sent</h3><p>Taken by ${to.map((r) => `${name(r)} at ${secs(wallMs[r])}`).join(", ")}.</p>`);
    h.push(`<p class="counts"><span class="key-past">past</span> ${counts[PAST]} · <span class="key-future">future</span> ${counts[FUTURE]} · <span class="key-concurrent">concurrent</span> ${counts[CONC]}</p>`);
    const a = state.pinned;
    if (a >= 0 && a !== e) {
      const b = e;
      let says;
      if (before(a, b)) says = "a happens before b (a &rarr; b)";
      else if (before(b, a)) says = "b happens before a (b &rarr; a)";
      else says = "a and b are concurrent (a &#8741; b)";
      const la = ev[a][F.lamport], lb = ev[b][F.lamport];
      const cmp = la < lb ? "&lt;" : la > lb ? "&gt;" : "=";
      h.push(`<div id="relation"><p>a = ${name(a)} (ringed), b = ${name(b)}:</p><p class="answer">${says}</p><p>Lamport: L(a) = ${la} ${cmp} L(b) = ${lb}.</p></div>`);
    } else {
      h.push(`<p class="hint">Shift-click a second event: does one happen before the other?</p>`);
    }
    panel.innerHTML = h.join("");
  }

  function panelIdle() {
    panel.innerHTML = `<p>${N} tick events on ${n} VMs. Click an event to mark its causal past, its future and the events concurrent with it.</p>`;
  }

  // Pan by dragging, zoom with the wheel around the pointer; a press that
  // barely moves is a click.
  function wire() {
    let drag = null;
    view.addEventListener("mousedown", (d) => { drag = { x: d.clientX, u0: state.u0, moved: false }; });
    window.addEventListener("mousemove", (d) => {
      if (!drag) return;
      const dx = d.clientX - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (drag.moved) { state.u0 = drag.u0 - dx / state.scale; placeSoon(); }
    });
    window.addEventListener("mouseup", () => { setTimeout(() => { drag = null; }, 0); });
    view.addEventListener("click", (c) => {
      if (drag && drag.moved) return;
      const el = c.target.closest && c.target.closest(".ev");
      if (!el) return;
      const e = +el.dataset.i;
      state.pinned = c.shiftKey && state.sel >= 0 && state.sel !== e ? state.sel : -1;
      state.sel = e;
      mark();
      draw();
    });
    view.addEventListener("wheel", (w) => {
      w.preventDefault();
      const at = w.clientX - view.getBoundingClientRect().left, u = toU(at);
      state.scale *= Math.exp(-w.deltaY * 0.002);
      state.u0 = u - (at - LEFT) / state.scale;
      placeSoon();
    }, { passive: false });
    for (const r of document.querySelectorAll('input[name="axis"]')) {
      r.addEventListener("change", () => { state.axis = r.value; state.fitted = false; render(); });
    }
    const sel = document.getElementById("label");
    sel.innerHTML = LABELS.map(([f, t]) => `<option value="${f}">${t}</option>`).join("") + `<option value="">none</option>`;
    sel.addEventListener("change", () => { state.label = sel.value || null; draw(); });
    document.getElementById("fit").addEventListener("click", fit);
    document.addEventListener("keydown", (k) => {
      if (k.key !== "Escape") return;
      state.sel = state.pinned = -1;
      render();
    });
    lanesControl();
  }

  // One chip per VM: its box shows or hides the lane, the arrows move it.
  function lanesControl() {
    const box = document.getElementById("lanes");
    const chips = () => {
      box.innerHTML = "Lanes: " + state.order.map((i, k) => {
        const off = state.hidden.has(i);
        return `<span class="chip${off ? " off" : ""}"><label><input type="checkbox" data-lane="${i}"${off ? "" : " checked"}> VM ${vms[i]}</label><button type="button" data-up="${k}" title="move up">&#9650;</button><button type="button" data-down="${k}" title="move down">&#9660;</button></span>`;
      }).join("");
    };
    box.addEventListener("change", (c) => {
      const i = +c.target.dataset.lane;
      if (c.target.checked) state.hidden.delete(i); else state.hidden.add(i);
      chips();
      render();
    });
    box.addEventListener("click", (c) => {
      const up = c.target.dataset.up, down = c.target.dataset.down;
      const k = up !== undefined ? +up : down !== undefined ? +down + 1 : -1;
      if (k < 1 || k >= state.order.length) return;
      [state.order[k - 1], state.order[k]] = [state.order[k], state.order[k - 1]];
      chips();
      render();
    });
    chips();
  }

  render();
  wire();
  timing.loadMs = performance.now() - began;
  window.explorer = { ready: true, timing, events: N, vms: n };
})();
