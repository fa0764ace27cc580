// The run page's live view: history first, then the stream, over one websocket.
// Events carry a sequence number; a reconnect resends the history, so duplicates are dropped.
(function () {
  "use strict";
  const runId = JSON.parse(document.getElementById("run-id").textContent);
  const FINAL = ["awaiting_signoff", "completed", "failed", "cancelled", "rejected"];
  const seen = new Set();
  const series = { loss: {}, metrics: {} };
  const phaseStart = {};
  let points = 0;
  let drawPending = false;
  let backoff = 500;
  let finished = false;
  // Arrival times of live events (kept short): `make bench` reads them to measure the
  // latency from the engine's callback to this page.
  const arrivals = (window.unlearnArrivals = []);

  const $ = (id) => document.getElementById(id);

  function setState(text) { $("ws-state").textContent = text; }

  function addPoint(group, name, x, y) {
    const trace = (series[group][name] = series[group][name] || { x: [], y: [], name: name, mode: "lines+markers", type: "scatter" });
    trace.x.push(x);
    trace.y.push(y);
    points += 1;
  }

  function draw() {
    drawPending = false;
    const layout = (title) => ({ margin: { t: 10, r: 10, b: 40, l: 50 }, xaxis: { title: title }, legend: { orientation: "h" } });
    if (window.Plotly) {
      Plotly.react("chart-loss", Object.values(series.loss), layout("step"), { displaylogo: false, responsive: true });
      Plotly.react("chart-metrics", Object.values(series.metrics), layout("step"), { displaylogo: false, responsive: true });
    }
    $("chart-loss").dataset.points = String(points);
  }

  function scheduleDraw() {
    if (!drawPending) { drawPending = true; requestAnimationFrame(draw); }
  }

  function showPhase(phase, status) {
    let reached = false;
    document.querySelectorAll("#phases li").forEach((li) => {
      li.classList.remove("current", "done", "failed");
      if (li.dataset.phase === phase) {
        reached = true;
        li.classList.add(status === "failed" ? "failed" : FINAL.includes(status) ? "done" : "current");
      } else if (!reached && phase) {
        li.classList.add("done");
      }
    });
    if (status === "awaiting_signoff" || status === "completed") {
      document.querySelectorAll("#phases li").forEach((li) => li.classList.add("done"));
    }
  }

  function showProgress(ev) {
    if (!ev.total) return;
    $("progress").max = ev.total;
    $("progress").value = ev.step;
    $("progress-text").textContent = ev.phase + ": step " + ev.step + " of " + ev.total;
    const now = Date.parse(ev.time) / 1000;
    const start = (phaseStart[ev.phase] = phaseStart[ev.phase] || { t: now, step: ev.step });
    const rate = (ev.step - start.step) / Math.max(now - start.t, 1e-3);
    $("eta").textContent = rate > 0 ? "ETA " + Math.ceil((ev.total - ev.step) / rate) + " s (" + ev.phase + ")" : "ETA —";
  }

  function log(ev) {
    const li = document.createElement("li");
    const when = new Date(ev.time).toLocaleTimeString();
    li.textContent = when + " · " + (ev.message || ev.phase + " " + ev.step + "/" + ev.total);
    $("log").appendChild(li);
  }

  function handle(ev) {
    if (seen.has(ev.seq)) return;
    seen.add(ev.seq);
    const status = $("run-status");
    if (ev.status && status.dataset.status !== ev.status) {
      status.dataset.status = ev.status;
      status.className = "badge badge-" + ev.status;
      status.textContent = ev.status.replace("_", " ");
    }
    showPhase(ev.phase, ev.status);
    if (ev.kind === "progress") {
      showProgress(ev);
      Object.entries(ev.metrics || {}).forEach(([name, value]) => {
        if (typeof value !== "number") return;
        addPoint(name.includes("loss") ? "loss" : "metrics", ev.phase + ": " + name, ev.step, value);
      });
      scheduleDraw();
    } else {
      log(ev);
    }
    if (FINAL.includes(ev.status) && ev.kind === "state") finished = true;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/runs/" + runId + "/");
    socket.onopen = () => { backoff = 500; setState("live"); };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "history") data.events.forEach(handle);
      else if (data.type === "event") {
        if (arrivals.length < 5000) arrivals.push({ seq: data.event.seq, at: Date.now(), sent: (data.event.metrics || {}).sent_at });
        handle(data.event);
      }
      scheduleDraw();
    };
    socket.onclose = () => {
      if (finished) { setState("finished"); return; }
      setState("reconnecting…");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  draw();
  connect();
})();
