"""PyTorch eager baseline for issue 10: one training step of glow-fmnist-small's architecture.

The same flow as the preset (packages/models/src/presets): squeeze, 8 steps of ActNorm ->
invertible 1x1 conv (LU) -> affine coupling (channel mask; CNN conditioner 3x3 conv, ReLU,
1x1 conv, ReLU, zero-initialised 3x3 conv scaled by exp(3 logs); sigmoid scale with floor 0.1),
a split with Glow's conditional prior (zero-initialised 3x3 conv, |log sigma| softly bounded by 5),
squeeze, 8 more steps, standard normal prior. Loss: mean NLL of a batch of dequantised
Fashion-MNIST-sized images; Adam. Prints the median step time and images/s.

  python3 apps/bench/reference/pytorch_glow_step.py [--batch 64] [--threads 2] [--steps 60]

Needs PyTorch (Debian: apt-get install python3-torch, 1.13.1). Not run by CI: its figure is
the baseline the bench's `train` task is compared with in the bench README.
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def squeeze(x):
    n, c, h, w = x.shape
    x = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * 4, h // 2, w // 2)


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x):
        hw = x.shape[2] * x.shape[3]
        return (x + self.bias) * torch.exp(self.logs), self.logs.sum() * hw


class InvConvLU(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = torch.linalg.qr(torch.randn(c, c))[0]
        p, l, u = torch.linalg.lu(w)
        s = torch.diag(u)
        self.register_buffer("p", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("l_mask", torch.tril(torch.ones(c, c), -1))
        self.register_buffer("eye", torch.eye(c))
        self.l = nn.Parameter(l)
        self.u = nn.Parameter(torch.triu(u, 1))
        self.log_s = nn.Parameter(torch.log(torch.abs(s)))

    def forward(self, x):
        l = self.l * self.l_mask + self.eye
        u = self.u * self.l_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        w = self.p @ l @ u
        return F.conv2d(x, w[:, :, None, None]), self.log_s.sum() * x.shape[2] * x.shape[3]


class Coupling(nn.Module):
    def __init__(self, c, hidden=64, floor=0.1):
        super().__init__()
        self.floor = floor
        self.c1 = nn.Conv2d(c // 2, hidden, 3, padding=1)
        self.c2 = nn.Conv2d(hidden, hidden, 1)
        self.c3 = nn.Conv2d(hidden, c, 3, padding=1)
        nn.init.zeros_(self.c3.weight)
        nn.init.zeros_(self.c3.bias)
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x):
        a, b = x.chunk(2, 1)
        h = F.relu(self.c1(a))
        h = F.relu(self.c2(h))
        h = self.c3(h) * torch.exp(3 * self.logs)
        shift, raw = h.chunk(2, 1)
        sigma = self.floor + (1 - self.floor) * torch.sigmoid(raw + 2)
        b = (b + shift) * sigma
        return torch.cat([a, b], 1), torch.log(sigma).flatten(1).sum(1)


class Split(nn.Module):
    def __init__(self, c, clamp=5.0):
        super().__init__()
        self.clamp = clamp
        self.conv = nn.Conv2d(c // 2, c, 3, padding=1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        z1, z2 = x.chunk(2, 1)
        mean, log_std = self.conv(z1).chunk(2, 1)
        log_std = self.clamp * torch.tanh(log_std / self.clamp)
        logp = -0.5 * (((z2 - mean) * torch.exp(-log_std)) ** 2 + 2 * log_std + math.log(2 * math.pi))
        return z1, logp.flatten(1).sum(1)


class Glow(nn.Module):
    def __init__(self, steps=8):
        super().__init__()
        self.level1 = nn.ModuleList([m for _ in range(steps) for m in (ActNorm(4), InvConvLU(4), Coupling(4))])
        self.split = Split(4)
        self.level2 = nn.ModuleList([m for _ in range(steps) for m in (ActNorm(8), InvConvLU(8), Coupling(8))])

    def forward(self, x):
        logdet = torch.zeros(x.shape[0])
        x = squeeze(x)
        for m in self.level1:
            x, ld = m(x)
            logdet = logdet + ld
        x, lp = self.split(x)
        logdet = logdet + lp
        x = squeeze(x)
        for m in self.level2:
            x, ld = m(x)
            logdet = logdet + ld
        prior = -0.5 * (x ** 2 + math.log(2 * math.pi)).flatten(1).sum(1)
        return -(prior + logdet).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=60)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Glow()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for i in range(args.steps + 5):
        x = (torch.randint(0, 256, (args.batch, 1, 28, 28)).float() + torch.rand(args.batch, 1, 28, 28)) / 256
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(x)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1e5)
        opt.step()
        if i >= 5:
            times.append(time.perf_counter() - t)
    med = statistics.median(times)
    q = statistics.quantiles(times, n=10)
    print(f"pytorch {torch.__version__} threads {args.threads} batch {args.batch}: step median {med * 1e3:.1f} ms "
          f"(p10-p90 {q[0] * 1e3:.1f}-{q[-1] * 1e3:.1f}), {args.batch / med:.0f} images/s, loss {loss.item():.1f}")


if __name__ == "__main__":
    main()
