"""Benchmark points read from CSV, and the hardware profile TOML written from them."""

import math
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jevons.errors import JevonsError
from jevons.supply.csv_points import profiles_toml, read_points_csv
from jevons.supply.profiles import HardwareProfile

HEADER = (
    "gpu,model,precision,input_tokens,output_tokens,tokens_per_s_per_gpu,token_convention,"
    "interactivity,ttft_s,serving_stack,date,source"
)
# Three points of one profile (H200, DeepSeek-R1, FP8). The source cells hold a comma,
# doubled quotes (one quote each), a backslash and a newline inside a quoted cell.
THREE_POINTS = (
    HEADER
    + "\n"
    + 'h200-hgx,deepseek-r1,fp8,8192,1024,2453.9,input+output,9.425,,TRT-LLM,2026-01-14,"peak, TPOT 106.1 ms"\n'  # noqa: E501
    + 'h200-hgx,deepseek-r1,fp8,8192,1024,1200.5,input+output,20,3.25,SGLang,2026-02,"a ""quoted"" C:\\path"\n'  # noqa: E501
    + 'h200-hgx,deepseek-r1,fp8,1024,1024,80,output,35,,,,"two\nlines"\n'
)
KEY = "h200-hgx-deepseek-r1-fp8"
# (ISL, OSL, T, convention, interactivity, ttft_s, serving_stack, date, source) per row
EXPECTED = [
    (8192, 1024, 2453.9, "input+output", 9.425, None, "TRT-LLM", "2026-01-14",
     "peak, TPOT 106.1 ms"),
    (8192, 1024, 1200.5, "input+output", 20.0, 3.25, "SGLang", "2026-02",
     'a "quoted" C:\\path'),
    (1024, 1024, 80.0, "output", 35.0, None, "", "", "two\nlines"),
]  # fmt: skip


def write(tmp_path, content, name="points.csv"):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def via_toml(profiles, source="points.csv"):
    """The profiles as a scenario's loader sees them: TOML text, parsed, validated."""
    parsed = tomllib.loads(profiles_toml(profiles, source))
    return {key: HardwareProfile.model_validate({"key": key, **t}) for key, t in parsed.items()}


def test_three_points_round_trip_through_toml_with_their_exact_numbers(tmp_path):
    profiles = read_points_csv(write(tmp_path, THREE_POINTS))
    assert list(profiles) == [KEY]
    profile = via_toml(profiles)[KEY]
    assert profile.gpu == "h200-hgx"
    assert profile.cost_per_gpu_hour > 0 and profile.kind == "measured"
    got = [
        (p.input_tokens, p.output_tokens, p.tokens_per_s_per_gpu, p.token_convention,
         p.interactivity, p.ttft_s, p.serving_stack, p.date, p.source)
        for p in profile.points
    ]  # fmt: skip
    assert got == EXPECTED  # exact equality: no number or character altered on the way
    assert {(p.model, p.precision) for p in profile.points} == {("deepseek-r1", "fp8")}


def test_each_imported_point_is_reproduced_by_its_decode_rate(tmp_path):
    profile = via_toml(read_points_csv(write(tmp_path, THREE_POINTS)))[KEY]
    prefill = profile.prefill_rate
    for (isl, osl, rate, convention, *_), decode in zip(
        EXPECTED, profile.point_decode_rates(), strict=True
    ):
        counted = isl + osl if convention == "input+output" else osl
        measured_seconds = counted / rate  # GPU-seconds of one request at the point
        modelled_seconds = isl / prefill + osl / decode
        assert math.isclose(modelled_seconds, measured_seconds, rel_tol=1e-12)
    # the output-only point: 1024 / 80 = 12.8 GPU-s per request
    assert math.isclose(1024 / prefill + 1024 / profile.point_decode_rates()[2], 12.8)


def test_two_profiles_in_one_file_keep_file_order_and_their_own_rows(tmp_path):
    text = (
        "profile,gpu,model,precision,input_tokens,output_tokens,tokens_per_s_per_gpu,"
        "token_convention,interactivity\n"
        ",h200-hgx,llama-3.1-70b,fp8,1024,1024,900,input+output,40\n"
        "mine,h200-hgx,deepseek-r1,fp8,8192,1024,1000,input+output,10\n"
        ",h200-hgx,llama-3.1-70b,fp8,1024,1024,600,input+output,60\n"
        "mine,h200-hgx,deepseek-r1,fp8,8192,1024,500,input+output,30\n"
    )
    profiles = read_points_csv(write(tmp_path, text))
    # the default key holds dots, so the TOML quotes it
    assert list(profiles) == ["h200-hgx-llama-3.1-70b-fp8", "mine"]
    assert '["h200-hgx-llama-3.1-70b-fp8"]' in profiles_toml(profiles, "points.csv")
    loaded = via_toml(profiles)
    assert list(loaded) == ["h200-hgx-llama-3.1-70b-fp8", "mine"]
    llama, mine = loaded.values()
    assert [p.tokens_per_s_per_gpu for p in llama.points] == [900.0, 600.0]
    assert {p.model for p in llama.points} == {"llama-3.1-70b"}
    assert [p.tokens_per_s_per_gpu for p in mine.points] == [1000.0, 500.0]
    assert [p.interactivity for p in mine.points] == [10.0, 30.0]


def test_bom_crlf_blank_lines_and_spaces_around_cells_are_read(tmp_path):
    text = "\r\n".join([HEADER, "", " h200-hgx , deepseek-r1 ,fp8,8192,1024,2453.9,input+output,9.425,,,,", ""])  # fmt: skip  # noqa: E501
    profiles = read_points_csv(write(tmp_path, b"\xef\xbb\xbf" + text.encode()))
    [point] = profiles[KEY]["points"]
    assert point["tokens_per_s_per_gpu"] == 2453.9 and point["interactivity"] == 9.425
    assert "ttft_s" not in point and "source" not in point  # empty optional cells: not given


def test_optional_columns_may_be_left_out(tmp_path):
    text = (
        "gpu,model,precision,input_tokens,output_tokens,tokens_per_s_per_gpu,token_convention\n"
        "h200-hgx,deepseek-r1,fp8,8192,1024,90,input+output\n"
    )
    [point] = read_points_csv(write(tmp_path, text))[KEY]["points"]
    assert point == {
        "model": "deepseek-r1",
        "precision": "fp8",
        "input_tokens": 8192,
        "output_tokens": 1024,
        "tokens_per_s_per_gpu": 90.0,
        "token_convention": "input+output",
    }


GOOD = "h200-hgx,deepseek-r1,fp8,8192,1024,2453.9,input+output,9.425,,TRT-LLM,2026-01-14,x"


def with_cell(column, value):
    """GOOD with the cell of ``column`` replaced."""
    cells = GOOD.split(",")
    cells[HEADER.split(",").index(column)] = value
    return ",".join(cells)


BAD_ROWS = [
    # (rows after the header, expected message after the file name)
    ([GOOD, with_cell("tokens_per_s_per_gpu", "abc")],
     "row 3, column tokens_per_s_per_gpu: must be a number > 0, got 'abc'"),
    ([with_cell("tokens_per_s_per_gpu", "nan")],
     "row 2, column tokens_per_s_per_gpu: must be a number > 0, got 'nan'"),
    ([with_cell("tokens_per_s_per_gpu", "inf")],
     "row 2, column tokens_per_s_per_gpu: must be a number > 0, got 'inf'"),
    ([with_cell("tokens_per_s_per_gpu", "-5")],
     "row 2, column tokens_per_s_per_gpu: must be a number > 0, got '-5'"),
    ([with_cell("tokens_per_s_per_gpu", "0")],
     "row 2, column tokens_per_s_per_gpu: must be a number > 0, got '0'"),
    ([with_cell("input_tokens", "1_000")],
     "row 2, column input_tokens: must be a number > 0, got '1_000'"),
    ([with_cell("output_tokens", "0x10")],
     "row 2, column output_tokens: must be a number > 0, got '0x10'"),
    ([with_cell("ttft_s", "-1")], "row 2, column ttft_s: must be a number > 0, got '-1'"),
    ([with_cell("tokens_per_s_per_gpu", "1e400")],
     "row 2, column tokens_per_s_per_gpu: Input should be a finite number, got '1e400'"),
    ([with_cell("tokens_per_s_per_gpu", "0.0001")],
     "row 2, column tokens_per_s_per_gpu: Input should be greater than or equal to 0.001,"
     " got '0.0001'"),
    ([with_cell("interactivity", "2e6")],
     "row 2, column interactivity: Input should be less than or equal to 1000000, got '2e6'"),
    ([with_cell("precision", "fp16")],
     "row 2, column precision: Input should be 'bf16', 'fp8' or 'fp4', got 'fp16'"),
    ([with_cell("token_convention", "total")],
     "row 2, column token_convention: Input should be 'input+output' or 'output',"
     " got 'total'"),
    ([with_cell("token_convention", "")],
     "row 2, column token_convention: required, but the cell is empty"),
    ([GOOD, GOOD, with_cell("model", "")], "row 4, column model: required, but the cell is empty"),
    ([with_cell("gpu", "h300")], "row 2, column gpu: unknown gpu 'h300'; the catalog has: "),
    ([with_cell("model", "gpt-9")], "row 2, column model: unknown model 'gpt-9'; the catalog has: "),  # noqa: E501
    ([GOOD.rsplit(",", 3)[0]],
     "row 2, column serving_stack: missing (the row has 9 cells, the header 12 columns)"),
    ([GOOD + ",extra"], "row 2: 13 cells, but the header names 12 columns"),
    (["", GOOD, "", with_cell("date", '"unterminated')], "row 5: not valid CSV: unexpected end of data"),  # noqa: E501
    # row numbers are line numbers: a quoted cell over three lines moves the next row to 5
    ([with_cell("source", '"one\ntwo\nthree"'), with_cell("input_tokens", "x")],
     "row 5, column input_tokens: must be a number > 0, got 'x'"),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "expected"), BAD_ROWS)
def test_a_bad_row_gives_one_line_naming_row_and_column(tmp_path, rows, expected):
    path = write(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    with pytest.raises(JevonsError) as caught:
        read_points_csv(path)
    message = str(caught.value)
    assert "\n" not in message
    if expected.endswith("the catalog has: "):
        assert message.startswith(f"{path}: {expected}")
    else:
        assert message == f"{path}: {expected}"


BAD_FILES = [
    (b"", "empty file; expected a header row naming the columns gpu,model,precision,"),
    (b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n", "no points after the header row"),
    (HEADER.replace("interactivity", "tps").encode() + b"\n" + GOOD.encode(),
     "row 1, column 'tps': unknown column; the columns are gpu, model, "),
    (HEADER.replace("gpu", "GPU").encode() + b"\n" + GOOD.encode(),
     "row 1, column 'GPU': unknown column; "),
    (HEADER.replace(",token_convention", "").encode() + b"\n",
     "row 1: missing required column token_convention"),
    ((HEADER + ",date").encode() + b"\n", "row 1, column date: named twice"),
    ("\n".join([HEADER, GOOD, with_cell("source", "caf\xe9")]).encode("latin-1"),
     "row 3: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    (b"\xef\xbb\xbf" + f"{HEADER}\n\n{with_cell('date', 'caf')}".encode() + b"\xff",
     "row 3: not UTF-8 text (byte 0xff); save the file as UTF-8"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "expected"), BAD_FILES)
def test_a_bad_file_gives_one_line(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(JevonsError) as caught:
        read_points_csv(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {expected}")


def test_a_missing_file_gives_one_line(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(JevonsError, match=r"^.*nowhere\.csv: no such file$"):
        read_points_csv(path)


def test_a_point_no_decode_rate_reproduces_names_the_profile_and_its_row(tmp_path):
    # 8192 input tokens at H200's estimated prefill rate (about 9,200 tokens/s) take
    # about 0.89 GPU-s, more than the 9216 / 20000 = 0.46 s the point allows in all
    too_fast = with_cell("tokens_per_s_per_gpu", "20000").replace(",9.425,", ",50,")
    path = write(tmp_path, "\n".join([HEADER, GOOD, too_fast]))
    with pytest.raises(JevonsError) as caught:
        read_points_csv(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: row 3: hardware '{KEY}': the point 20000 tok/s/GPU")
    assert "no decode rate reproduces it" in message


def test_two_points_at_one_interactivity_name_the_second_row(tmp_path):
    rows = [GOOD, with_cell("interactivity", "20"), with_cell("interactivity", "9.425")]
    path = write(tmp_path, "\n".join([HEADER, *rows]))
    with pytest.raises(JevonsError) as caught:
        read_points_csv(path)
    assert str(caught.value) == (
        f"{path}: row 4: hardware '{KEY}': two points at the same interactivity"
    )


@pytest.mark.parametrize(
    ("column", "value"), [("gpu", "b200-hgx"), ("model", "llama-3.1-70b"), ("precision", "bf16")]
)
def test_a_row_unlike_its_profile_names_the_column(tmp_path, column, value):
    rows = [f"mine,{GOOD}", f"mine,{with_cell(column, value)}"]
    path = write(tmp_path, "\n".join([f"profile,{HEADER}", *rows]))
    with pytest.raises(JevonsError) as caught:
        read_points_csv(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: row 3, column {column}: profile 'mine' is of {column}")
    assert f"this row says '{value}'" in message


# The TOML writer, checked against tomllib.

AWKWARD = [
    'say "hi"',
    "C:\\new\\table",
    "line one\nline two\r\nline three",
    'tab\there, bell \x07, nul \x00, delete \x7f, escape \x1b, """',
    "\\u0041 is not A",
    "unicode: é, 中文, 🚀, \u2028",
    "",
    "'single' and # not a comment",
]


def test_the_writer_round_trips_awkward_strings_keys_and_numbers():
    profiles = {
        "a.b": {
            "key": "a.b",
            "gpu": "h200-hgx",
            "notes": AWKWARD[2],
            "points": [
                {
                    "model": text,
                    "input_tokens": 8192,
                    "tokens_per_s_per_gpu": rate,
                    "headline": flag,
                    "assumed": {"input_tokens": text, "odd key.x": 'q"uote'},
                }
                for text, rate, flag in zip(
                    AWKWARD,
                    [0.1, 1e-05, 1e16, 5e-324, 1.7976931348623157e308, 2453.9, 1 / 3, 90.0],
                    [True, False] * 4,
                    strict=True,
                )
            ],
        },
        'quote"key': {"gpu": "x"},
        "space key": {"gpu": "y"},
        "plain_Key-9": {"gpu": "z"},
    }
    parsed = tomllib.loads(profiles_toml(profiles, 'odd\nsource "name"'))
    expected = {key: {k: v for k, v in table.items() if k != "key"} for key, table in profiles.items()}  # fmt: skip  # noqa: E501
    assert parsed == expected
    rates = [p["tokens_per_s_per_gpu"] for p in parsed["a.b"]["points"]]
    assert [type(r) for r in rates] == [float] * 8  # 90.0 stays a float, 8192 an int
    assert type(parsed["a.b"]["points"][0]["input_tokens"]) is int


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    text=st.text(),
    key=st.text(min_size=1),
    number=st.floats(allow_nan=False, allow_infinity=False),
    count=st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
def test_the_writer_round_trips_any_string_key_and_number(text, key, number, count):
    profiles = {key: {"notes": text, "points": [{"source": text, "x": number, "n": count}]}}
    parsed = tomllib.loads(profiles_toml(profiles, text))
    assert parsed == {key: {"notes": text, "points": [{"source": text, "x": number, "n": count}]}}
    assert math.copysign(1.0, parsed[key]["points"][0]["x"]) == math.copysign(1.0, number)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_the_writer_refuses_a_number_toml_cannot_hold(value):
    with pytest.raises(ValueError, match="has no place in a profile"):
        profiles_toml({"k": {"points": [{"tokens_per_s_per_gpu": value}]}}, "s")


@pytest.mark.parametrize("value", [None, [1, 2], {"nested": {"deeper": 1}}])
def test_the_writer_refuses_a_type_it_does_not_write(value):
    with pytest.raises(TypeError, match="cannot write a"):
        profiles_toml({"k": {"gpu": value}}, "s")
