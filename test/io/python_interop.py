"""Helper for test/io/safetensors.test.ts: runs the reference Python `safetensors` (and PyTorch if present).

Every command prints one JSON object on stdout. Tensor values travel as base64 of little-endian
float32 bytes, so the TypeScript side can compare them bit for bit.

  probe                  versions of safetensors / numpy / torch (exit 3 if safetensors or numpy is missing)
  read PATH              load PATH with safetensors.numpy; report dtype, shape, float32 bytes, metadata
  read-torch PATH        load PATH with safetensors.torch (PyTorch); same report
  resave IN OUT          load IN with safetensors.numpy and save it again to OUT with the reference writer
  write-numpy PATH       write F32/F64/F16 tensors with safetensors.numpy; report the float32 values expected
  write-torch PATH       write F32/F16/BF16 tensors with safetensors.torch; report the float32 values expected
"""
import base64
import json
import sys


def f32_report(arr, np):
    with np.errstate(over="ignore"):  # F64 values beyond the float32 range become inf, as in the TS reader
        a32 = np.array(arr, dtype=np.float32, order="C", copy=True)  # keeps 0-d shapes (ascontiguousarray does not)
    return {
        "shape": list(a32.shape),
        "f32": base64.b64encode(a32.astype("<f4").tobytes()).decode("ascii"),
    }


def probe():
    out = {"safetensors": None, "numpy": None, "torch": None}
    try:
        import numpy
        out["numpy"] = numpy.__version__
    except ImportError:
        pass
    try:
        import safetensors
        out["safetensors"] = getattr(safetensors, "__version__", "unknown")
    except ImportError:
        pass
    try:
        import torch
        out["torch"] = torch.__version__
    except ImportError:
        pass
    print(json.dumps(out))
    return 0 if out["safetensors"] and out["numpy"] else 3


def read(path, framework):
    import numpy as np
    from safetensors import safe_open

    tensors = {}
    with safe_open(path, framework=framework) as f:
        metadata = f.metadata() or {}
        for name in f.keys():
            t = f.get_tensor(name)
            if framework == "pt":
                dtype = str(t.dtype)
                t = t.float().numpy()
            else:
                dtype = str(t.dtype)
            rep = f32_report(t, np)
            rep["dtype"] = dtype
            tensors[name] = rep
    print(json.dumps({"tensors": tensors, "metadata": metadata}))
    return 0


def resave(src, dst):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(src, framework="np") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, dst, metadata=metadata)
    print(json.dumps({"ok": True}))
    return 0


def write_numpy(path):
    import numpy as np
    from safetensors.numpy import save_file

    tensors = {
        "layer.0.weight": (np.arange(12, dtype=np.float32).reshape(3, 4) / 7).astype(np.float32),
        "f64": np.array([1 / 3, -2.5e10, 1e-300, 1e300, -0.0], dtype=np.float64),
        "f16": np.array([[0.5, -0.0, 65504.0], [6e-8, np.inf, -1.5]], dtype=np.float16),
        "f16_nan": np.array([np.nan], dtype=np.float16),
        "scalar": np.array(2.75, dtype=np.float32),
        "empty": np.zeros((0, 5), dtype=np.float32),
    }
    metadata = {"format": "np", "epoch": "3"}
    save_file(tensors, path, metadata=metadata)
    expected = {k: dict(f32_report(v, np), dtype=str(v.dtype)) for k, v in tensors.items()}
    print(json.dumps({"tensors": expected, "metadata": metadata}))
    return 0


def write_torch(path):
    import numpy as np
    import torch
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(7)
    tensors = {
        "w.bf16": torch.randn(4, 3, generator=g).to(torch.bfloat16),
        "w.f16": torch.randn(2, 5, generator=g).to(torch.float16),
        "w.f32": torch.randn(6, generator=g),
        "bf16_special": torch.tensor([float("inf"), -0.0, 1e38, 1e-40], dtype=torch.bfloat16),
        "scalar": torch.tensor(-1.25),
    }
    metadata = {"format": "pt"}
    save_file(tensors, path, metadata=metadata)
    expected = {k: dict(f32_report(v.float().numpy(), np), dtype=str(v.dtype)) for k, v in tensors.items()}
    print(json.dumps({"tensors": expected, "metadata": metadata}))
    return 0


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "probe":
        return probe()
    if cmd == "read":
        return read(args[0], "np")
    if cmd == "read-torch":
        return read(args[0], "pt")
    if cmd == "resave":
        return resave(args[0], args[1])
    if cmd == "write-numpy":
        return write_numpy(args[0])
    if cmd == "write-torch":
        return write_torch(args[0])
    print(f"unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
