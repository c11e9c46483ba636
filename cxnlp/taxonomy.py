"""The label taxonomy: typed objects loaded from a TOML data file.

The default taxonomy ships inside the package (``resources/taxonomy.toml``)
and is the machine-readable form of the annotation guideline.  Everything that
needs the list of output keys (``friendliness+``, ``coldness``...) derives it
from :attr:`Taxonomy.keys`, the one place where keys are made.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

Kind = Literal["skill", "sin"]
Polarity = Literal["positive", "negative"]
KINDS: tuple[str, ...] = ("skill", "sin")
_LIST_FIELDS = ("cues", "cues_positive", "cues_negative", "implies", "implies_any")


class TaxonomyError(ValueError):
    """A taxonomy file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Label:
    """One taxonomy entry: a soft skill (two keys) or a sin (one key)."""

    name: str
    kind: Kind
    description: str
    positive: str | None = None
    negative: str | None = None
    cues: tuple[str, ...] = ()
    cues_positive: tuple[str, ...] = ()
    cues_negative: tuple[str, ...] = ()
    # Keys that always accompany this label (coldness -> friendliness-).
    implies: tuple[str, ...] = ()
    # At least one of these accompanies it; the first is the default
    # (apathy -> attentiveness- or empathy-, convention 12).
    implies_any: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        if self.kind == "skill":
            return (f"{self.name}+", f"{self.name}-")
        return (self.name,)

    def cues_for(self, key: str) -> tuple[str, ...]:
        if self.kind == "sin":
            return self.cues
        return self.cues_positive if key.endswith("+") else self.cues_negative

    def describe(self, key: str) -> str:
        """A natural-language description of one key, for zero-shot matching."""
        if self.kind == "sin":
            return self.description
        detail = self.positive if key.endswith("+") else self.negative
        return f"{self.description} {detail}"


@dataclass(frozen=True)
class KeyInfo:
    key: str
    label: str
    kind: Kind
    polarity: Polarity


@dataclass(frozen=True)
class Taxonomy:
    name: str
    version: str
    labels: tuple[Label, ...]
    description: str = ""
    guideline: str = ""
    source: str = field(default="<memory>", compare=False)

    # ------------------------------------------------------------------ keys
    @cached_property
    def keys(self) -> tuple[str, ...]:
        """The output keys, in taxonomy order: skills as ``name+``/``name-``, sins as ``name``."""
        return tuple(k for lab in self.labels for k in lab.keys)

    @cached_property
    def _info(self) -> dict[str, KeyInfo]:
        out = {}
        for lab in self.labels:
            for k in lab.keys:
                polarity: Polarity = "positive" if k.endswith("+") else "negative"
                out[k] = KeyInfo(k, lab.name, lab.kind, polarity)
        return out

    def info(self, key: str) -> KeyInfo:
        try:
            return self._info[key]
        except KeyError:
            raise KeyError(f"unknown label key {key!r}; known keys: {', '.join(self.keys)}") from None

    def label(self, name: str) -> Label:
        for lab in self.labels:
            if lab.name == name:
                return lab
        raise KeyError(f"unknown label {name!r}")

    @property
    def skills(self) -> tuple[Label, ...]:
        return tuple(lab for lab in self.labels if lab.kind == "skill")

    @property
    def sins(self) -> tuple[Label, ...]:
        return tuple(lab for lab in self.labels if lab.kind == "sin")

    # ---------------------------------------------------------- implications
    def implied(self, keys: Iterable[str]) -> set[str]:
        """Close a set of keys under the taxonomy's implications.

        ``implies`` keys are always added; for ``implies_any`` the first key is
        added only when none of the alternatives is already present.
        """
        out = set(keys)
        changed = True
        while changed:
            changed = False
            for lab in self.labels:
                if not set(lab.keys) & out:
                    continue
                extra = set(lab.implies)
                if lab.implies_any and not set(lab.implies_any) & out:
                    extra.add(lab.implies_any[0])
                if extra - out:
                    out |= extra
                    changed = True
        return out

    # ------------------------------------------------------------------- I/O
    @classmethod
    def default(cls) -> Taxonomy:
        ref = resources.files("cxnlp") / "resources" / "taxonomy.toml"
        return cls.from_toml(ref.read_text(encoding="utf-8"), source="cxnlp:resources/taxonomy.toml")

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """Load a taxonomy TOML file (or the default taxonomy when ``path`` is None)."""
        if path is None:
            return cls.default()
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TaxonomyError(f"{path}: cannot read taxonomy file ({exc.strerror})") from None
        return cls.from_toml(text, source=str(path))

    @classmethod
    def from_toml(cls, text: str, source: str = "<string>") -> Taxonomy:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TaxonomyError(f"{source}: not valid TOML ({exc})") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> Taxonomy:
        def fail(where: str, msg: str) -> TaxonomyError:
            return TaxonomyError(f"{source}: {where}: {msg}")

        for top in ("name", "version"):
            if not isinstance(data.get(top), str) or not data[top].strip():
                raise fail(f"field '{top}'", "missing or not a string")
        raw = data.get("labels")
        if not isinstance(raw, list) or not raw:
            raise fail("field 'labels'", "missing or empty (expected [[labels]] tables)")
        labels, names = [], set()
        known_fields = {f for f in Label.__dataclass_fields__}
        for i, entry in enumerate(raw):
            name = entry.get("name") if isinstance(entry, dict) else None
            where = f"labels[{i}]" + (f" ({name!r})" if name else "")
            if not isinstance(entry, dict):
                raise fail(where, "expected a table")
            unknown = set(entry) - known_fields
            if unknown:
                raise fail(f"{where} field '{sorted(unknown)[0]}'", "unknown field")
            if not isinstance(name, str) or not name.strip():
                raise fail(f"{where} field 'name'", "missing")
            if not name.replace("_", "").isalnum() or name != name.lower():
                raise fail(f"{where} field 'name'", "use lower-case letters, digits and '_'")
            if name in names:
                raise fail(f"{where} field 'name'", f"duplicate label name {name!r}")
            names.add(name)
            kind = entry.get("kind")
            if kind not in KINDS:
                raise fail(f"{where} field 'kind'", f"unknown kind {kind!r} (expected 'skill' or 'sin')")
            required = ["description"] + (["positive", "negative"] if kind == "skill" else [])
            for req in required:
                if not isinstance(entry.get(req), str) or not entry[req].strip():
                    raise fail(f"{where} field '{req}'", "missing description")
            for listy in _LIST_FIELDS:
                value = entry.get(listy, [])
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise fail(f"{where} field '{listy}'", "expected a list of strings")
            labels.append(
                Label(
                    name=name,
                    kind=kind,
                    description=entry["description"].strip(),
                    positive=(entry.get("positive") or "").strip() or None,
                    negative=(entry.get("negative") or "").strip() or None,
                    **{
                        k: tuple(entry.get(k, []))
                        for k in ("cues", "cues_positive", "cues_negative", "implies", "implies_any")
                    },
                )
            )
        tax = cls(
            name=data["name"],
            version=data["version"],
            labels=tuple(labels),
            description=str(data.get("description", "")).strip(),
            guideline=str(data.get("guideline", "")),
            source=source,
        )
        for i, lab in enumerate(tax.labels):
            for listy in ("implies", "implies_any"):
                for key in getattr(lab, listy):
                    if key not in tax._info:
                        raise fail(f"labels[{i}] ({lab.name!r}) field '{listy}'", f"unknown key {key!r}")
        return tax

    def to_dict(self) -> dict[str, Any]:
        labels = []
        for lab in self.labels:
            d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(lab).items()}
            labels.append({k: v for k, v in d.items() if v not in (None, [])})
        return {
            "name": self.name,
            "version": self.version,
            "guideline": self.guideline,
            "description": self.description,
            "labels": labels,
        }


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy file, or the default taxonomy when ``path`` is None."""
    return Taxonomy.load(path)
