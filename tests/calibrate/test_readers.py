"""Trace readers: the shipped traces against their known figures and a plain re-read
with the standard library, hand-written files in each format, chunking, time order,
and every kind of bad input with its exact message."""

import csv
import gzip
import json
from datetime import UTC, datetime

import numpy as np
import pytest

from jevons.calibrate.readers import open_trace
from jevons.errors import JevonsError
from tests.conftest import TRACES

MOONCAKE = TRACES / "mooncake_conversation_trace.jsonl"
AZURE_CONV = TRACES / "azure_llm_inference_2023_conv.csv"
AZURE_CODE = TRACES / "azure_llm_inference_2023_code.csv"

FIELDS = ("line", "time_s", "input_tokens", "output_tokens", "failed", "session")


def read_all(trace):
    """Every chunk of one pass, joined, plus the chunk lengths."""
    chunks = list(trace.chunks())
    joined = {
        f: None
        if getattr(chunks[0], f) is None
        else np.concatenate([getattr(c, f) for c in chunks])
        for f in FIELDS
    }
    hashes = None if chunks[0].hash_ids is None else [h for c in chunks for h in c.hash_ids]
    return joined, hashes, [len(c) for c in chunks]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path, **options):
    with pytest.raises(JevonsError) as caught:
        _ = open_trace(path, **options).info  # the first pass reads and checks every row
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- the shipped traces -------------------------------------------------------------------


def test_mooncake_conversation_known_figures():
    trace = open_trace(MOONCAKE)
    rows, hashes, _ = read_all(trace)
    info = trace.info
    assert (info.format, info.rows, info.bad_rows, info.has_clock) == ("mooncake", 12031, 0, False)
    assert info.sorted_in_time
    # The trace README's figures, to the token.
    assert round(rows["input_tokens"].mean()) == 12035
    assert round(rows["output_tokens"].mean()) == 343
    np.testing.assert_array_equal(hashes[0], np.arange(14))
    assert rows["session"] is None and not rows["failed"].any()

    # A second reading with the json module, line by line.
    records = [json.loads(line) for line in MOONCAKE.read_text().splitlines()]
    np.testing.assert_array_equal(rows["time_s"], [r["timestamp"] / 1000 for r in records])
    np.testing.assert_array_equal(rows["input_tokens"], [r["input_length"] for r in records])
    np.testing.assert_array_equal(rows["output_tokens"], [r["output_length"] for r in records])
    assert all(list(h) == r["hash_ids"] for h, r in zip(hashes, records, strict=True))
    np.testing.assert_array_equal(rows["line"], np.arange(1, 12032))
    assert (info.start_s, info.end_s) == (0.0, records[-1]["timestamp"] / 1000)
    assert 3500 < info.span_s <= 3600  # about one hour


@pytest.mark.parametrize("path", [AZURE_CONV, AZURE_CODE], ids=["conv", "code"])
def test_azure_traces_match_a_csv_module_reading(path):
    trace = open_trace(path)
    rows, hashes, _ = read_all(trace)
    with open(path, newline="") as f:
        records = list(csv.DictReader(f))
    info = trace.info
    # Every line after the header is a request (the last one has no newline after it).
    assert info.rows == len(path.read_text().splitlines()) - 1 == len(records)
    assert (info.format, info.has_clock, info.sorted_in_time, hashes) == ("azure", True, True, None)
    np.testing.assert_array_equal(rows["input_tokens"], [int(r["ContextTokens"]) for r in records])
    np.testing.assert_array_equal(
        rows["output_tokens"], [int(r["GeneratedTokens"]) for r in records]
    )
    # Dates are UTC; datetime keeps microseconds, the file has tenths of them.
    expected = [
        datetime.strptime(r["TIMESTAMP"][:26], "%Y-%m-%d %H:%M:%S.%f")
        .replace(tzinfo=UTC)
        .timestamp()
        for r in records
    ]
    np.testing.assert_allclose(rows["time_s"], expected, rtol=0, atol=1e-6)
    assert 3400 < info.span_s < 3700  # about one hour
    assert datetime.fromtimestamp(info.start_s, UTC).strftime("%Y-%m-%d %H") == "2023-11-16 18"


def test_azure_conversation_row_count():
    assert open_trace(AZURE_CONV).info.rows == 19366
    assert open_trace(AZURE_CODE).info.rows == 8819


@pytest.mark.slow
@pytest.mark.parametrize("path", [MOONCAKE, AZURE_CONV], ids=["mooncake", "azure"])
def test_chunks_of_seven_rows_give_the_same_requests(path):
    whole, whole_hashes, whole_sizes = read_all(open_trace(path))
    small, small_hashes, small_sizes = read_all(open_trace(path, chunk_rows=7))
    assert len(whole_sizes) == 1 and max(small_sizes) == 7
    assert len(small_sizes) == -(-sum(whole_sizes) // 7)
    for field in FIELDS:
        if whole[field] is not None:
            np.testing.assert_array_equal(small[field], whole[field])
    if whole_hashes is not None:
        assert all(np.array_equal(a, b) for a, b in zip(small_hashes, whole_hashes, strict=True))


def test_a_trace_is_read_again_on_each_pass():
    trace = open_trace(AZURE_CODE, chunk_rows=1000)
    first, _, _ = read_all(trace)
    second, _, _ = read_all(trace)
    np.testing.assert_array_equal(first["time_s"], second["time_s"])
    np.testing.assert_array_equal(first["input_tokens"], second["input_tokens"])


# --- hand-written files in each format -----------------------------------------------------

BURSTGPT = """Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
5,ChatGPT,472,18,490,Conversation log
45,ChatGPT,1087,0,1087,Conversation log
45,GPT-4,417,276,693,API log
118.5,GPT-4,20,7,27,API log
"""


def test_burstgpt_reader_marks_zero_response_as_failed(tmp_path):
    trace = open_trace(write(tmp_path, "burst.csv", BURSTGPT))
    rows, hashes, _ = read_all(trace)
    assert (trace.info.format, trace.info.has_clock, trace.info.rows) == ("burstgpt", False, 4)
    np.testing.assert_array_equal(rows["time_s"], [5, 45, 45, 118.5])
    np.testing.assert_array_equal(rows["input_tokens"], [472, 1087, 417, 20])
    np.testing.assert_array_equal(rows["output_tokens"], [18, 0, 276, 7])
    np.testing.assert_array_equal(rows["failed"], [False, True, False, False])
    np.testing.assert_array_equal(rows["line"], [2, 3, 4, 5])
    assert (trace.info.start_s, trace.info.end_s, trace.info.span_s) == (5.0, 118.5, 113.5)
    # Equal times are not disorder.
    assert trace.info.sorted_in_time and hashes is None


def test_generic_csv_in_seconds_with_sessions(tmp_path):
    text = (
        "conv_id,ts,prompt_tokens,completion_tokens,extra\n"
        "b,0.5,10,1,x\na,1.0,20,2,y\nb,1.0,30,0,z\n\nc,2.25,40.0,4,w\n"
    )
    columns = {
        "time": "ts",
        "input": "prompt_tokens",
        "output": "completion_tokens",
        "session": "conv_id",
    }
    trace = open_trace(write(tmp_path, "g.csv", text), columns=columns)
    rows, _, _ = read_all(trace)
    assert (trace.info.format, trace.info.has_clock, trace.info.rows) == ("csv", False, 4)
    np.testing.assert_array_equal(rows["time_s"], [0.5, 1.0, 1.0, 2.25])
    np.testing.assert_array_equal(rows["input_tokens"], [10, 20, 30, 40])
    np.testing.assert_array_equal(rows["output_tokens"], [1, 2, 0, 4])
    # Only BurstGPT logs a zero output as a failure.
    assert not rows["failed"].any()
    # Sessions are labelled in order of first appearance: b, a, b, c.
    np.testing.assert_array_equal(rows["session"], [0, 1, 0, 2])
    np.testing.assert_array_equal(rows["line"], [2, 3, 4, 6])  # line 5 is blank


def test_generic_csv_with_dates(tmp_path):
    # 01:00:10 at +01:00 is 00:00:10 UTC: in time order only if the offset is applied.
    text = (
        "when,in,out\n"
        "2024-01-01T01:00:10+01:00,5,6\n2024-01-01 00:00:30Z,7,8\n2024-01-01 00:01:00.5,1,1\n"
    )
    trace = open_trace(
        write(tmp_path, "d.csv", text), columns={"time": "when", "input": "in", "output": "out"}
    )
    rows, _, _ = read_all(trace)
    # 2024-01-01T00:00:00Z: 19,723 days (54 years, 13 of them leap years) * 86,400 s.
    midnight_utc = 1704067200
    np.testing.assert_array_equal(
        rows["time_s"], [midnight_utc + 10, midnight_utc + 30, midnight_utc + 60.5]
    )
    assert trace.info.has_clock and trace.info.sorted_in_time


def test_format_can_be_forced(tmp_path):
    path = write(
        tmp_path,
        "a.txt",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-01-01 00:00:00,1,2\n2023-01-01 00:00:01,3,4\n",
    )
    assert open_trace(path, format="azure").info.format == "azure"
    message = error_of(path, format="burstgpt")
    assert message == (
        f"{path}: line 1: no columns 'Timestamp', 'Request tokens', 'Response tokens';"
        " expected a BurstGPT trace's columns (Timestamp, Request tokens, Response tokens),"
        " found TIMESTAMP, ContextTokens, GeneratedTokens"
    )


# --- time order ------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_rows", [2, 1_000_000])
def test_unsorted_rows_are_sorted_stably_and_flagged(tmp_path, chunk_rows):
    text = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
    times = [3, 1, 2, 1, 0, 2]
    for i, t in enumerate(times):
        text += f"{t},m,{100 + i},{i},0,x\n"
    trace = open_trace(write(tmp_path, "u.csv", text), chunk_rows=chunk_rows)
    rows, _, sizes = read_all(trace)
    assert not trace.info.sorted_in_time and trace.info.rows == 6
    np.testing.assert_array_equal(rows["time_s"], [0, 1, 1, 2, 2, 3])
    # Equal times keep file order: the two 1 s rows are lines 3 and 5, the 2 s rows lines 4 and 7.
    np.testing.assert_array_equal(rows["line"], [6, 3, 5, 4, 7, 2])
    np.testing.assert_array_equal(rows["input_tokens"], [104, 101, 103, 102, 105, 100])
    assert max(sizes) <= chunk_rows
    again, _, _ = read_all(trace)
    np.testing.assert_array_equal(again["line"], rows["line"])


def test_unsorted_mooncake_keeps_hashes_with_their_requests(tmp_path):
    lines = [
        {"timestamp": 20, "input_length": 2, "output_length": 1, "hash_ids": [7, 8]},
        {"timestamp": 10, "input_length": 1, "output_length": 1, "hash_ids": [7]},
        {"timestamp": 20, "input_length": 3, "output_length": 1, "hash_ids": [7, 8, 9]},
    ]
    path = write(tmp_path, "u.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    trace = open_trace(path, chunk_rows=1)
    rows, hashes, _ = read_all(trace)
    assert not trace.info.sorted_in_time
    np.testing.assert_array_equal(rows["time_s"], [0.01, 0.02, 0.02])
    assert [list(h) for h in hashes] == [[7], [7, 8], [7, 8, 9]]


# --- bad input ---------------------------------------------------------------------------------


def test_missing_file_and_folder(tmp_path):
    assert error_of(tmp_path / "nope.csv") == f"{tmp_path / 'nope.csv'}: no such file"
    assert error_of(tmp_path) == f"{tmp_path}: a folder, not a trace file"


@pytest.mark.parametrize("text", ["", "\n \n\n"], ids=["no-bytes", "blank-lines"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, "e.csv", text)
    assert error_of(path) == f"{path}: the file is empty"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n", "0 requests"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-01-01 00:00:00,1,2\n", "1 request"),
        ('{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": [1]}\n', "1 request"),
    ],
    ids=["header-only", "one-row", "one-json-line"],
)
def test_fewer_than_two_requests(tmp_path, text, count):
    path = write(tmp_path, "t.txt", text)
    assert error_of(path) == f"{path}: {count} read; a trace needs at least two requests"


def test_binary_files(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"TIMESTAMP,ContextTokens\n\x00\x01\x02\x03")
    assert error_of(path) == f"{path}: a binary file, not a text trace"
    path.write_bytes(gzip.compress(b"TIMESTAMP,ContextTokens,GeneratedTokens\n"))
    assert error_of(path) == f"{path}: a gzip-compressed file; decompress it first"
    path.write_bytes(
        b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-01-01 00:00:00,1,2\n\xff\xfe\xfa,1,2\n"
    )
    assert error_of(path) == f"{path}: line 3: not UTF-8 text (a binary file?)"


def test_undecodable_bytes_past_the_sniffed_start(tmp_path):
    good = "".join(f"{t},m,10,5,15,x\n" for t in range(20_000))  # well past the first 64 KiB
    path = tmp_path / "late.csv"
    path.write_bytes(
        b"Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
        + good.encode()
        + b"\xc3\x28,m,1,1,2,x\n"
    )
    assert error_of(path) == f"{path}: line 20002: not UTF-8 text (a binary file?)"


def test_unknown_columns_are_named(tmp_path):
    path = write(tmp_path, "u.csv", "ts,prompt,completion\n1,2,3\n2,3,4\n")
    assert error_of(path) == (
        "cannot tell the trace format from its first line (ts, prompt, completion): expected Azure"
        " columns (TIMESTAMP, ContextTokens, GeneratedTokens), BurstGPT columns (Timestamp, Request"
        " tokens, Response tokens), Mooncake JSON lines, or name the columns of a generic CSV:"
        " time=..., input=..., output=..."
    )
    columns = {"time": "ts", "input": "prompt_tokens", "output": "completion"}
    assert error_of(path, columns=columns) == (
        f"{path}: line 1: no column 'prompt_tokens'; expected the columns given (ts, prompt_tokens,"
        " completion), found ts, prompt, completion"
    )
    assert (
        error_of(path, columns={"time": "ts", "input": "prompt"})
        == "columns: no name given for output"
    )
    assert (
        error_of(path, columns={**columns, "user": "u"})
        == "unknown column key user; known: time, input, output, session"
    )
    assert error_of(path, format="csv") == (
        f"{path}: a generic CSV needs its columns named: time=..., input=..., output=..."
        " (session=... optional)"
    )
    assert (
        error_of(path, format="parquet")
        == "unknown trace format 'parquet'; known: mooncake, azure, burstgpt, csv"
    )
    assert (
        error_of(path, format="azure", columns=columns)
        == "columns apply to the generic 'csv' format, not 'azure'"
    )


AZURE_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\n"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("2023-11-16 18:15:47,-5,44", "'ContextTokens' is -5, a negative token count"),
        ("2023-11-16 18:15:47,12,-1", "'GeneratedTokens' is -1, a negative token count"),
        ("2023-11-16 18:15:47,abc,44", "'ContextTokens' is 'abc', not a number"),
        ("2023-11-16 18:15:47,12,", "'GeneratedTokens' is empty"),
        ("2023-11-16 18:15:47,3.5,44", "'ContextTokens' is '3.5', not a whole number of tokens"),
        ("2023-11-16 18:15:47,12,44,9", "4 fields where the header has 3"),
        ("2023-11-16 18:15:47,12", "2 fields where the header has 3"),
        ("yesterday,12,44", "'TIMESTAMP' is 'yesterday', not a date"),
    ],
    ids=[
        "negative-input",
        "negative-output",
        "text",
        "empty",
        "fraction",
        "extra-field",
        "short",
        "date",
    ],
)
def test_bad_csv_cells_name_the_line(tmp_path, row, problem):
    path = write(
        tmp_path,
        "bad.csv",
        AZURE_HEADER + "2023-11-16 18:15:46.9,1,1\n" + row + "\n2023-11-16 18:15:48,1,1\n",
    )
    assert error_of(path) == f"{path}: line 4: {problem}"


def test_bad_seconds_in_burstgpt(tmp_path):
    path = write(tmp_path, "b.csv", BURSTGPT + "soon,m,1,1,2,x\n")
    assert error_of(path) == f"{path}: line 6: 'Timestamp' is 'soon', not a number"
    path = write(tmp_path, "b.csv", BURSTGPT + "inf,m,1,1,2,x\n")
    assert error_of(path) == f"{path}: line 6: 'Timestamp' is 'inf', not a finite time"


MOONCAKE_HAS = "a Mooncake line has timestamp, input_length, output_length, hash_ids"
GOOD_LINE = '{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": [1]}'


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            '{"timestamp": 1, "input_length": -5, "output_length": 1, "hash_ids": [1]}',
            "'input_length' is -5, a negative token count",
        ),
        (
            '{"timestamp": 1, "input_length": 5, "output_length": 1',
            "not valid JSON (Expecting ',' delimiter at column 55)",
        ),
        (
            '{"timestamp": 1, "input_length": "5", "output_length": 1, "hash_ids": [1]}',
            "'input_length' is '5', not a number",
        ),
        (
            '{"timestamp": 1, "output_length": 1, "hash_ids": [1]}',
            "no key 'input_length'; " + MOONCAKE_HAS,
        ),
        (
            '{"timestamp": 1, "input_length": 5, "output_length": 1}',
            "no key 'hash_ids'; " + MOONCAKE_HAS,
        ),
        (
            '{"timestamp": 1, "input_length": 5, "output_length": 1.5, "hash_ids": [1]}',
            "'output_length' is 1.5, not a whole number of tokens",
        ),
        (
            '{"timestamp": 1, "input_length": 5, "output_length": 1, "hash_ids": ["a"]}',
            "'hash_ids' is not a list of whole numbers: ['a']",
        ),
        ("[1, 2]", "not a JSON object"),
    ],
    ids=[
        "negative",
        "truncated",
        "string",
        "no-input",
        "no-hashes",
        "fraction",
        "bad-hashes",
        "array",
    ],
)
def test_bad_json_lines_name_the_line(tmp_path, line, problem):
    path = write(tmp_path, "bad.jsonl", f"{GOOD_LINE}\n\n{line}\n{GOOD_LINE}\n")
    assert error_of(path) == f"{path}: line 3: {problem}"


def test_skip_bad_counts_and_keeps_the_first_message(tmp_path):
    path = write(
        tmp_path,
        "s.csv",
        AZURE_HEADER
        + "2023-11-16 18:15:47,-5,44\n2023-11-16 18:15:48,7,8\nx,1,1\n"
        + "2023-11-16 18:15:49,1\n2023-11-16 18:15:50,9,10\n",
    )
    for chunk_rows in (1, 2, 100):
        trace = open_trace(path, skip_bad=True, chunk_rows=chunk_rows)
        rows, _, _ = read_all(trace)
        info = trace.info
        assert (info.rows, info.bad_rows) == (3, 3)
        assert info.first_bad == f"{path}: line 3: 'ContextTokens' is -5, a negative token count"
        np.testing.assert_array_equal(rows["line"], [2, 4, 7])
        np.testing.assert_array_equal(rows["input_tokens"], [374, 7, 9])


def test_skip_bad_json_lines(tmp_path):
    path = write(tmp_path, "s.jsonl", f"{GOOD_LINE}\nnot json\n{GOOD_LINE}\n{{}}\n")
    trace = open_trace(path, skip_bad=True)
    assert (trace.info.rows, trace.info.bad_rows) == (2, 2)
    assert trace.info.first_bad == f"{path}: line 2: not valid JSON (Expecting value at column 1)"


def test_all_rows_bad_is_too_few_requests(tmp_path):
    path = write(tmp_path, "s.csv", AZURE_HEADER + "x,1,1\n")
    assert (
        error_of(path, skip_bad=True)
        == f"{path}: 1 request read (1 bad row skipped); a trace needs at least two requests"
    )


def test_chunk_rows_must_be_positive(tmp_path):
    path = write(tmp_path, "b.csv", BURSTGPT)
    assert error_of(path, chunk_rows=0) == "chunk_rows must be a whole number of at least 1, got 0"
