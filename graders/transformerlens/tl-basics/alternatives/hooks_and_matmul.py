"""The activations through forward hooks instead of run_with_cache, the pattern with matmul and a
lower-triangular keep-mask instead of einsum and triu, and max(...).indices for the argmax."""


def _capture(model, tokens: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    seen: dict[str, torch.Tensor] = {}

    def saver(name: str):
        # keyed by the name asked for: a TransformerBridge's hook.name can be the hook's own name
        # rather than the alias (hook_q is an alias there)
        def save(activation, hook):
            seen[name] = activation.detach()
        return save

    with torch.no_grad():
        model.run_with_hooks(tokens, fwd_hooks=[(name, saver(name)) for name in names])
    return seen


def attention_pattern(model, tokens: torch.Tensor, layer: int) -> torch.Tensor:
    name = f"blocks.{layer}.attn.hook_pattern"
    return _capture(model, tokens, [name])[name]


def cached_qk(model, tokens: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    q, k = f"blocks.{layer}.attn.hook_q", f"blocks.{layer}.attn.hook_k"
    seen = _capture(model, tokens, [q, k])
    return seen[q], seen[k]


def pattern_from_qk(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    # [batch, pos, heads, d_head] -> [batch, heads, q_pos, d_head] @ [batch, heads, d_head, k_pos]
    scores = q.transpose(1, 2) @ k.permute(0, 2, 3, 1) / q.shape[-1] ** 0.5
    keep = torch.ones(q.shape[1], k.shape[1], dtype=torch.bool, device=q.device).tril()
    return torch.softmax(torch.where(keep, scores, torch.tensor(float("-inf"), device=q.device)), dim=-1)


def most_attended_position(pattern: torch.Tensor) -> torch.Tensor:
    return pattern.max(dim=-1).indices
