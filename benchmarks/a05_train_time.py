"""How long one epoch of a05's CNN takes to train, on whatever device there is (CPU or GPU).

    python benchmarks/a05_train_time.py                 # 2 epochs of CIFAR-10's size, the second timed
    python benchmarks/a05_train_time.py --device cpu --threads 2 --epochs 1

Self-contained: needs only torch and numpy (no torchvision, no course package, no data set).  It
takes ``Model``, ``calculate_loss`` and ``train`` from the solution notebook
(``solutions/a05_mlp_cnn.ipynb``: the cells that define them, run as they are), and trains on
synthetic CIFAR-shaped data (50,000 training and 10,000 test images of shape (3, 32, 32) in [0, 1],
labels 0..9) through ``torch.utils.data.DataLoader`` with the notebook's batch sizes (256 for
training, 1024 for the test loss), exactly as the notebook's ``train`` runs an epoch: every training
step, the test loss and the saved weights.  Prints the device, one Adam step, and seconds per epoch;
the figures go into the notebook's text ("Сколько времени занимает обучение").
"""
from __future__ import annotations

import argparse
import ast
import json
import tempfile
import time
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "a05_mlp_cnn.ipynb"
WANTED = {"Model", "calculate_loss", "train"}


def notebook_definitions(path: Path = NOTEBOOK) -> dict:
    """Model, calculate_loss and train of the notebook, defined by running their cells (and the
    cell with the torch imports) in a fresh namespace."""
    import numpy as np
    import torch

    namespace = {"np": np, "torch": torch, "WEIGHTS_PATH": "a05_cifar_model.pt", "__name__": "a05"}
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    for cell in cells:
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics: not a defining cell
            continue
        defines = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        imports_torch = any(isinstance(n, (ast.Import, ast.ImportFrom)) and "torch" in ast.unparse(n)
                            for n in tree.body)
        if defines & WANTED or (imports_torch and not defines):
            exec(compile(source, f"{path.name}:{cell.get('id')}", "exec"), namespace)
    missing = WANTED - set(namespace)
    if missing:
        raise SystemExit(f"{path}: no cell defines {sorted(missing)}")
    return namespace


def synthetic_loaders(n_train: int, n_test: int, batch_size: int, device):
    """DataLoaders of random CIFAR-shaped images (the notebook's make_loaders, without the data)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(0)
    train = TensorDataset(torch.rand(n_train, 3, 32, 32, generator=g), torch.randint(0, 10, (n_train,), generator=g))
    test = TensorDataset(torch.rand(n_test, 3, 32, 32, generator=g), torch.randint(0, 10, (n_test,), generator=g))
    pin = device.type == "cuda"
    return (DataLoader(train, batch_size=batch_size, shuffle=True, pin_memory=pin),
            DataLoader(test, batch_size=1024, shuffle=False, pin_memory=pin))


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="cpu, cuda (default: cuda when available)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (CPU)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs to run (at least 1); the last one is timed")
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    ns = notebook_definitions()
    torch.manual_seed(0)
    model = ns["Model"]().to(device)
    params = sum(p.numel() for p in model.parameters())
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); torch {torch.__version__}; Model: {params:,} parameters")

    X = torch.rand(args.batch_size, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch_size,), device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = []
    for _ in range(6):
        _sync(device)
        start = time.perf_counter()
        loss = ns["calculate_loss"](X, y, model)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        _sync(device)
        steps.append(time.perf_counter() - start)
    step = sorted(steps[1:])[len(steps[1:]) // 2]
    print(f"one Adam step, batch {args.batch_size}: {step:.3f} s (median of 5 after a warm-up step)")

    train_loader, test_loader = synthetic_loaders(args.n_train, args.n_test, args.batch_size, device)
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.epochs):
            _sync(device)
            start = time.perf_counter()
            ns["train"](model, train_loader, test_loader, epochs=1, weights_path=str(Path(tmp) / "w.pt"))
            _sync(device)
            times.append(time.perf_counter() - start)
    per_epoch = times[-1]
    print(f"one epoch ({args.n_train:,} training + {args.n_test:,} test images): {per_epoch:.1f} s"
          f" (epochs: {', '.join(f'{t:.1f}' for t in times)} s)")
    print(f"20 epochs (the notebook's train): about {20 * per_epoch / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
