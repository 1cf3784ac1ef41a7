"""train_mlp standardises with the raw std, which is 0 for the always-0 pixels, so 0 / 0 makes the
logits NaN and the accuracy meaningless."""


def train_mlp(X_train: torch.Tensor, y_train: torch.Tensor, seed: int) -> nn.Module:
    device = X_train.device
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    mean, std = X_train.mean(dim=0), X_train.std(dim=0)  # no epsilon: 4 pixels have std 0
    model = nn.Sequential(Standardize(mean, std), make_mlp(X_train.shape[1], 128, 10, device))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    n, batch = X_train.shape[0], 256
    model.train()
    for _ in range(10):
        perm = torch.randperm(n, generator=order).to(device)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            loss = nn.functional.cross_entropy(model(X_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model
