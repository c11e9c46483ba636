from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from cxnlp import Taxonomy, TaxonomyError, load_taxonomy
from cxnlp.taxonomy import Label

DEFAULT_TOML = Path(__file__).resolve().parents[1] / "cxnlp" / "resources" / "taxonomy.toml"


def guideline_names(labels_md: Path) -> tuple[list[str], list[str]]:
    """Label names from the two tables of LABELS.md (first column, in backticks)."""
    text = labels_md.read_text(encoding="utf-8")
    skills_part, sins_part = text.split("## Albrecht")
    sins_part = sins_part.split("## Rules")[0]
    pat = re.compile(r"^\| `([a-z_]+)` \|", re.M)
    return pat.findall(skills_part), pat.findall(sins_part)


def test_default_matches_guideline(labels_md: Path) -> None:
    tax = Taxonomy.default()
    skills, sins = guideline_names(labels_md)
    assert [lab.name for lab in tax.skills] == skills
    assert [lab.name for lab in tax.sins] == sins
    assert len(skills) == 10 and len(sins) == 7


def test_keys_derived_from_labels() -> None:
    tax = load_taxonomy()
    assert len(tax.keys) == 27
    assert tax.keys[:2] == ("proactivity+", "proactivity-")
    assert "coldness" in tax.keys and "coldness+" not in tax.keys
    info = tax.info("empathy-")
    assert (info.label, info.kind, info.polarity) == ("empathy", "skill", "negative")
    assert tax.info("runaround").polarity == "negative"
    with pytest.raises(KeyError, match="unknown label key"):
        tax.info("kindness+")


def test_every_label_is_described() -> None:
    for lab in Taxonomy.default().labels:
        assert len(lab.description) > 20
        if lab.kind == "skill":
            assert lab.positive and lab.negative and lab.cues_positive and lab.cues_negative
        else:
            assert lab.cues


def test_implications_follow_the_guideline() -> None:
    tax = Taxonomy.default()
    assert tax.implied({"coldness"}) == {"coldness", "friendliness-"}
    # apathy needs attentiveness- or empathy-; attentiveness- is the default (convention 12)
    assert tax.implied({"apathy"}) == {"apathy", "attentiveness-"}
    assert tax.implied({"apathy", "empathy-"}) == {"apathy", "empathy-"}
    assert tax.implied({"friendliness+"}) == {"friendliness+"}


def test_round_trip_through_dict() -> None:
    tax = Taxonomy.default()
    again = Taxonomy.from_dict(tax.to_dict())
    assert again == tax
    assert again.keys == tax.keys


def _write(tmp_path: Path, mutate) -> Path:
    data = tomllib.loads(DEFAULT_TOML.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "broken.toml"
    path.write_text(_dump(data), encoding="utf-8")
    return path


def _dump(data: dict) -> str:
    """Minimal TOML writer for the taxonomy's shape (strings and lists of strings)."""

    def val(v):
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"{k} = {val(v)}" for k, v in data.items() if k != "labels"]
    for lab in data.get("labels", []):
        lines.append("[[labels]]")
        lines += [f"{k} = {val(v)}" for k, v in lab.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["labels"].append(dict(d["labels"][0])), "duplicate label name 'proactivity'"),
        (
            lambda d: d["labels"][3].update(kind="virtue"),
            "labels[3] ('friendliness') field 'kind': unknown kind 'virtue'",
        ),
        (lambda d: d["labels"][4].pop("description"), "labels[4] ('empathy') field 'description': missing"),
        (lambda d: d["labels"][0].pop("negative"), "labels[0] ('proactivity') field 'negative': missing"),
        (lambda d: d["labels"][12].update(implies=["warmth-"]), "field 'implies': unknown key 'warmth-'"),
        (lambda d: d["labels"][1].update(colour="red"), "field 'colour': unknown field"),
        (lambda d: d.pop("name"), "field 'name': missing"),
    ],
)
def test_invalid_taxonomy_is_one_line_naming_file_and_field(tmp_path: Path, mutate, message: str) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(TaxonomyError) as exc:
        Taxonomy.load(path)
    text = str(exc.value)
    assert "\n" not in text
    assert text.startswith(str(path))
    assert message in text


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="bad.toml: not valid TOML"):
        Taxonomy.load(bad)
    with pytest.raises(TaxonomyError, match="nope.toml: cannot read"):
        Taxonomy.load(tmp_path / "nope.toml")


def test_custom_taxonomy(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "retail"\nversion = "0.1"\n'
        '[[labels]]\nname = "upselling"\nkind = "sin"\ndescription = "Pushing extras the customer did not ask for."\n'
        '[[labels]]\nname = "tidiness"\nkind = "skill"\ndescription = "Store kept tidy by staff."\n'
        'positive = "tidy"\nnegative = "messy"\n',
        encoding="utf-8",
    )
    tax = Taxonomy.load(path)
    assert tax.keys == ("upselling", "tidiness+", "tidiness-")
    assert isinstance(tax.labels[0], Label)
