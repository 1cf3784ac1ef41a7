"""Each score as a masked sum over the pattern divided by the number of queries counted, instead
of a mean along a diagonal, and detect_heads scoring each layer inside a forward hook instead of
reading a cache. SCORERS is bound again below: it must hold these functions, not the solution's."""


def _masked_mean(pattern: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over batch and the counted queries of the attention on the masked entries: [n_heads]."""
    mask = mask.to(pattern.dtype)
    return (pattern * mask).sum(dim=(-2, -1)).mean(dim=0) / mask.sum()


def current_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    n = pattern.shape[-1]
    mask = torch.eye(n, device=pattern.device)
    mask[0, 0] = 0  # query 0 can attend only to itself: it says nothing
    return _masked_mean(pattern, mask)


def previous_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    n = pattern.shape[-1]
    return _masked_mean(pattern, torch.ones(n, n, device=pattern.device).tril(-1).triu(-1))


def first_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    n = pattern.shape[-1]
    mask = torch.zeros(n, n, device=pattern.device)
    mask[1:, 0] = 1
    return _masked_mean(pattern, mask)


SCORERS = {"current": current_token_scores, "previous": previous_token_scores, "first": first_token_scores}


def detect_heads(model, tokens: torch.Tensor, kind: str, threshold: float = 0.4) -> list[list[int]]:
    if kind not in SCORERS:
        raise ValueError(f"kind must be one of {sorted(SCORERS)}, got {kind!r}")
    scores = {}

    def score(pattern, hook):
        scores[hook.layer()] = SCORERS[kind](pattern.detach())

    with torch.no_grad():
        model.run_with_hooks(tokens, fwd_hooks=[(lambda name: name.endswith("attn.hook_pattern"), score)])
    table = torch.stack([scores[layer] for layer in range(model.cfg.n_layers)])  # [n_layers, n_heads]
    return (table > threshold).nonzero().tolist()
