#pragma once

#include <memory>

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace expd::gpu {

/// What an adapter adds to a linear layer's output (LoRA's scaled B(A(dropout(x)))).
class linear_adapter {
public:
  virtual ~linear_adapter() = default;
  virtual at::Tensor forward(const at::Tensor& x) = 0;
};

/// A Linear whose output an adapter may add to. The decoder's projections are these, so
/// LoRA wraps a layer from outside without changing the model's parameter names;
/// LinearImpl::forward is not virtual, hence a type of its own.
class adaptable_linear_impl : public torch::nn::LinearImpl {
public:
  using torch::nn::LinearImpl::LinearImpl;

  at::Tensor forward(const at::Tensor& x) {
    auto y = torch::nn::LinearImpl::forward(x);
    return adapter_ ? y + adapter_->forward(x) : y;
  }

  /// Null removes the adapter.
  void set_adapter(std::shared_ptr<linear_adapter> adapter) {
    adapter_ = std::move(adapter);
  }

  const std::shared_ptr<linear_adapter>& adapter() const {
    return adapter_;
  }

private:
  std::shared_ptr<linear_adapter> adapter_;
};
TORCH_MODULE_IMPL(adaptable_linear, adaptable_linear_impl);

} // namespace expd::gpu
