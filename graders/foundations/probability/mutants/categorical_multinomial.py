"""sample_categorical calls torch.multinomial instead of inverse-CDF sampling, which the exercise
forbids; its samples are reproducible and have the right frequencies."""


def sample_categorical(weights: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator(device=weights.device).manual_seed(seed)
    return torch.multinomial(weights, n, replacement=True, generator=g)
