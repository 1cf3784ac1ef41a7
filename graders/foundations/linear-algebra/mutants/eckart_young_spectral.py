"""eckart_young_error returns the first dropped singular value (the spectral-norm error) instead of the
Frobenius error."""


def eckart_young_error(m: torch.Tensor, r: int) -> torch.Tensor:
    s = torch.linalg.svdvals(m)
    return s[r] if r < s.numel() else s.new_zeros(())
