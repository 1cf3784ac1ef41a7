"""Alternative: the circuits with einsum, the pattern with torch.where and an explicit scale, the accuracy by ranking each row."""

import torch
from transformer_lens import FactoredMatrix


def full_qk_circuit(model, layer):
    W_E, W_Q, W_K = model.W_E.detach(), model.W_Q[layer].detach(), model.W_K[layer].detach()
    return FactoredMatrix(torch.einsum("vd,hde->hve", W_E, W_Q), torch.einsum("hde,vd->hev", W_K, W_E))


def full_ov_circuit(model, layer):
    W_E, W_V, W_O, W_U = (model.W_E.detach(), model.W_V[layer].detach(), model.W_O[layer].detach(), model.W_U.detach())
    return FactoredMatrix(torch.einsum("vd,hde->hve", W_E, W_V), torch.einsum("hed,du->heu", W_O, W_U))


def positional_pattern(model, layer, head, n_positions):
    W_pos = torch.nn.functional.layer_norm(model.W_pos.detach()[:n_positions], (model.cfg.d_model,), eps=model.cfg.eps)
    q = W_pos @ model.W_Q[layer, head].detach()
    k = W_pos @ model.W_K[layer, head].detach()
    scores = torch.einsum("qe,ke->qk", q, k) * model.cfg.d_head ** -0.5
    pos = torch.arange(n_positions, device=scores.device)
    scores = torch.where(pos[None, :] <= pos[:, None], scores, torch.tensor(float("-inf"), device=scores.device))
    return torch.softmax(scores, dim=1)


def top_k_copying_accuracy(circuit, k=1, chunk=4096):
    n = circuit.A.shape[0]
    hits = 0
    for rows in torch.arange(n).split(chunk):
        logits = circuit.A[rows] @ circuit.B
        own = logits.gather(1, rows[:, None].to(logits.device))      # each row's own logit
        rank = (logits > own).sum(1)                                   # how many columns beat it
        hits += int((rank < k).sum())
    return float(hits) / n
