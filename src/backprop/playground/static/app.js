// backprop playground: draws what the server streams; training runs in Python.
// Plain modern JavaScript, no libraries. State lives in `state` and in the URL fragment.
"use strict";

const TOKEN = document.body.dataset.token;
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const CLASSIFY = ["circle", "xor", "gauss", "spiral"];
const REGRESS = ["plane", "multigauss"];
const FEATURES = [["x1", "x₁"], ["x2", "x₂"], ["x1sq", "x₁²"], ["x2sq", "x₂²"],
  ["x1x2", "x₁x₂"], ["sinx1", "sin x₁"], ["sinx2", "sin x₂"]];
const MAX_LAYERS = 8, MAX_NEURONS = 32, BOX = 36, GAP = 46, LEFT = 70, TOP = 40;
const CLASS_COLORS = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

const DEFAULTS = {
  dataset: "circle", noise: 0, train_percent: 50, seed: 0, inputs: ["x1", "x2"],
  hidden: [4, 2], activations: ["tanh", "tanh"], lr: 0.03, regularization: "none",
  reg_rate: 0, batch_size: 10, cost: "quadratic", optimizer: "sgd", dropout: 0,
};
const PAGE_DEFAULTS = { showTest: false, discretize: false, speed: "max" };

const $ = (id) => document.getElementById(id);
let state = loadState();
let page = { ...PAGE_DEFAULTS, ...state.page };
delete state.page;
let ws = null, net = null, frame = null, pendingFrame = null, playing = false;
let pinned = null, cursor = [0, 0], inspectPoint = null, lastInspect = null, drawn = [], explainNext = false;
let lossHistory = [], deltaHistory = [];
const stats = { frames: 0, drawn: 0, messages: 0, errors: [] };
window.playground = { stats, get frame() { return frame; }, get net() { return net; },
  get inspect() { return lastInspect; }, get state() { return state; } };

// ---------------------------------------------------------------- state and URL

function loadState() {
  const s = structuredClone(DEFAULTS);
  const p = {};
  for (const part of location.hash.slice(1).split("&")) {
    const [k, v] = part.split("=").map(decodeURIComponent);
    if (v === undefined) continue;
    if (k === "inputs" || k === "activations") s[k] = v ? v.split(",") : [];
    else if (k === "hidden") s.hidden = v ? v.split(",").map(Number) : [];
    else if (k === "speed") p.speed = v;
    else if (k in PAGE_DEFAULTS) p[k] = v === "1";
    else if (k in s && typeof DEFAULTS[k] === "number") s[k] = Number(v);
    else if (k in s) s[k] = v;
  }
  if (s.activations.length !== s.hidden.length) s.activations = s.hidden.map(() => s.activations[0] || "tanh");
  s.page = p;
  return s;
}

function saveState() {
  const parts = Object.entries(state).map(([k, v]) => `${k}=${encodeURIComponent(Array.isArray(v) ? v.join(",") : v)}`);
  for (const k in page) parts.push(`${k}=${typeof page[k] === "boolean" ? (page[k] ? 1 : 0) : encodeURIComponent(page[k])}`);
  history.replaceState(null, "", `${location.pathname}${location.search}#${parts.join("&")}`);
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function sendSpeed() {
  send({ type: "speed", epochs_per_s: page.speed === "max" ? null : Number(page.speed) });
}

function sendConfig() {
  saveState();
  send({ type: "config", config: state });
}

// ---------------------------------------------------------------- connection

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${proto}://${location.host}/ws?token=${encodeURIComponent(TOKEN)}`);
  ws.onopen = () => { sendConfig(); sendSpeed(); };
  ws.onmessage = (ev) => {
    stats.messages++;
    const msg = JSON.parse(ev.data);
    const handler = HANDLERS[msg.type];
    if (handler) handler(msg);
  };
  ws.onclose = () => showError("connection to the server closed; reload the page to reconnect");
}

let datasetPoints = {};

const HANDLERS = {
  hello(msg) { datasetPoints = msg.datasets; datasetButtons(); },
  network(msg) {
    net = msg;
    lossHistory = []; deltaHistory = [];
    if (msg.config.dataset === "custom" && state.dataset !== "custom") { state.dataset = "custom"; saveState(); }
    pinned = null; $("inspector").hidden = true;
    buildNetwork(); drawPoints(); syncControls();
  },
  frame(msg) { pendingFrame = msg; },
  inspect(msg) {
    lastInspect = msg; inspectPoint = msg.point; showInspector(); drawPoints();
    if (explainNext) { explainNext = false; send({ type: "explain", split: msg.split, index: msg.index }); }
  },
  explain(msg) {
    $("explain-frame").srcdoc = msg.html;
    $("explain-dialog").showModal();
  },
  export(msg) {
    const bytes = Uint8Array.from(atob(msg.data), (c) => c.charCodeAt(0));
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    a.download = msg.filename; document.body.appendChild(a); a.click(); a.remove();
  },
  error(msg) {
    stats.errors.push(msg.message);
    showError(msg.message);
    if (msg.diverged) setPlaying(false);
    if (msg.config) { state = { ...msg.config }; saveState(); syncControls(); }
  },
};

function showError(text) {
  const e = $("error");
  e.textContent = text; e.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { e.hidden = true; }, 8000);
}

// ---------------------------------------------------------------- controls

function fillSelect(id, values, current) {
  const sel = $(id);
  sel.innerHTML = "";
  for (const v of values) sel.add(new Option(String(v), String(v), false, v === current));
}

function setPlaying(on) {
  playing = on;
  $("play").textContent = on ? "❚❚" : "▶";
  $("play").setAttribute("aria-pressed", String(on));
}

function datasetButtons() {
  const box = $("datasets");
  box.innerHTML = "";
  const names = state.dataset in { plane: 1, multigauss: 1 } ? REGRESS : CLASSIFY;
  for (const name of [...names, "custom"]) {
    const b = document.createElement("button");
    b.id = `ds-${name}`; b.dataset.dataset = name; b.title = name;
    const pts = datasetPoints[name];
    if (pts) {
      const c = Object.assign(document.createElement("canvas"), { width: 48, height: 48 });
      const ctx = c.getContext("2d");
      for (const [x, y, label] of pts) {
        ctx.fillStyle = `rgb(${LUT[Math.max(0, Math.min(255, Math.round((label + 1) * 127.5)))].join(",")})`;
        ctx.fillRect(((x + 6) / 12) * 48 - 1, ((6 - y) / 12) * 48 - 1, 2.5, 2.5);
      }
      b.appendChild(c);
    }
    b.appendChild(Object.assign(document.createElement("span"), { textContent: name }));
    b.classList.toggle("active", name === state.dataset);
    b.onclick = () => {
      if (name === "custom") { if (drawn.length < 2) { showError("draw points (tick Draw points) or upload a CSV first"); return; } sendPoints(); return; }
      state.dataset = name; state.cost = REGRESS.includes(name) ? "quadratic" : state.cost; sendConfig(); syncControls();
    };
    box.appendChild(b);
  }
}

function syncControls() {
  fillSelect("lr", LRS, state.lr);
  fillSelect("reg-rate", REG_RATES, state.reg_rate);
  fillSelect("draw-class", [0, 1, 2, 3, 4, 5, 6, 7], Number($("draw-class").value || 0));
  $("activation").value = state.activations[0] || "tanh";
  $("regularization").value = state.regularization;
  $("problem").value = REGRESS.includes(state.dataset) ? "regression" : "classification";
  $("cost").value = state.cost;
  $("optimizer").value = state.optimizer;
  $("dropout").value = String(state.dropout);
  for (const [id, key] of [["train-percent", "train_percent"], ["noise", "noise"], ["batch-size", "batch_size"]]) {
    $(id).value = state[key]; $(`${id}-value`).textContent = state[key];
  }
  $("show-test").checked = page.showTest; $("discretize").checked = page.discretize;
  $("speed").value = page.speed;
  $("layer-count").textContent = state.hidden.length;
  datasetButtons();
}

function bindControls() {
  const num = (id, key, parse = Number) => ($(id).onchange = () => { state[key] = parse($(id).value); sendConfig(); });
  num("lr", "lr"); num("reg-rate", "reg_rate"); num("dropout", "dropout");
  $("regularization").onchange = () => { state.regularization = $("regularization").value; sendConfig(); };
  $("optimizer").onchange = () => { state.optimizer = $("optimizer").value; sendConfig(); };
  $("cost").onchange = () => { state.cost = $("cost").value; sendConfig(); };
  $("activation").onchange = () => { state.activations = state.hidden.map(() => $("activation").value); sendConfig(); };
  $("problem").onchange = () => {
    state.dataset = $("problem").value === "regression" ? "plane" : "circle";
    if (state.dataset === "plane") state.cost = "quadratic";
    sendConfig(); syncControls();
  };
  for (const [id, key] of [["train-percent", "train_percent"], ["noise", "noise"], ["batch-size", "batch_size"]]) {
    $(id).oninput = () => { $(`${id}-value`).textContent = $(id).value; };
    $(id).onchange = () => { state[key] = Number($(id).value); sendConfig(); };
  }
  $("regenerate").onclick = () => { state.seed = Math.floor(Math.random() * 2 ** 31); sendConfig(); };
  $("play").onclick = () => { setPlaying(!playing); send({ type: playing ? "play" : "pause" }); };
  $("step").onclick = () => { setPlaying(false); send({ type: "step" }); };
  $("reset").onclick = () => { setPlaying(false); send({ type: "reset" }); };
  $("add-layer").onclick = () => {
    if (state.hidden.length >= MAX_LAYERS) return showError(`at most ${MAX_LAYERS} hidden layers`);
    state.hidden.push(2); state.activations.push($("activation").value); sendConfig(); syncControls();
  };
  $("remove-layer").onclick = () => {
    if (!state.hidden.length) return;
    state.hidden.pop(); state.activations.pop();
    if (!state.hidden.length) state.dropout = 0;
    sendConfig(); syncControls();
  };
  $("speed").onchange = () => { page.speed = $("speed").value; saveState(); sendSpeed(); };
  $("show-test").onchange = () => { page.showTest = $("show-test").checked; saveState(); drawPoints(); };
  $("discretize").onchange = () => { page.discretize = $("discretize").checked; saveState(); if (frame) drawHeat(frame); };
  $("explain").onclick = () => {
    if (!lastInspect) return showError("move the cursor over the output first to choose a point");
    send({ type: "explain", split: lastInspect.split, index: lastInspect.index });
  };
  $("export-model").onclick = () => send({ type: "export", format: "model" });
  $("export-onnx").onclick = () => send({ type: "export", format: "onnx" });
  $("csv").onchange = async () => {
    const file = $("csv").files[0];
    if (!file) return;
    if (file.size > 1_000_000) return showError("the CSV is larger than 1,000,000 bytes; upload a smaller file");
    send({ type: "csv", text: await file.text() });
    state.dataset = "custom";
  };
  $("clear-points").onclick = () => { drawn = []; drawPoints(); };
  const pts = $("points");
  pts.onmousemove = (ev) => { cursor = toData(ev); requestInspect(); };
  pts.onclick = (ev) => {
    const p = toData(ev);
    if ($("draw").checked) {
      drawn.push([round(p[0]), round(p[1]), Number($("draw-class").value)]);
      drawPoints(); return;
    }
    cursor = p; explainNext = true; requestInspect(true);
  };
}

const round = (v) => Math.round(v * 1000) / 1000;

function sendPoints() {
  state.dataset = "custom";
  send({ type: "points", points: drawn });
  saveState();
}

function toData(ev) {
  const r = $("points").getBoundingClientRect();
  const x = ((ev.clientX - r.left) / r.width) * 12 - 6, y = 6 - ((ev.clientY - r.top) / r.height) * 12;
  return [Math.max(-6, Math.min(6, x)), Math.max(-6, Math.min(6, y))];
}

let inspectTimer = null;
function requestInspect(now = false) {
  if (inspectTimer && !now) return;
  clearTimeout(inspectTimer);
  inspectTimer = setTimeout(() => { inspectTimer = null; send({ type: "inspect", x: cursor }); }, now ? 0 : 60);
}

function animate() {
  stats.frames++;
  if (pendingFrame && net) {
    const f = pendingFrame;
    pendingFrame = null;
    drawFrame(f);
    stats.drawn++;
    send({ type: "ack" });
    if (pinned && playing) requestInspect();
  }
  requestAnimationFrame(animate);
}

bindControls();
syncControls();
setPlaying(false);
connect();
requestAnimationFrame(animate);
