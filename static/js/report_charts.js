// Interactive versions of the report's charts, drawn from the same bundle as the PDF.
(function () {
  "use strict";
  const charts = JSON.parse(document.getElementById("charts-data").textContent) || {};
  const cfg = { displaylogo: false, responsive: true };
  const layout = (title, x, y) => ({ title: { text: title }, margin: { t: 40, r: 10, b: 45, l: 55 }, xaxis: { title: x }, yaxis: { title: y }, legend: { orientation: "h" } });
  const plot = (id, traces, lay) => { if (window.Plotly) Plotly.newPlot(id, traces, lay, cfg); };

  const ex = charts.extraction_by_probe || { probes: [], before: [], after: [] };
  plot("chart-extraction", [
    { type: "bar", name: "before", x: ex.probes, y: ex.before },
    { type: "bar", name: "after", x: ex.probes, y: ex.after },
  ], layout("Extraction by probe", "probe", "share of items extracted"));

  const exp = charts.exposure || {};
  plot("chart-exposure", [
    { type: "histogram", name: "forget (before)", x: exp.forget_before || [], opacity: 0.6 },
    { type: "histogram", name: "forget (after)", x: exp.forget_after || [], opacity: 0.6 },
    { type: "histogram", name: "holdout", x: exp.holdout || [], opacity: 0.6 },
  ], Object.assign(layout("Exposure vs holdout", "exposure (bits)", "items"), { barmode: "overlay" }));

  const roc = charts.roc || {};
  const rocTraces = Object.entries(roc).map(([name, curve]) => ({ type: "scatter", mode: "lines", name: name + " (AUC " + Number(curve.auc).toFixed(3) + ")", x: curve.fpr, y: curve.tpr }));
  rocTraces.push({ type: "scatter", mode: "lines", name: "chance", x: [0, 1], y: [0, 1], line: { dash: "dot" } });
  plot("chart-roc", rocTraces, layout("MIA ROC: forget vs holdout (after)", "false positive rate", "true positive rate"));

  const util = charts.utility || {};
  plot("chart-utility", [{ type: "bar", x: ["before", "after"], y: [util.before, util.after] }], layout("Utility: generic perplexity", "", "perplexity"));

  const tr = charts.training || {};
  plot("chart-training", [
    { type: "scatter", mode: "lines", name: "forget loss", x: tr.step || [], y: tr.forget_loss || [] },
    { type: "scatter", mode: "lines", name: "retain loss", x: tr.step || [], y: tr.retain_loss || [] },
  ], layout("Training curves", "step", "loss"));
})();
