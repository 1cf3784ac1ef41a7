"""train_mlp shuffles the images and the labels with two different permutations, so images and labels
no longer match."""


def train_mlp(X_train: torch.Tensor, y_train: torch.Tensor, seed: int) -> nn.Module:
    device = X_train.device
    torch.manual_seed(seed)                   # the initial weights
    order = torch.Generator().manual_seed(seed)  # the minibatch order
    mean, std = X_train.mean(dim=0), X_train.std(dim=0) + 1e-3  # constant pixels: std 0
    model = nn.Sequential(Standardize(mean, std), make_mlp(X_train.shape[1], 128, 10, device))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    n, batch = X_train.shape[0], 256
    model.train()
    for _ in range(10):
        perm = torch.randperm(n, generator=order).to(device)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            idy = torch.randperm(n, generator=order).to(device)[i:i + batch]
            loss = nn.functional.cross_entropy(model(X_train[idx]), y_train[idy])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model
