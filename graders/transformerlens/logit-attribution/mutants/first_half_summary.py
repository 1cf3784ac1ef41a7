"""top_components_on_repeat ranks the components by their mean attribution over the FIRST copy instead
of the second."""


def top_components_on_repeat(attribution: torch.Tensor, seq_len: int, labels: list[str], k: int = 4) -> list[str]:
    second = attribution_by_half(attribution, seq_len)[0]
    return [labels[i] for i in second.topk(k).indices.tolist()]
