"""ShiftRules validate on construction; load_rules reads TOML or YAML and names file and key."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from wfm.domain import OpeningHours, ShiftRules
from wfm.errors import InputError
from wfm.services.rules import load_rules


def test_defaults_are_the_issues() -> None:
    r = ShiftRules()
    assert (r.min_shift_h, r.max_shift_h, r.shift_step_min, r.start_grid_min) == (4, 10, 30, 15)
    assert (r.max_shifts_per_day, r.min_rest_h, r.max_days_week) == (1, 11, 5)
    assert r.max_consecutive_days == 6
    assert (r.lunch_over_h, r.lunch_min_min, r.lunch_max_min) == (6, 30, 60)
    assert (r.lunch_start_after_h, r.lunch_start_before_h) == (3, 5)
    assert (r.break_min, r.break_every_h, r.min_project_block_h) == (15, 4, 1)
    assert r.opening_for("any") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.min_shift_h = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"min_shift_h": 11}, "min_shift_h"),
        ({"min_shift_h": -1}, "min_shift_h"),
        ({"min_shift_h": 0}, "min_shift_h"),
        ({"shift_step_min": 0}, "shift_step_min"),
        ({"shift_step_min": 7.5}, "shift_step_min"),
        ({"start_grid_min": 7}, "start_grid_min"),
        ({"max_days_week": 8}, "max_days_week"),
        ({"max_shifts_per_day": True}, "max_shifts_per_day"),
        ({"lunch_min_min": 90}, "lunch_min_min"),
        ({"lunch_start_after_h": 6}, "lunch_start_after_h"),
        ({"break_every_h": 0}, "break_every_h"),
        ({"break_min": -15}, "break_min"),
        ({"min_rest_h": "11"}, "min_rest_h"),
        ({"opening": {"A": "08-20"}}, "opening"),
        ({"opening": {"": None}}, "opening"),
    ],
)
def test_bad_values_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        ShiftRules(**kwargs)
    assert err.value.field == field
    assert field in str(err.value)


def test_load_rules_reads_every_key_and_opening(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        "min_shift_h = 6\nmax_shift_h = 9.5\nshift_step_min = 15\nmin_rest_h = 12\n"
        "max_days_week = 4\n\n[opening.hotline]\nmon = '08:00-20:00'\nfri = '22:00-06:00'\n"
    )
    r = load_rules(path)
    assert (r.min_shift_h, r.max_shift_h, r.shift_step_min, r.min_rest_h) == (6, 9.5, 15, 12)
    assert r.max_days_week == 4 and r.lunch_over_h == 6  # untouched keys keep defaults
    hours = r.opening_for("hotline")
    assert isinstance(hours, OpeningHours)
    assert hours.hours == {1: (dt.time(8), dt.time(20)), 5: (dt.time(22), dt.time(6))}
    assert r.opening_for("other") is None


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("# nothing\n")
    assert load_rules(path) == ShiftRules()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("max_shift = 10\n", "max_shift"),
        ("[opening.hotline]\nmonday = '08:00-20:00'\n", "opening.hotline.monday"),
        ("max_days_week = 4.5\n", "max_days_week"),
        ("min_rest_h = '11'\n", "min_rest_h"),
        ("max_days_week = 9\n", "max_days_week"),
        ("min_shift_h = 12\n", "min_shift_h"),
        ("[opening.hotline]\nmon = '8-20'\n", "opening.hotline.mon"),
        ("opening = 3\n", "opening"),
    ],
)
def test_bad_keys_and_values_name_the_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_rules(path)
    assert str(path) in str(err.value)
    assert key in str(err.value)
    assert err.value.field == key


def test_missing_or_broken_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such rules file"):
        load_rules(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("min_shift_h = = 4\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_rules(bad)


def test_yaml_rules_read_like_toml(tmp_path: Path) -> None:
    yaml_file = tmp_path / "rules.yaml"
    yaml_file.write_text(
        "min_shift_h: 6\nmin_rest_h: 12\nopening:\n  hotline:\n"
        '    mon: "08:00-20:00"\n    fri: "22:00-06:00"\n',
        encoding="utf-8",
    )
    toml_file = tmp_path / "rules.toml"
    toml_file.write_text(
        'min_shift_h = 6\nmin_rest_h = 12\n[opening.hotline]\nmon = "08:00-20:00"\n'
        'fri = "22:00-06:00"\n',
        encoding="utf-8",
    )
    from_yaml, from_toml = load_rules(yaml_file), load_rules(toml_file)
    assert from_yaml.min_shift_h == 6 and from_yaml.min_rest_h == 12
    assert from_yaml.opening_for("hotline") == from_toml.opening_for("hotline")
    assert (tmp_path / "empty.yml").write_text("", encoding="utf-8") == 0
    assert load_rules(tmp_path / "empty.yml") == ShiftRules()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("min_shift_h: [4\n", "not valid YAML"),
        ("- 4\n- 5\n", "not a mapping"),
        ("shifts_h: 4\n", "unknown key 'shifts_h'"),
        ("min_shift_h: four\n", "min_shift_h"),
    ],
)
def test_bad_yaml_names_the_file_and_problem(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_rules(path)
    assert str(path) in str(info.value) and needle in str(info.value)
