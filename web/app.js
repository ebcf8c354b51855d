// The expd dashboard: reads GET /v1/experiments, /v1/experiments/{id}/results and
// /v1/experiments/{id}/series, and draws them with Chart.js (served by expd from
// Debian's libjs-chart.js: no network beyond expd). When every chart has drawn, the
// body gets data-state="ready" and data-charts="N"; failures land in data-errors.
"use strict";

const errors = [];
window.addEventListener("error", (e) => noteError(e.message || String(e)));
window.addEventListener("unhandledrejection", (e) => noteError(String(e.reason)));

function noteError(message) {
  errors.push(message);
  document.body.dataset.errors = JSON.stringify(errors);
  document.body.dataset.state = "error";
  document.getElementById("status-line").textContent = "error: " + message;
}

const palette = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477"];
const charts = [];

function isNumber(x) { return typeof x === "number" && isFinite(x); }
function fmt(x, digits = 4) {
  if (!isNumber(x)) return x === undefined ? "" : String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(0) : Number(x.toPrecision(digits)).toString();
}
function pct(x) { return isNumber(x) ? (100 * x).toFixed(2) + "%" : String(x); }

// A variant keeps its colour in every chart: its place among the experiment's variants.
const variantColours = new Map();
function colourOf(name) {
  if (!variantColours.has(name)) variantColours.set(name, palette[variantColours.size % palette.length]);
  return variantColours.get(name);
}

// A status the API writes in place of a number, in words a reader can act on.
function explain(value, m) {
  if (isNumber(value) || value === undefined || value === null || typeof value === "object") return value;
  const units = m && isNumber(m.n) ? m.n : null;
  switch (value) {
    case "not enough data": return "not enough data yet" + (units === null ? "" : ": " + fmt(units) + (units === 1 ? " unit" : " units"));
    case "zero variance": return "every value is the same: no interval";
    case "control mean is zero": return "control mean is 0: no relative change";
    case "not aggregated yet": return "not aggregated yet: the next pass computes it";
    case "invalid input": return "inconsistent aggregates (see the node log)";
    default: return value;
  }
}
function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function getJson(url) {
  const r = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await r.json();
  if (!r.ok) throw new Error(url + ": " + ((body.error && body.error.message) || r.status));
  return body;
}

function addChart(container, config) {
  const box = el("div", { class: "chart-box" });
  const canvas = el("canvas");
  box.appendChild(canvas);
  container.appendChild(box);
  config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
  charts.push(new Chart(canvas, config));
  return canvas;
}

function clearCharts(keep) {
  for (let i = charts.length - 1; i >= 0; --i)
    if (charts[i] !== keep) { charts[i].destroy(); charts.splice(i, 1); }
}

// Interval chart: a floating bar from the CI's lower to upper bound per variant, and
// the mean as a point.
function intervalChart(container, title, variants, metricOf) {
  const labels = [], ranges = [], means = [], colours = [];
  for (const v of variants) {
    const m = metricOf(v);
    if (!m) continue;
    colours.push(colourOf(v.variant_name));
    labels.push(v.variant_name + (v.is_control ? " (control)" : ""));
    ranges.push(m.mean_ci && isNumber(m.mean_ci.lower) ? [m.mean_ci.lower, m.mean_ci.upper] : null);
    means.push(isNumber(m.mean) ? m.mean : null);
  }
  return addChart(container, {
    type: "bar",
    data: {
      labels,
      datasets: [
        { type: "bar", label: "confidence interval", data: ranges, backgroundColor: colours.map((c) => c + "55"),
          borderColor: colours, borderWidth: 1, barPercentage: 0.4 },
        { type: "line", label: "mean", data: means, showLine: false, pointRadius: 6,
          pointStyle: "rectRot", backgroundColor: "#1d2330", borderColor: "#1d2330" },
      ],
    },
    options: { plugins: { title: { display: true, text: title } }, scales: { y: { beginAtZero: false } } },
  });
}

// The percent-change axis every lift chart shares, so that lifts compare at a glance:
// the widest interval of any metric, and 0 always on it.
function sharedLiftAxis(results) {
  let lo = 0, hi = 0;
  for (const v of results.variants)
    for (const m of v.metrics) {
      const ci = m.vs_control && m.vs_control.relative_ci;
      if (ci && isNumber(ci.lower)) { lo = Math.min(lo, 100 * ci.lower); hi = Math.max(hi, 100 * ci.upper); }
    }
  const pad = Math.max(1, 0.05 * (hi - lo));
  return { min: Math.floor(lo - pad), max: Math.ceil(hi + pad) };
}

// Relative lift against control with its interval, one bar per treatment, green when
// better by the metric's direction and red when worse, on the shared axis with its
// zero line.
function liftChart(container, title, variants, metricOf, axis) {
  const labels = [], ranges = [], lifts = [], colours = [];
  for (const v of variants) {
    const m = metricOf(v);
    if (!m || !m.vs_control) continue;
    const c = m.vs_control;
    const verdict = verdictOf(c).cls;
    colours.push(verdict === "verdict-better" ? "#1b7f3b" : verdict === "verdict-worse" ? "#b00020" : "#888888");
    labels.push(v.variant_name);
    ranges.push(c.relative_ci && isNumber(c.relative_ci.lower) ? [100 * c.relative_ci.lower, 100 * c.relative_ci.upper] : null);
    lifts.push(isNumber(c.relative_lift) ? 100 * c.relative_lift : null);
  }
  if (labels.length === 0) return null;
  return addChart(container, {
    type: "bar",
    data: {
      labels,
      datasets: [
        { type: "bar", label: "relative lift CI (%)", data: ranges, backgroundColor: colours.map((c) => c + "55"),
          borderColor: colours, borderWidth: 1, barPercentage: 0.4 },
        { type: "line", label: "relative lift (%)", data: lifts, showLine: false, pointRadius: 6,
          backgroundColor: "#1d2330" },
      ],
    },
    options: { indexAxis: "y", plugins: { title: { display: true, text: title } },
      scales: { x: { min: axis.min, max: axis.max,
        grid: { color: (ctx) => (ctx.tick && ctx.tick.value === 0 ? "#1d2330" : "#e5e5e5"),
                lineWidth: (ctx) => (ctx.tick && ctx.tick.value === 0 ? 2 : 1) } } } },
  });
}

// What a comparison says, in words, and its colour: green is better by the metric's
// direction, red worse; guardrails read against their margin.
function verdictOf(c) {
  if (c.non_inferiority !== undefined) {
    const cls = c.non_inferiority === "non-inferior" ? "verdict-better" : c.non_inferiority === "inferior" ? "verdict-worse" : "";
    return { text: c.non_inferiority, cls };
  }
  const cls = c.verdict === "better" ? "verdict-better" : c.verdict === "worse" ? "verdict-worse" : "";
  return { text: c.verdict || "", cls };
}

function metricTable(results, key) {
  const t = el("table");
  t.appendChild(el("tr")).append(...["variant", "n", "mean", "CI", "lift", "rel. lift", "p", "adj. p", "always-valid p", "chance to be better", "verdict", "detectable now", "days left"].map((h) => el("th", {}, h)));
  for (const v of results.variants) {
    const m = v.metrics.find((x) => x.event_type === key.event_type && x.metric_name === key.metric_name);
    if (!m) continue;
    const c = m.vs_control || {};
    const ci = m.mean_ci && isNumber(m.mean_ci.lower) ? `[${fmt(m.mean_ci.lower)}, ${fmt(m.mean_ci.upper)}]` : m.mean_ci;
    const row = el("tr");
    row.append(
      el("td", {}, v.variant_name + (v.is_control ? " (control)" : "")), el("td", {}, fmt(m.n)),
      el("td", {}, fmt(explain(m.mean, m))), el("td", {}, explain(ci, m)),
      el("td", {}, v.is_control ? "" : fmt(explain(c.absolute_lift, m))), el("td", {}, v.is_control ? "" : pct(explain(c.relative_lift, m))),
      el("td", {}, v.is_control ? "" : fmt(c.p_value, 3)),
      el("td", c.significant ? { class: "significant" } : {}, v.is_control ? "" : fmt(c.adjusted_p_value, 3)),
      el("td", {}, v.is_control ? "" : fmt(c.always_valid_p_value, 3)),
      el("td", {}, v.is_control ? "" : pct(c.chance_to_beat)));
    const verdict = verdictOf(c);
    row.appendChild(el("td", verdict.cls ? { class: verdict.cls } : {}, v.is_control ? "" : verdict.text));
    // The CUPED-adjusted comparison, when the experiment has a pre-period: a row of its own.
    let adjusted = null;
    if (c.cuped && c.cuped.status === "ok") {
      const a = c.cuped, av = verdictOf(a);
      adjusted = el("tr", { class: "cuped-row" });
      adjusted.append(
        el("td", {}, "  CUPED (variance " + pct(-a.variance_reduction) + ")"), el("td", {}, ""), el("td", {}, ""), el("td", {}, ""),
        el("td", {}, fmt(explain(a.absolute_lift, m))), el("td", {}, pct(explain(a.relative_lift, m))),
        el("td", {}, fmt(a.p_value, 3)),
        el("td", a.significant ? { class: "significant" } : {}, fmt(a.adjusted_p_value, 3)),
        el("td", {}, fmt(a.always_valid_p_value, 3)), el("td", {}, pct(a.chance_to_beat)),
        el("td", av.cls ? { class: av.cls } : {}, av.text), el("td", {}, ""), el("td", {}, ""));
    }
    const power = c.power || {};
    const days = isNumber(power.days_left) ? fmt(power.days_left, 1) + " d to detect " + pct(power.target_effect) : power.days_left;
    row.append(el("td", {}, v.is_control ? "" : pct(power.mde_relative)), el("td", {}, v.is_control ? "" : days));
    t.appendChild(row);
    if (adjusted) t.appendChild(adjusted);
  }
  return t;
}

function metricOf(key) {
  return (v) => v.metrics.find((x) => x.event_type === key.event_type && x.metric_name === key.metric_name);
}

function renderResults(results) {
  document.getElementById("experiment-name").textContent =
    results.experiment.name + " — computed " + results.computed_at;
  const banner = document.getElementById("srm-banner");
  // Green only for a pass: a mismatch, too little data or broken inputs are all red.
  banner.className = results.srm && results.srm.status === "ok" && !results.srm.mismatch ? "srm-ok" : "srm-bad";
  banner.textContent = !results.srm ? "" : results.srm.mismatch
    ? "SAMPLE RATIO MISMATCH (p = " + fmt(results.srm.p_value, 3) + "): assignment or logging is broken; do not trust these results."
    : "Sample ratio: " + (results.srm.status === "ok" ? "as allocated (p = " + fmt(results.srm.p_value, 3) + ")"
                                                       : "not checked: " + explain(results.srm.status));
  if (results.srm && results.srm.variants)
    banner.textContent += " — observed / expected: " + results.srm.variants.map((v) =>
      v.variant_name + " " + fmt(v.exposures) + " / " + (v.checked ? fmt(Math.round(v.expected)) : "not checked (allocation 0)")).join(", ");
  const warnings = document.getElementById("warnings");
  warnings.replaceChildren(...(results.warnings || []).map((w) => el("li", {}, w)));
  const comparison = document.getElementById("comparison");
  const latencyCost = document.getElementById("latency-cost");
  comparison.replaceChildren();
  latencyCost.replaceChildren();
  if (results.metrics.length === 0)
    comparison.appendChild(el("p", { class: "empty" }, "No metrics yet (" + results.status + ")."));
  const axis = sharedLiftAxis(results);
  const roleTitles = { goal: "Goal metrics", secondary: "Secondary metrics", guardrail: "Guardrails", exploratory: "Other metrics (not named in the experiment)" };
  let role = null;
  for (const key of results.metrics) {
    if (key.role !== role) {
      role = key.role;
      comparison.appendChild(el("h3", { class: "role-" + role }, roleTitles[role] || role));
    }
    const box = el("div", { class: "metric" });
    const margin = key.role === "guardrail" ? ", margin " + pct(key.margin) : "";
    const title = key.event_type + "." + key.metric_name + " (" + key.rule + ", " + key.better + " is better" + margin + ", " + key.test + ")";
    box.appendChild(el("h4", {}, title));
    intervalChart(box, "mean per unit with " + 100 * results.confidence + "% CI", results.variants, metricOf(key));
    liftChart(box, "relative lift vs control (%)", results.variants, metricOf(key), axis);
    box.appendChild(metricTable(results, key));
    comparison.appendChild(box);
    if (key.metric_name === "latency_ms" || key.metric_name === "cost_usd") {
      const lc = el("div", { class: "metric" });
      lc.appendChild(el("h4", {}, key.metric_name === "latency_ms" ? "Latency (ms per unit)" : "Cost (USD per unit)"));
      intervalChart(lc, key.event_type + "." + key.metric_name, results.variants, metricOf(key));
      latencyCost.appendChild(lc);
    }
  }
  if (latencyCost.children.length === 0)
    latencyCost.appendChild(el("p", { class: "empty" }, "No latency_ms or cost_usd metric in this experiment."));
}

function renderSeries(series) {
  const trends = document.getElementById("trends");
  trends.replaceChildren();
  const byMetric = new Map();
  for (const line of series.series) {
    const key = line.event_type + "." + line.metric_name;
    if (!byMetric.has(key)) byMetric.set(key, []);
    byMetric.get(key).push(line);
  }
  if (byMetric.size === 0)
    trends.appendChild(el("p", { class: "empty" }, "No " + series.granularity + " buckets between " + series.from + " and " + series.to + "."));
  for (const [key, lines] of byMetric) {
    const box = el("div", { class: "metric" });
    box.appendChild(el("h4", {}, key + " per " + series.granularity));
    const labels = [...new Set(lines.flatMap((l) => l.points.map((p) => p.t)))].sort();
    const datasets = [];
    lines.forEach((line) => {
      const at = new Map(line.points.map((p) => [p.t, p]));
      const color = colourOf(line.variant_name);
      datasets.push({ label: line.variant_name + " mean", data: labels.map((t) => (at.has(t) && isNumber(at.get(t).mean) ? at.get(t).mean : null)),
        borderColor: color, backgroundColor: color, spanGaps: true });
      datasets.push({ label: line.variant_name + " CI", data: labels.map((t) => (at.has(t) && at.get(t).mean_ci && isNumber(at.get(t).mean_ci.upper) ? at.get(t).mean_ci.upper : null)),
        borderColor: color + "33", backgroundColor: color + "22", pointRadius: 0, fill: "+1", spanGaps: true });
      datasets.push({ label: line.variant_name + " CI low", data: labels.map((t) => (at.has(t) && at.get(t).mean_ci && isNumber(at.get(t).mean_ci.lower) ? at.get(t).mean_ci.lower : null)),
        borderColor: color + "33", pointRadius: 0, fill: false, spanGaps: true });
    });
    addChart(box, { type: "line", data: { labels: labels.map((t) => t.slice(0, series.granularity === "hour" ? 13 : 10)), datasets },
      options: { plugins: { legend: { labels: { filter: (item) => !item.text.endsWith("CI low") } } } } });
    trends.appendChild(box);
  }
}

let overviewChart = null;

// Each promotion of the experiment: where it stands, its guardrails, every step taken.
function renderPromotions(doc) {
  const box = document.getElementById("promotion-list");
  box.textContent = "";
  document.getElementById("promotions").hidden = doc.promotions.length === 0;
  for (const p of doc.promotions) {
    box.appendChild(el("p", { class: "promotion-" + p.status },
      p.model + " as " + p.variant + ": " + p.status + " at " + pct(p.allocation) +
      " (step " + (p.step + 1) + " of " + p.steps.length + "); " + p.last_decision));
    const rails = (p.last_reading && p.last_reading.guardrails) || [];
    if (rails.length) {
      const t = el("table");
      t.appendChild(el("tr")).append(el("th", {}, "guardrail"), el("th", {}, "must"), el("th", {}, "status"),
                                      el("th", {}, "relative change"), el("th", {}, "always-valid p"));
      for (const g of rails)
        t.appendChild(el("tr", { class: g.status === "breached" ? "breached" : "" })).append(
          el("td", {}, g.metric), el("td", {}, g.direction.replace(/_/g, " ")), el("td", {}, g.status),
          el("td", {}, g.relative_lift == null ? "-" : pct(g.relative_lift)),
          el("td", {}, g.always_valid_p_value == null ? "-" : fmt(g.always_valid_p_value)));
      box.appendChild(t);
    }
    const steps = el("table");
    steps.appendChild(el("tr")).append(el("th", {}, "at"), el("th", {}, "step"), el("th", {}, "allocation"),
                                        el("th", {}, "why"));
    for (const e of p.events)
      steps.appendChild(el("tr")).append(el("td", {}, e.at), el("td", {}, e.kind.replace(/_/g, " ")),
                                         el("td", {}, pct(e.allocation)), el("td", {}, e.reason));
    box.appendChild(steps);
  }
}

async function showExperiment(id) {
  const form = document.getElementById("options");
  const q = new URLSearchParams({ confidence: form.confidence.value, correction: form.correction.value });
  const [results, series, promotions] = await Promise.all([
    getJson("/v1/experiments/" + id + "/results?" + q),
    getJson("/v1/experiments/" + id + "/series?granularity=" + form.granularity.value + "&confidence=" + form.confidence.value),
    getJson("/v1/experiments/" + id + "/promotions"),
  ]);
  clearCharts(overviewChart);
  document.getElementById("experiment").hidden = false;
  for (const row of document.querySelectorAll("#experiment-table tbody tr"))
    row.classList.toggle("selected", row.dataset.id === id);
  renderResults(results);
  renderSeries(series);
  renderPromotions(promotions);
  history.replaceState(null, "", "#" + id);
}

function blankCanvases() {
  let blank = 0;
  for (const c of charts) {
    const canvas = c.canvas;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = false;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) { painted = true; break; }
    if (!painted) ++blank;
  }
  return blank;
}

function ready() {
  document.body.dataset.charts = String(charts.length);
  document.body.dataset.blankCharts = String(blankCanvases());
  if (errors.length === 0) {
    document.body.dataset.state = "ready";
    document.title = "expd dashboard — ready";
  }
}

// The model versions this node serves plans with (GET /v1/plan/models) and the drift of
// their requests' features against each one's training dataset (PSI, KS).
async function renderModels() {
  const doc = await getJson("/v1/plan/models");
  const box = document.getElementById("model-list");
  box.replaceChildren();
  if (doc.models.length === 0) {
    box.appendChild(el("p", { class: "empty" }, "no model serves plans on this node yet (the first POST /v1/plan loads one)"));
    return;
  }
  for (const m of doc.models) {
    const d = m.drift || {};
    box.appendChild(el("h4", {}, `${m.model}: ${fmt(m.plans)} plans, ${m.loaded ? "loaded" : "loading"}; ` +
      `drift of the last ${fmt(d.live_rows || 0)} requests against ${fmt(d.reference_rows || 0)} rows of ${d.dataset || "?"}`));
    if (!d.features) {
      box.appendChild(el("p", { class: "empty" }, "no drift figures: " + (d.note || "")));
      continue;
    }
    const table = el("table", { class: "drift-table" });
    const head = table.createTHead().insertRow();
    for (const h of ["feature", "kind", "PSI", "level", "KS D", "KS p"]) head.appendChild(el("th", {}, h));
    const body = table.createTBody();
    const num = (x) => (x === null || x === undefined ? "" : fmt(x));
    for (const f of d.features) {
      const row = body.insertRow();
      if (f.level === "significant") row.className = "breached";
      for (const v of [f.name, f.kind, num(f.psi), f.level || "too few requests", num(f.ks_statistic), num(f.ks_p_value)])
        row.appendChild(el("td", {}, v));
    }
    box.appendChild(table);
  }
}

async function main() {
  if (typeof Chart === "undefined") throw new Error("Chart.js did not load from /dashboard/vendor/chart.js");
  const list = await getJson("/v1/experiments");
  const tbody = document.querySelector("#experiment-table tbody");
  for (const e of list.experiments) {
    const row = el("tr", { "data-id": e.id });
    const srm = e.srm.mismatch ? el("td", { class: "badge-bad" }, "MISMATCH") : el("td", {}, e.srm.status);
    const status = el("td", {}, e.status);
    if (e.status_reason) status.appendChild(el("div", { class: "status-reason" }, e.status_reason));
    row.append(el("td", {}, e.name), status, el("td", {}, fmt(e.exposures)), srm, el("td", {}, e.computed_at));
    row.addEventListener("click", () => showExperiment(e.id).then(ready, (err) => noteError(err.message)));
    tbody.appendChild(row);
  }
  document.getElementById("status-line").textContent = list.experiments.length + " experiments";
  await renderModels();
  const withVariants = list.experiments.filter((e) => e.variants.length > 0);
  const names = [...new Set(withVariants.flatMap((e) => e.variants.map((v) => v.variant_name)))];
  overviewChart = null;
  const box = document.getElementById("exposure-chart");
  charts.push(overviewChart = new Chart(box, {
    type: "bar",
    data: {
      labels: withVariants.map((e) => e.name),
      datasets: names.map((n) => ({ label: n, backgroundColor: colourOf(n),
        data: withVariants.map((e) => { const v = e.variants.find((x) => x.variant_name === n); return v ? v.exposures : 0; }) })),
    },
    options: { animation: false, maintainAspectRatio: false, indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } },
      plugins: { title: { display: true, text: "exposed units per variant" } } },
  }));
  box.parentElement.style.height = Math.max(160, 40 * withVariants.length + 80) + "px";
  overviewChart.resize();
  const wanted = location.hash.slice(1) || new URLSearchParams(location.search).get("experiment");
  const first = list.experiments.find((e) => e.id === wanted) || withVariants[0];
  if (first) await showExperiment(first.id);
  for (const select of document.querySelectorAll("#options select"))
    select.addEventListener("change", () => {
      const id = location.hash.slice(1);
      if (id) showExperiment(id).then(ready, (err) => noteError(err.message));
    });
  ready();
}

main().catch((err) => noteError(err.message));
