// backprop playground, drawing: the network (SVG links, a canvas per neuron), the heat map,
// the data points, the charts, the confusion matrix and the neuron inspector.
// Loaded before app.js, which holds the state and the connection these functions read.
"use strict";

// ---------------------------------------------------------------- the network

function layout() {
  const sizes = [FEATURES.length, ...net.sizes.slice(1)];
  const width = Math.max(420, $("net-col").clientWidth - 10);
  const step = (width - LEFT - BOX) / Math.max(1, sizes.length - 1);
  const pos = sizes.map((n, l) => Array.from({ length: n }, (_, i) => [LEFT + l * step, TOP + i * GAP]));
  return { pos, width, height: TOP + Math.max(...sizes) * GAP + 10 };
}

function buildNetwork() {
  const box = $("network");
  box.querySelectorAll(".neuron, .layer-ctl").forEach((e) => e.remove());
  const { pos, width, height } = layout();
  box.style.height = `${height}px`;
  const svg = $("links");
  svg.setAttribute("width", width); svg.setAttribute("height", height);
  net.layout = pos; net.canvases = [];
  // inputs: all seven features, the active ones in order are a^0
  const active = net.config.inputs;
  const inputCanvases = [];
  FEATURES.forEach(([key, label], i) => {
    const on = active.includes(key);
    const div = neuronDiv(pos[0][i], `in-${key}`, label);
    div.classList.toggle("off", !on);
    div.title = `${label}: click to ${on ? "remove" : "add"} this input`;
    div.onclick = () => {
      const next = on ? active.filter((k) => k !== key) : FEATURES.map(([k]) => k).filter((k) => k === key || active.includes(k));
      if (!next.length) return showError("keep at least one input");
      state.inputs = next; sendConfig();
    };
    if (on) drawThumb(div.querySelector("canvas"), net.input_maps[active.indexOf(key)]);
    inputCanvases.push(div);
  });
  for (let l = 1; l < net.sizes.length; l++) {
    const cans = [];
    for (let i = 0; i < net.sizes[l]; i++) {
      const div = neuronDiv(pos[l][i], `n-${l}-${i}`, "");
      div.dataset.layer = l; div.dataset.index = i;
      div.onmouseenter = () => send({ type: "select", neuron: [l, i] });
      div.onmouseleave = () => send({ type: "select", neuron: null });
      div.onclick = () => { pinned = [l, i]; markPinned(); requestInspect(true); };
      const bias = Object.assign(document.createElement("span"), { className: "bias", title: `b of neuron ${i + 1}, layer ${l}: click to edit` });
      bias.id = `b-${l}-${i}`;
      bias.onclick = (ev) => editParam({ type: "bias", layer: l, row: i }, frame ? frame.b[l - 1][i] : 0, ev);
      div.appendChild(bias);
      cans.push(div.querySelector("canvas"));
    }
    net.canvases.push(cans);
    if (l < net.sizes.length - 1) layerControls(l, pos[l][0][0]);
  }
  linkPaths();
}

function neuronDiv([x, y], id, label) {
  const div = document.createElement("div");
  div.className = "neuron"; div.id = id;
  div.style.left = `${x}px`; div.style.top = `${y}px`;
  const c = document.createElement("canvas");
  c.width = 25; c.height = 25;
  div.appendChild(c);
  if (label) { const s = document.createElement("span"); s.className = "label"; s.textContent = label; div.appendChild(s); }
  $("network").appendChild(div);
  return div;
}

function layerControls(l, x) {
  const d = document.createElement("div");
  d.className = "layer-ctl"; d.style.left = `${x - 17}px`; d.style.top = "0px";
  const plus = Object.assign(document.createElement("button"), { textContent: "+", className: "add-neuron", title: "add a neuron" });
  const minus = Object.assign(document.createElement("button"), { textContent: "−", className: "remove-neuron", title: "remove a neuron" });
  plus.onclick = () => { if (state.hidden[l - 1] < MAX_NEURONS) { state.hidden[l - 1]++; sendConfig(); } else showError(`at most ${MAX_NEURONS} neurons a layer`); };
  minus.onclick = () => { if (state.hidden[l - 1] > 1) { state.hidden[l - 1]--; sendConfig(); } };
  const sel = document.createElement("select");
  sel.className = "layer-act"; sel.dataset.layer = l; sel.title = `σ of hidden layer ${l}`;
  for (const a of ["relu", "tanh", "sigmoid", "linear"]) sel.add(new Option(a, a, false, a === state.activations[l - 1]));
  sel.onchange = () => { state.activations[l - 1] = sel.value; sendConfig(); };
  d.append(minus, ` ${state.hidden[l - 1]} `, plus, document.createElement("br"), sel);
  $("network").appendChild(d);
}

function linkPaths() {
  const svg = $("links");
  svg.innerHTML = "";
  const active = net.config.inputs;
  const rows0 = active.map((k) => FEATURES.findIndex(([f]) => f === k));
  net.paths = [];
  for (let l = 1; l < net.sizes.length; l++) {
    const layer = [];
    const from = l === 1 ? rows0.map((r) => net.layout[0][r]) : net.layout[l - 1];
    net.layout[l].forEach(([x2, y2], i) => {
      const row = [];
      from.forEach(([x1, y1], j) => {
        const a = [x1 + BOX, y1 + BOX / 2], b = [x2, y2 + BOX / 2], mx = (a[0] + b[0]) / 2;
        const d = `M${a[0]},${a[1]} C${mx},${a[1]} ${mx},${b[1]} ${b[0]},${b[1]}`;
        const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
        p.setAttribute("d", d);
        const hit = document.createElementNS("http://www.w3.org/2000/svg", "path");
        hit.setAttribute("d", d); hit.setAttribute("class", "hit");
        hit.dataset.layer = l; hit.dataset.row = i; hit.dataset.col = j;
        hit.onclick = (ev) => editParam({ type: "weight", layer: l, row: i, col: j }, frame ? frame.W[l - 1][i][j] : 0, ev);
        svg.append(p, hit);
        row.push(p);
      });
      layer.push(row);
    });
    net.paths.push(layer);
  }
}

function editParam(msg, current, ev) {
  const ed = $("weight-editor");
  ed.hidden = false;
  $("weight-name").textContent = msg.type === "bias"
    ? `b${sup(msg.layer)} of neuron ${msg.row + 1}` : `W${sup(msg.layer)}[${msg.row + 1}, ${msg.col + 1}]`;
  $("weight-value").value = current;
  $("weight-value").focus();
  $("weight-set").onclick = () => {
    const v = Number($("weight-value").value);
    if (!Number.isFinite(v)) return showError("a weight is a number");
    send({ ...msg, value: v });
    ed.hidden = true;
  };
  ev.stopPropagation();
}

function markPinned() {
  document.querySelectorAll(".neuron.pinned").forEach((e) => e.classList.remove("pinned"));
  if (pinned) $(`n-${pinned[0]}-${pinned[1]}`).classList.add("pinned");
}

// ---------------------------------------------------------------- drawing

const LUT = (() => {  // 256 colours from orange (−1) through grey (0) to blue (+1)
  const lerp = (a, b, t) => a.map((v, k) => Math.round(v + (b[k] - v) * t));
  const neg = [245, 147, 34], zero = [232, 234, 235], pos = [8, 119, 189];
  return Array.from({ length: 256 }, (_, q) => { const v = q / 127.5 - 1; return v < 0 ? lerp(zero, neg, -v) : lerp(zero, pos, v); });
})();

function decode(b64) { return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)); }

function paint(canvas, bytes, size, discretize = false, classes = null) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(size, size);
  for (let k = 0; k < size * size; k++) {
    let rgb;
    if (classes) {
      const c = CLASS_COLORS[classes[k] % 8], alpha = discretize ? 1 : bytes[k] / 255;
      const base = [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
      rgb = base.map((v) => Math.round(255 + (v - 255) * (0.25 + 0.6 * alpha)));
    } else rgb = LUT[discretize ? (bytes[k] >= 128 ? 255 : 0) : bytes[k]];
    img.data[4 * k] = rgb[0]; img.data[4 * k + 1] = rgb[1]; img.data[4 * k + 2] = rgb[2]; img.data[4 * k + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function drawThumb(canvas, b64) { paint(canvas, decode(b64), 25); }

function drawHeat(f) {
  const grid = net.grid;
  if (f.classes) paint($("heatmap"), decode(f.confidence), grid, page.discretize, decode(f.classes));
  else paint($("heatmap"), decode(f.heat), grid, page.discretize);
}

function drawPoints() {
  const c = $("points"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  if (!net) return;
  const px = (x) => ((x + 6) / 12) * c.width, py = (y) => ((6 - y) / 12) * c.height;
  const color = (label) => net.kind === "multiclass" ? CLASS_COLORS[label % 8]
    : `rgb(${LUT[Math.max(0, Math.min(255, Math.round((label + 1) * 127.5)))].join(",")})`;
  const dot = ([x, y, label], stroke) => {
    ctx.beginPath(); ctx.arc(px(x), py(y), 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = color(label); ctx.fill(); ctx.strokeStyle = stroke; ctx.lineWidth = 1; ctx.stroke();
  };
  const showData = net.config.dataset !== "custom" || !$("draw").checked;
  if (showData) {
    net.train.forEach((p) => dot(p, "#fff"));
    if (page.showTest) net.test.forEach((p) => dot(p, "#000"));
  }
  if ($("draw").checked) drawn.forEach(([x, y, k]) => dot([x, y, net.kind === "multiclass" ? k : (k ? 1 : -1)], "#222"));
  if (inspectPoint) {
    ctx.beginPath(); ctx.arc(px(inspectPoint[0]), py(inspectPoint[1]), 7, 0, 2 * Math.PI);
    ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.stroke();
  }
}

function drawLinks(f) {
  f.b.forEach((bl, l) => bl.forEach((v, i) => {
    const e = document.getElementById(`b-${l + 1}-${i}`);
    if (e) e.style.background = `rgb(${LUT[Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)))].join(",")})`;
  }));
  for (let l = 0; l < net.paths.length; l++) {
    const W = f.W[l];
    net.paths[l].forEach((row, i) => row.forEach((p, j) => {
      const w = W[i][j];
      p.setAttribute("stroke", w >= 0 ? "#0877bd" : "#f59322");
      p.setAttribute("stroke-width", Math.min(10, 0.3 + Math.abs(w) * 2).toFixed(2));
    }));
  }
}

function fmt(v, digits = 3) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }

function drawFrame(f) {
  frame = f;
  $("epoch").textContent = String(f.epoch).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  $("loss-test").textContent = fmt(f.loss_test); $("loss-train").textContent = fmt(f.loss_train);
  $("loss-test").dataset.value = f.loss_test; $("loss-train").dataset.value = f.loss_train;
  $("loss-test-reg").textContent = fmt(f.loss_test_reg); $("loss-train-reg").textContent = fmt(f.loss_train_reg);
  $("acc-test").textContent = f.accuracy_test === null ? "–" : `${(100 * f.accuracy_test).toFixed(1)} %`;
  $("acc-train").textContent = f.accuracy_train === null ? "–" : `${(100 * f.accuracy_train).toFixed(1)} %`;
  drawHeat(f);
  f.thumbs.forEach((layer, l) => layer.forEach((b64, i) => { const c = net.canvases[l] && net.canvases[l][i]; if (c) drawThumb(c, b64); }));
  drawLinks(f);
  if (lossHistory.length === 0 || lossHistory[lossHistory.length - 1][0] !== f.epoch) {
    lossHistory.push([f.epoch, f.loss_train, f.loss_test]); deltaHistory.push(f.delta_norm);
    if (lossHistory.length > 600) { lossHistory = lossHistory.filter((_, k) => k % 2 === 0); deltaHistory = deltaHistory.filter((_, k) => k % 2 === 0); }
  }
  chart($("loss-chart"), [lossHistory.map((r) => r[1]), lossHistory.map((r) => r[2])], ["#000", "#999"], false);
  const L = f.delta_norm.length;
  const series = Array.from({ length: L }, (_, l) => deltaHistory.map((d) => d[l]));
  const colors = series.map((_, l) => `hsl(${(l * 300) / Math.max(1, L - 1)}, 70%, 40%)`);
  chart($("delta-chart"), series, colors, true);
  $("delta-legend").innerHTML = series.map((_, l) => `<span style="color:${colors[l]}">δ<sup>${l + 1}</sup> ${f.delta_norm[l] === null ? "–" : f.delta_norm[l].toExponential(2)}</span>`).join(" · ");
  confusionTable(f.confusion);
  if (f.playing !== undefined && f.playing !== playing) setPlaying(f.playing);
}

function chart(canvas, series, colors, log) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const tf = (v) => (log ? Math.log10(Math.max(v, 1e-12)) : v);
  const vals = series.flat().filter((v) => v !== null && Number.isFinite(v)).map(tf);
  if (!vals.length) return;
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (!log) lo = Math.min(lo, 0);
  if (hi - lo < 1e-12) hi = lo + 1;
  series.forEach((s, k) => {
    ctx.beginPath(); ctx.strokeStyle = colors[k]; ctx.lineWidth = 1.5;
    s.forEach((v, i) => {
      if (v === null) return;
      const x = (i / Math.max(1, s.length - 1)) * w, y = h - ((tf(v) - lo) / (hi - lo)) * (h - 4) - 2;
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  });
}

function confusionTable(m) {
  const t = $("confusion");
  if (!m) { t.innerHTML = "<tr><td>regression: no classes</td></tr>"; return; }
  const head = `<tr><th>true \\ predicted</th>${m.map((_, j) => `<th>${j}</th>`).join("")}</tr>`;
  t.innerHTML = head + m.map((row, i) => `<tr><th>${i}</th>${row.map((v) => `<td>${v}</td>`).join("")}</tr>`).join("");
}

function showInspector() {
  const msg = lastInspect;
  if (!msg || !pinned) return;
  const [l, i] = pinned, layer = msg.layers[l - 1];
  if (!layer || i >= layer.z.length) return;
  $("inspector").hidden = false;
  $("insp-name").textContent = `${i + 1} of layer ${l} (${layer.activation})`;
  $("insp-point").textContent = `${msg.split} #${msg.index} (${msg.point.map((v) => v.toFixed(2)).join(", ")}), label ${msg.label}`;
  const cells = { "insp-z": layer.z[i], "insp-a": layer.a[i], "insp-sp": layer.sigma_prime ? layer.sigma_prime[i] : null, "insp-delta": layer.delta[i] };
  for (const id in cells) {
    const v = cells[id];
    $(id).textContent = v === null ? "— (softmax: δ from its Jacobian)" : v.toPrecision(6);
    $(id).dataset.value = v === null ? "" : String(v);
  }
  $("insp-rule").textContent = l === msg.layers.length
    ? "δᴸ = ∂C/∂zᴸ (BP1): (aᴸ − t) ∘ σ′(zᴸ) for the quadratic cost, aᴸ − t for cross-entropy"
    : `δ${sup(l)} = ((W${sup(l + 1)})ᵀ δ${sup(l + 1)}) ∘ σ′(z${sup(l)}) (BP2)`;
}

const SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const sup = (n) => String(n).split("").map((d) => SUP[d]).join("");
