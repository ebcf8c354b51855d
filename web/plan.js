// The /plan page: sends the form as POST /v1/plan and shows the answer or the error,
// with the field it names marked in the form.
"use strict";

const form = document.getElementById("plan-form");

function requestBody() {
  const v = (name) => form.elements[name].value.trim();
  const input = {pantry_id: v("pantry_id"), constraint_id: v("constraint_id"), workflow: v("workflow"), mode: v("mode")};
  if (v("previous_plan"))
    input.previous_plan = v("previous_plan").split(",").map((s) => s.trim()).filter((s) => s);
  const body = {unit_id: v("unit_id"), input};
  if (v("unit_type"))
    body.unit_type = v("unit_type");
  if (v("experiment"))
    body.experiment = v("experiment");
  if (v("max_new_tokens"))
    body.max_new_tokens = Number(v("max_new_tokens"));
  return body;
}

function show(answer, ok) {
  document.getElementById("plan-result").hidden = false;
  const error = document.getElementById("plan-error");
  const text = document.getElementById("plan-text");
  const facts = document.querySelector("#plan-facts tbody");
  facts.replaceChildren();
  for (const el of form.elements)
    el.classList && el.classList.remove("breached");
  if (!ok) {
    const e = answer.error || {message: "no answer"};
    error.hidden = false;
    error.textContent = `${e.code || "error"}: ${e.message}` + (e.field ? ` (${e.field})` : "");
    const name = (e.field || "").replace(/^input\./, "").replace(/\[\d+\]$/, "");
    if (form.elements[name])
      form.elements[name].classList.add("breached");
    text.textContent = "";
    return;
  }
  error.hidden = true;
  text.textContent = answer.plan;
  for (const key of ["experiment_name", "variant_name", "policy_version_id", "model", "finish_reason",
                     "prompt_tokens", "generated_tokens", "batch_size", "latency_ms", "cost_usd", "request_id"]) {
    const row = facts.insertRow();
    row.insertCell().textContent = key;
    row.insertCell().textContent = typeof answer[key] === "number" ? String(+answer[key].toFixed(3)) : answer[key];
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const headers = {"Content-Type": "application/json"};
  if (form.elements.key.value)
    headers.Authorization = "Bearer " + form.elements.key.value;
  try {
    const r = await fetch("/v1/plan", {method: "POST", headers, body: JSON.stringify(requestBody())});
    show(await r.json(), r.ok);
  } catch (e) {
    show({error: {code: "network", message: String(e)}}, false);
  }
});
