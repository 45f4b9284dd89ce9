import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed: PyTorch integration not tested")
from torch import nn  # noqa: E402

import dkm  # noqa: E402
from dkm.torch import DeepKMeans, conv_layers  # noqa: E402


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 5)
        self.conv2 = nn.Conv2d(4, 6, 5)
        self.head = nn.Linear(6 * 4 * 4, 3)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.head(x.flatten(1))


def make_net(seed=0):
    torch.manual_seed(seed)
    return Net()


def test_penalty_is_half_lambda_inertia_and_backward_pulls_rows():
    net = make_net()
    reg = DeepKMeans(net, k=3, lam=0.5, layers=["conv2"], seed=7)
    p = reg.penalty()
    rows = net.conv2.weight.detach().numpy().reshape(-1, 5)
    labels = reg.bases["conv2"]["labels"]
    means = np.stack([rows[labels == c].mean(0) for c in range(3)])
    inertia = float(((rows - means[labels]) ** 2).sum())
    assert p.item() == pytest.approx(0.25 * inertia, rel=1e-5)
    p.backward()
    expected = 0.5 * (rows - means[labels])
    np.testing.assert_allclose(net.conv2.weight.grad.numpy().reshape(-1, 5), expected, atol=1e-6)
    assert net.conv1.weight.grad is None


def test_refresh_every_n_calls():
    net = make_net()
    reg = DeepKMeans(net, k=2, lam=1e-3, refresh_every=3)
    assert reg.layers == ["conv1", "conv2"] == conv_layers(net)
    for _ in range(7):
        reg.penalty()
    assert reg.refreshes == 3  # calls 0, 3 and 6


def test_training_with_the_penalty_clusters_the_rows():
    net = make_net()
    reg = DeepKMeans(net, k=2, lam=1.0, layers=["conv2"], refresh_every=10)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    first = None
    for _ in range(60):
        loss = reg.penalty()
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert reg.penalty().item() < 0.01 * first


def test_spectral_warns_when_vacuous():
    net = make_net()
    with pytest.warns(UserWarning, match="vacuous"):
        reg = DeepKMeans(net, k=5, lam=1.0, variant="spectral", layers=["conv2"])
        value = reg.penalty()
    assert reg.vacuous() == ["conv2"]
    assert abs(value.item()) < 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DeepKMeans(net, k=2, variant="spectral", layers=["conv2"]).penalty()


def test_share_writes_a_container_that_decompresses_to_the_module_weights(tmp_path):
    net = make_net()
    reg = DeepKMeans(net, k={"conv1": 2, "conv2": 4}, names={"conv2": "second"})
    compressed = reg.share()
    assert [l["name"] for l in compressed["layers"]] == ["conv1", "second"]
    assert len(np.unique(net.conv2.weight.detach().numpy().reshape(-1, 5), axis=0)) == 4
    path = tmp_path / "net.dkmc"
    reg.write_container(path, compressed, "my-net")
    back = dkm.read_compressed(str(path))
    assert back["model"] == "my-net"
    weights = dkm.decompress(back)
    np.testing.assert_array_equal(weights["second.weight"], net.conv2.weight.detach().numpy())
    np.testing.assert_array_equal(weights["conv1.bias"], net.conv1.bias.detach().numpy())


def test_bad_arguments():
    net = make_net()
    with pytest.raises(ValueError, match="head"):
        DeepKMeans(net, k=2, layers=["head"])
    with pytest.raises(ValueError):
        DeepKMeans(net, k=2, variant="soft")
    with pytest.raises(ValueError):
        DeepKMeans(net, k=2, refresh_every=0)


def test_calibrate_and_activation_weighted_share(tmp_path):
    from dkm.torch import calibrate
    net = make_net()
    torch.manual_seed(1)
    batches = [torch.randn(3, 1, 12, 12) for _ in range(2)]
    stats = calibrate(net, batches)
    x = torch.cat(batches).double()
    assert stats["conv1"]["values_per_channel"] == 6 * 12 * 12
    np.testing.assert_allclose(stats["conv1"]["second_moment"], [(x * x).mean().item()], rtol=1e-12)
    np.testing.assert_allclose(stats["conv1"]["mean"], [x.mean().item()], rtol=1e-12)
    assert stats["conv2"]["second_moment"].shape == (4,)
    # Python computes the weights with the C++ code `dkm compress` uses: one per row, that row's channel.
    m2 = np.array([1.0, 4.0, 2.0, 8.0])
    w = dkm.activation_weights([6, 4, 5, 5], "row", m2.tolist())
    np.testing.assert_array_equal(w.reshape(6, 4, 5)[:, :, 0], np.tile((m2 / 8).astype(np.float32), (6, 1)))
    reg = DeepKMeans(net, k=4)
    compressed = reg.share(stats=stats)
    assert [l["weighting"] for l in compressed["layers"]] == ["activation", "activation"]
    path = tmp_path / "net.dkmc"
    reg.write_container(path, compressed, "my-net")
    assert [l["weighting"] for l in dkm.read_compressed(str(path))["layers"]] == ["activation", "activation"]
