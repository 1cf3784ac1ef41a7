"""gram_schmidt subtracts the projections onto the original columns a_i instead of the orthonormalised
q_i."""


def gram_schmidt(a: torch.Tensor) -> torch.Tensor:
    columns = []
    for j in range(a.shape[1]):
        u = a[:, j].clone()
        for i in range(j):
            ai = a[:, i]
            u = u - (ai @ u) / (ai @ ai) * ai
        columns.append(u / u.norm())
    return torch.stack(columns, dim=1)
