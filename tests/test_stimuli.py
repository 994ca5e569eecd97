"""Stimulus export: trial screens in the study's layout and a manifest a platform can load."""
from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from xaibook.errors import DataFormatError, DataNotFoundError, ParameterError
from xaibook.stimuli import (CONDITIONS, GENERIC_COLUMNS, MANIFEST_COLUMNS, NGUYEN_COLUMNS, compose_panel,
                             decision_text, load_manifest, write_stimulus_set)

DS = 64  # display size in the tests
GAP = 12


def _trials(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({
        "trial_id": [f"ImageNet-{i:03d}" for i in range(n)], "dataset": "ImageNet",
        "image_type": ["natural", "natural", "adversarial"][:n], "difficulty": ["Easy", "Hard", "Medium"][:n],
        "ai_label": ["tabby", "lorikeet", "tench"][:n], "ai_confidence": [0.873, 0.2, 0.55][:n],
        "true_label": ["tabby", "macaw", "goldfish"][:n], "ai_correct": [True, False, False][:n],
        "source_id": [f"ILSVRC2012_val_{i + 1:08d}" for i in range(n)]})


def _inputs(n: int = 3, side: int = 32):
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 3, side, side, generator=g)
    maps = {m: torch.rand(n, 1, side, side, generator=g) for m in ("GradCAM", "EP", "SOD")}
    neighbours = [[torch.rand(3, side, side, generator=g) for _ in range(3)] for _ in range(n)]
    return images, maps, neighbours


def test_manifest_is_loadable_and_every_file_exists(tmp_path):
    images, maps, nbs = _inputs()
    path = write_stimulus_set(tmp_path / "set", _trials(), images, maps=maps, neighbours=nbs, display_size=DS)
    df = load_manifest(path)
    assert list(df.columns) == list(MANIFEST_COLUMNS)
    assert len(df) == 3 * len(CONDITIONS)
    assert set(df["condition"]) == set(CONDITIONS)
    # every listed file exists and opens as an image of the expected width
    widths = {"Confidence": DS, "GradCAM": 2 * DS + GAP, "EP": 2 * DS + GAP, "SOD": 2 * DS + GAP,
              "3-NN": 4 * DS + 3 * GAP}
    for row in df.itertuples():
        with Image.open(path.parent / row.stimulus) as im:
            assert im.size[0] == widths[row.condition]
        with Image.open(path.parent / row.image) as im:
            assert im.size == (DS, DS)
    # the answer key: accept a right label, reject a wrong one
    assert (df["answer"] == np.where(df["ai_correct"], "Yes", "No")).all()
    assert df.loc[df["trial_id"] == "ImageNet-000", "ai_text"].iloc[0] == "87% tabby"
    assert df["known_question"].iloc[0] == "Have you ever seen a tabby before?"
    # file names carry no answer
    assert not df["stimulus"].str.contains("tabby|lorikeet|tench|macaw|goldfish").any()
    readme = (path.parent / "README.txt").read_text()
    assert all(f"  {c}: {v}" in readme for c, v in MANIFEST_COLUMNS.items())


def test_nguyen_set_is_an_instance_of_the_generic_manifest(tmp_path):
    """The generic columns first, Nguyen's after; the question and options of the Gorilla sheet."""
    images, maps, nbs = _inputs()
    path = write_stimulus_set(tmp_path, _trials(), images, maps=maps, neighbours=nbs, display_size=DS)
    df = load_manifest(path)
    assert list(df.columns) == list(GENERIC_COLUMNS) + list(NGUYEN_COLUMNS)
    assert (df["study"] == "nguyen2021").all() and (df["phase"] == "test").all()
    assert all(o == ["Yes", "No"] for o in df["options"])
    first = df[df["trial_id"] == "ImageNet-001"]
    assert (first["question"] == "Is this lorikeet?").all() and (first["answer"] == "No").all()
    # the parts of each screen: an explanation only with a heatmap, examples only with 3-NN
    heat = df["condition"].isin(["GradCAM", "EP", "SOD"])
    assert (df.loc[heat, "explanation"] != "").all() and (df.loc[~heat, "explanation"] == "").all()
    assert df["examples"].map(len).eq(np.where(df["condition"] == "3-NN", 3, 0)).all()
    for row in df[heat | (df["condition"] == "3-NN")].itertuples():
        for f in ([row.explanation] if row.explanation else []) + row.examples:
            with Image.open(tmp_path / f) as im:
                assert im.size == (DS, DS)
    # the explanation tile is the screen's second tile
    row = df[df["condition"] == "EP"].iloc[0]
    screen = np.asarray(Image.open(tmp_path / row["stimulus"]))
    tile = np.asarray(Image.open(tmp_path / row["explanation"]))
    assert (screen[-DS:, DS + GAP:2 * DS + GAP] == tile).all()


def test_load_manifest_reports_missing_files_and_columns(tmp_path):
    images, maps, nbs = _inputs(2)
    path = write_stimulus_set(tmp_path, _trials(2), images, maps=maps, neighbours=nbs, display_size=DS,
                              conditions=("Confidence", "GradCAM"))
    assert len(load_manifest(path)) == 4
    (tmp_path / "stimuli" / "GradCAM" / "ImageNet-001.png").unlink()
    with pytest.raises(DataFormatError, match="missing"):
        load_manifest(path)
    assert len(load_manifest(path, check_files=False)) == 4
    pd.read_csv(path).drop(columns=["answer"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataFormatError, match="answer"):
        load_manifest(tmp_path / "bad.csv")
    with pytest.raises(DataNotFoundError):
        load_manifest(tmp_path / "nothing.csv")


def test_heatmap_tile_is_red_where_the_map_is_one_and_white_where_zero():
    """Hand-computed pixels: a flat grey image has no edges, so the base is white; the map is
    the opacity of its own Reds colour (matplotlib's colour map is the reference)."""
    image = torch.full((3, 32, 32), 0.5)
    heat = torch.zeros(1, 32, 32)
    heat[:, :, 16:] = 1.0
    panel = np.asarray(compose_panel(image, "x", 0.5, heatmap=heat, display_size=DS))
    title_h = panel.shape[0] - DS
    tile = panel[title_h:, DS + GAP:]
    red = np.round(np.asarray(matplotlib.colormaps["Reds"](1.0)[:3]) * 255)
    assert np.abs(tile[DS // 2, DS - 4].astype(float) - red).max() <= 1
    assert (tile[DS // 2, 4] == 255).all()
    # the input image tile is the image itself (grey 0.5 -> 128)
    assert np.abs(panel[title_h + DS // 2, DS // 2].astype(int) - 128).max() <= 1
    # the title "50% x" is drawn in black over the image only
    title = panel[:title_h]
    assert (title[:, :DS] < 100).any() and not (title[:, DS:] < 100).any()


def test_three_nn_screen_titles_the_examples():
    image = torch.full((3, 16, 16), 1.0)
    nbs = [torch.full((3, 16, 16), 1.0)] * 3
    panel = np.asarray(compose_panel(image, "tabby", 0.9, neighbours=nbs, display_size=DS))
    title = panel[: panel.shape[0] - DS]
    assert (title[:, DS + GAP:] < 100).any()  # "Three examples of tabby"
    assert panel.shape[1] == 4 * DS + 3 * GAP


def test_bad_input_is_refused(tmp_path):
    images, maps, nbs = _inputs(2)
    with pytest.raises(ParameterError, match="unique"):
        write_stimulus_set(tmp_path, _trials(2).assign(trial_id="same"), images, maps=maps, neighbours=nbs)
    with pytest.raises(ParameterError, match="lack the columns"):
        write_stimulus_set(tmp_path, _trials(2).drop(columns=["ai_label"]), images, maps=maps, neighbours=nbs)
    with pytest.raises(ParameterError, match="EP"):
        write_stimulus_set(tmp_path, _trials(2), images, maps={"GradCAM": maps["GradCAM"]}, neighbours=nbs,
                           conditions=("GradCAM", "EP"))
    with pytest.raises(ParameterError, match="3-NN"):
        write_stimulus_set(tmp_path, _trials(2), images, maps=maps, conditions=("3-NN",))
    with pytest.raises(ParameterError, match="either"):
        compose_panel(images[0], "x", 0.5, heatmap=maps["EP"][0], neighbours=nbs[0])
    with pytest.raises(ParameterError, match="confidence"):
        decision_text("x", 1.5)
