"""loss_by_half splits one position late, so the first half takes the prediction of the second copy's
first token."""


def loss_by_half(log_probs: torch.Tensor, seq_len: int) -> tuple[float, float]:
    first = -log_probs[:, :seq_len + 1].mean().item()
    second = -log_probs[:, seq_len + 1:].mean().item()
    return first, second
