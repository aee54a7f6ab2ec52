import pytest
import torch

from colorizer.models import ConvVAE, SkipConnectionAutoencoder, UNet
from colorizer.models.base import pad_to_multiple

SIZES = [64, 150, 160, 224]


def build(name: str, size: int) -> torch.nn.Module:
    return {"vae": lambda: ConvVAE(image_size=size), "cae": SkipConnectionAutoencoder, "unet": UNet}[name]()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["vae", "cae", "unet"])
def test_output_shape_and_range(name: str, size: int) -> None:
    torch.manual_seed(0)
    net = build(name, size).eval()
    L = torch.rand(2, 1, size, size)
    with torch.no_grad():
        output = net.colorize(L)
    assert output.ab.shape == (2, 2, size, size)
    assert output.ab.std() > 0, "the output should depend on the input, not be constant"
    assert (output.kl is not None) == (name == "vae")


def test_vae_samples_in_training_and_uses_the_mean_in_eval() -> None:
    torch.manual_seed(0)
    net = ConvVAE(image_size=32, dropout=0.0)
    L = torch.rand(2, 1, 32, 32)
    net.train()
    first, second = net(L), net(L)
    assert not torch.allclose(first, second), "training should sample the latent"
    net.eval()
    assert torch.equal(net(L), net(L))
    assert net.colorize(L).kl.ndim == 0 and torch.isfinite(net.colorize(L).kl)


def test_vae_rejects_a_size_it_was_not_built_for() -> None:
    with pytest.raises(ValueError, match="image_size=64"):
        ConvVAE(image_size=64)(torch.rand(1, 1, 128, 128))


def test_unet_depth_and_input_concatenation() -> None:
    net = UNet(base_width=8, depth=5, concat_input=True).eval()
    assert net.to_ab_features.in_channels == 9, "L joins the last decoder features"
    for size in ((50, 70), (17, 33), (64, 64)):  # five levels halve four times: padded inside, cropped back
        assert net(torch.rand(1, 1, *size)).shape == (1, 2, *size)


def test_padding_reflects_and_keeps_small_inputs_working() -> None:
    image = torch.arange(12.0).view(1, 1, 3, 4)
    padded = pad_to_multiple(image, 4)
    assert padded.shape == (1, 1, 4, 4)
    assert torch.equal(padded[..., :3, :], image)
    assert pad_to_multiple(torch.rand(1, 1, 1, 1), 8).shape == (1, 1, 8, 8)


def test_a_unet_checkpoint_that_calls_its_last_conv_head_still_loads() -> None:
    net = UNet(base_width=4, depth=3).eval()
    state = {k.replace("to_ab_features.", "head."): v for k, v in net.state_dict().items()}
    assert "head.weight" in state and "to_ab_features.weight" not in state
    again = UNet(base_width=4, depth=3).eval()
    again.load_state_dict(state)
    inputs = torch.rand(1, 1, 16, 16)
    assert torch.equal(again(inputs), net(inputs))
