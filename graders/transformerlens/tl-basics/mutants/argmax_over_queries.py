"""most_attended_position takes the argmax over the query axis instead of the key axis."""


def most_attended_position(pattern: torch.Tensor) -> torch.Tensor:
    return pattern.argmax(dim=-2)
