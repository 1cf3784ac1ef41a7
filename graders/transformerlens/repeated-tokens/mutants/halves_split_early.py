"""loss_by_half splits one position early, so the second half takes the prediction of the first
copy's last token."""


def loss_by_half(log_probs: torch.Tensor, seq_len: int) -> tuple[float, float]:
    return _loss_by_half_at(log_probs, seq_len - 1)
