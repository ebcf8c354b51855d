#include "gpu/generation.hpp"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace expd::gpu {

namespace {

// llama_model computes logits at every position it is given, and attention scores of
// every query against every key: a whole prompt at once would hold rows x prompt x
// vocab logits and rows x heads x prompt^2 scores. Prefill therefore runs in chunks of
// positions that keep each below this many elements.
constexpr std::int64_t prefill_elements = std::int64_t{1} << 26;

struct row_state {
  const core::generation_request* request = nullptr;
  generated_sequence out;
  at::Generator generator; // undefined for a greedy row
  std::int64_t next_position = 0;
};

double uniform(at::Generator& generator) {
  return at::empty({}, at::kDouble).uniform_(0.0, 1.0, generator).item<double>();
}

// The next token of each row from its logits [rows, vocab]: the argmax for greedy rows;
// for the others inverse-CDF sampling over the tokens sorted by probability, cut to
// top_k and to the nucleus (the likeliest tokens before which less than top_p of the
// mass lies, so the first always stays), with a uniform draw from the row's generator.
std::vector<std::int64_t> choose(const at::Tensor& logits, const std::vector<row_state*>& rows) {
  auto wide = logits.to(at::kFloat);
  auto tokens = wide.argmax(-1);
  auto vocab = wide.size(-1);
  std::vector<std::int64_t> sampled, top_k;
  std::vector<float> temperature, top_p, draw;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& r = *rows[i]->request;
    if (r.temperature == 0)
      continue;
    sampled.push_back(static_cast<std::int64_t>(i));
    temperature.push_back(static_cast<float>(r.temperature));
    // top_p 1 keeps every token, also those float rounding puts just past a mass of 1.
    top_p.push_back(r.top_p >= 1 ? 2.0f : static_cast<float>(r.top_p));
    top_k.push_back(r.top_k == 0 ? vocab : std::min<std::int64_t>(r.top_k, vocab));
    draw.push_back(static_cast<float>(uniform(rows[i]->generator)));
  }
  if (!sampled.empty()) {
    auto device = wide.device();
    auto column = [&](auto& values) { return at::tensor(values).to(device).unsqueeze(1); };
    auto index = at::tensor(sampled, at::kLong).to(device);
    auto probs = at::softmax(wide.index_select(0, index) / column(temperature), -1);
    // Stable, so ties keep the lower id first, as argmax does.
    auto [sorted, order] = at::sort(probs, /*stable=*/true, -1, /*descending=*/true);
    auto before = sorted.cumsum(-1) - sorted;
    auto rank = at::arange(vocab, index.options()).unsqueeze(0);
    auto keep = before.lt(column(top_p)).logical_and(rank.lt(column(top_k)));
    auto cumulative = (sorted * keep).cumsum(-1);
    auto target = column(draw) * cumulative.narrow(-1, vocab - 1, 1);
    auto pick = at::minimum(cumulative.le(target).sum(-1), keep.sum(-1) - 1);
    tokens.index_copy_(0, index, order.gather(-1, pick.unsqueeze(-1)).squeeze(-1));
  }
  auto cpu = tokens.to(at::kCPU).contiguous();
  auto* p = cpu.data_ptr<std::int64_t>();
  return {p, p + cpu.numel()};
}

// Keeps the cache rows `index` (on the cache's device), in that order.
void keep_rows(kv_cache& cache, const at::Tensor& index) {
  for (auto& layer : cache.layers) {
    layer.keys = layer.keys.index_select(0, index);
    layer.values = layer.values.index_select(0, index);
  }
  cache.positions = cache.positions.index_select(0, index);
}

} // namespace

std::vector<generated_sequence> generate(llama_model& model,
                                         const std::vector<core::generation_request>& requests) {
  if (requests.empty())
    return {};
  at::NoGradGuard no_grad;
  model->eval();
  auto device = model->model->embed_tokens->weight.device();
  auto batch = static_cast<std::int64_t>(requests.size());

  std::vector<row_state> rows(requests.size());
  std::int64_t longest = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    rows[i].request = &requests[i];
    rows[i].next_position = static_cast<std::int64_t>(requests[i].prompt.size());
    if (requests[i].temperature > 0)
      rows[i].generator = at::make_generator<at::CPUGeneratorImpl>(requests[i].seed);
    longest = std::max(longest, rows[i].next_position);
  }

  // Left padding: each prompt ends in the last column, so the last column's logits are
  // every row's next-token logits.
  auto ids = at::zeros({batch, longest}, at::kLong);
  auto positions = at::full({batch, longest}, -1, at::kLong);
  auto id = ids.accessor<std::int64_t, 2>();
  auto position = positions.accessor<std::int64_t, 2>();
  for (std::int64_t i = 0; i < batch; ++i) {
    auto& prompt = requests[static_cast<std::size_t>(i)].prompt;
    auto pad = longest - static_cast<std::int64_t>(prompt.size());
    for (std::size_t t = 0; t < prompt.size(); ++t) {
      id[i][pad + static_cast<std::int64_t>(t)] = prompt[t];
      position[i][pad + static_cast<std::int64_t>(t)] = static_cast<std::int64_t>(t);
    }
  }
  ids = ids.to(device);
  positions = positions.to(device);

  auto cache = model->empty_cache(batch);
  auto widest = std::max(model->config().vocab_size, model->config().num_attention_heads * longest);
  auto chunk = std::max<std::int64_t>(1, prefill_elements / (batch * widest));
  at::Tensor logits;
  for (std::int64_t start = 0; start < longest; start += chunk) {
    auto n = std::min(chunk, longest - start);
    logits = model->forward(ids.narrow(1, start, n), positions.narrow(1, start, n), cache);
  }
  logits = logits.select(1, logits.size(1) - 1);

  std::vector<row_state*> active;
  for (auto& r : rows)
    active.push_back(&r);
  for (;;) {
    auto next = choose(logits, active);
    std::vector<std::int64_t> going_on;
    for (std::size_t i = 0; i < active.size(); ++i) {
      auto& r = *active[i];
      r.out.tokens.push_back(static_cast<std::int32_t>(next[i]));
      ++r.out.generated;
      if (auto stop = core::matched_stop(r.out.tokens, r.request->stop)) {
        r.out.tokens.resize(r.out.tokens.size() - r.request->stop[*stop].size());
        r.out.reason = core::finish_reason::stop;
        r.out.stop_index = static_cast<std::int32_t>(*stop);
      } else if (r.out.generated >= r.request->max_new_tokens) {
        r.out.reason = core::finish_reason::length;
      } else {
        going_on.push_back(static_cast<std::int64_t>(i));
      }
    }
    if (going_on.empty())
      break;
    // Ended rows leave the batch: the steps after cost only the rows still running.
    if (going_on.size() < active.size()) {
      keep_rows(cache, at::tensor(going_on, at::kLong).to(device));
      std::vector<row_state*> still;
      std::vector<std::int64_t> still_next;
      for (auto i : going_on) {
        still.push_back(active[static_cast<std::size_t>(i)]);
        still_next.push_back(next[static_cast<std::size_t>(i)]);
      }
      active = std::move(still);
      next = std::move(still_next);
    }
    std::vector<std::int64_t> where;
    for (auto* r : active)
      where.push_back(r->next_position++);
    auto n = static_cast<std::int64_t>(active.size());
    logits = model->forward(at::tensor(next, at::kLong).view({n, 1}).to(device),
                            at::tensor(where, at::kLong).view({n, 1}).to(device), cache)
               .select(1, 0);
  }

  std::vector<generated_sequence> out;
  out.reserve(rows.size());
  for (auto& r : rows)
    out.push_back(std::move(r.out));
  return out;
}

} // namespace expd::gpu
