"""Reference solution for reverse-engineer-induction: measure, never name, the heads."""

import torch

from mi_exercise.models.induction import load_circuits_model, load_induction_model, repeated_tokens  # noqa: F401

SEQ_LEN = 20


def attention_patterns(model, seq_len: int = SEQ_LEN) -> list[torch.Tensor]:
    """Each layer's pattern [batch, n_heads, T, T] on 8 sequences [BOS] + seq + seq."""
    tokens = repeated_tokens(seq_len, batch=8, seed=0, d_vocab=model.cfg.d_vocab)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens.to(next(model.parameters()).device))
    return [cache[f"blocks.{layer}.attn.hook_pattern"].float().cpu() for layer in range(model.cfg.n_layers)]


def head_roles(patterns, seq_len: int = SEQ_LEN, threshold: float = 0.4) -> tuple[list, list]:
    """(previous-token heads, induction heads): mean attention one back, and seq_len - 1 back from the
    second copy's queries (the token after the earlier occurrence), above threshold."""
    previous, induction = [], []
    for layer, pattern in enumerate(patterns):
        prev = pattern.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(0, -1))
        ind = pattern.diagonal(offset=-(seq_len - 1), dim1=-2, dim2=-1)[..., -seq_len:].mean(dim=(0, -1))
        previous += [[layer, h] for h in range(pattern.shape[1]) if prev[h] > threshold]
        induction += [[layer, h] for h in range(pattern.shape[1]) if ind[h] > threshold]
    return previous, induction


def best_offset(pattern: torch.Tensor, queries: torch.Tensor, anchors: torch.Tensor, offsets) -> int:
    """The offset d for which a head's mean attention from each query to key anchor + d is largest."""
    def mean_at(d):
        keys = anchors + d
        ok = (keys >= 0) & (keys <= queries)
        return pattern[:, queries[ok], keys[ok]].mean().item()
    return max(offsets, key=mean_at)


def head_offsets(patterns, previous, induction, seq_len: int = SEQ_LEN) -> dict:
    T = patterns[0].shape[-1]
    queries, second = torch.arange(1, T), torch.arange(1 + seq_len, T)
    prev = [best_offset(patterns[l][:, h], queries, queries, range(-4, 2)) for l, h in previous]
    ind = [best_offset(patterns[l][:, h], second, second - seq_len, range(-2, 3)) for l, h in induction]
    most = lambda xs: max(set(xs), key=xs.count) if xs else 0  # noqa: E731
    return {"previous_token": most(prev), "induction": most(ind)}


def composition_score(A: torch.Tensor, B: torch.Tensor) -> float:
    return float((A @ B).norm() / (A.norm() * B.norm()))


def random_baseline(d_model: int, d_head: int, n_samples: int = 200) -> float:
    gen = torch.Generator().manual_seed(0)

    def rand():
        return torch.randn(d_model, d_head, generator=gen) @ torch.randn(d_head, d_model, generator=gen)
    return sum(composition_score(rand(), rand()) for _ in range(n_samples)) / n_samples


def k_composition_pairs(model, previous, induction, ratio: float = 1.5) -> list:
    """(previous-token head, later induction head) pairs whose K-composition beats ratio x a baseline of
    random products of a head's shapes."""
    with torch.no_grad():
        W_QK = (model.W_Q @ model.W_K.transpose(-1, -2)).cpu()
        W_OV = (model.W_V @ model.W_O).cpu()
    baseline = random_baseline(model.cfg.d_model, model.cfg.d_head)
    return [[list(p), list(i)] for p in previous for i in induction
            if p[0] < i[0] and composition_score(W_OV[p[0], p[1]], W_QK[i[0], i[1]].T) > ratio * baseline]


def find_circuit(model) -> dict:
    patterns = attention_patterns(model)
    previous, induction = head_roles(patterns)
    return {"previous_token_heads": previous, "induction_heads": induction,
            "k_composition": k_composition_pairs(model, previous, induction),
            "offsets": head_offsets(patterns, previous, induction)}
