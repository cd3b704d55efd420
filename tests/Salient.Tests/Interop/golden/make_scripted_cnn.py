"""Writes scripted-cnn.pt (a small CNN, torch.jit.script) and scripted-cnn.safetensors (PyTorch's own
logits and Vanilla Gradient maps of it), the golden files of ScriptedModelTests;
batch-dependent.pt, a module whose logits depend on the other images of the batch (what the
import's consistency check must notice); and layout-sensitive.pt, which does so only for
channels-last input, as this machine's kernels do for some modules (the import must then feed it NCHW). Run once with PyTorch (Debian's python3-torch 1.13);
the tests read the files and need no Python."""
import json
import struct

import torch


class SmallCnn(torch.nn.Module):
    """Not an architecture Salient builds: the point of a TorchScript import."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
        self.head = torch.nn.Linear(16, 3)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class BatchDependent(torch.nn.Module):
    """Subtracts the batch's mean image: alone, every image becomes zero."""

    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(3, 3)

    def forward(self, x):
        centred = x - x.mean(0, keepdim=True)
        return self.head(centred.mean((2, 3)))


class LayoutSensitive(torch.nn.Module):
    """Mixes the batch only when its input is channels-last."""

    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(3, 3)

    def forward(self, x):
        logits = self.head(x.mean((2, 3)))
        if x.is_contiguous(memory_format=torch.channels_last):
            logits = logits + (x - x.mean(0, keepdim=True)).mean((1, 2, 3)).unsqueeze(1)
        return logits


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


torch.manual_seed(0)
model = SmallCnn()
with torch.no_grad():  # BatchNorm statistics that are not the identity, so eval mode matters
    model.features[1].running_mean.uniform_(-0.2, 0.2)
    model.features[1].running_var.uniform_(0.5, 1.5)
model.eval()
torch.jit.script(model).save("scripted-cnn.pt")
torch.jit.script(BatchDependent().eval()).save("batch-dependent.pt")
torch.jit.script(LayoutSensitive().eval()).save("layout-sensitive.pt")

# Pixel-space images; the model takes model space, (x - mean) / std, as the import is told.
mean = torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)
std = torch.tensor([0.25, 0.2, 0.3]).view(1, 3, 1, 1)
pixels = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
targets = torch.tensor([0, 2, 1, 0])
x = ((pixels - mean) / std).requires_grad_()
logits = model(x)
logits.gather(1, targets.view(-1, 1)).sum().backward()
vg = x.grad.abs().sum(1)  # SPEC.md §4: |∂f_c/∂x| in model space, summed over channels
write_safetensors("scripted-cnn.safetensors", {"pixels": pixels, "targets": targets, "logits": logits.detach(), "vg": vg})
