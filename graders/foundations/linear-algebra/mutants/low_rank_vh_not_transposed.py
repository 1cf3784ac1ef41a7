"""low_rank_approx treats vh as V and transposes it again, taking columns of vh instead of its rows."""


def low_rank_approx(m: torch.Tensor, r: int) -> torch.Tensor:
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    return u[:, :r] @ torch.diag(s[:r]) @ vh[:, :r].T
