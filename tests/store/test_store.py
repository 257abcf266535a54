"""The class store, on a real SQLite file and a real PostgreSQL server (each test runs on both):
who can see and change what, what is kept and for how long."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time

import pytest
from sqlalchemy import create_engine, event, inspect

from lrclass import Outcome, Store, Student, TooManyTries, codes, names
from lrclass import store as store_module

pytestmark = pytest.mark.store

SETTINGS = {"lesson": "limit", "step_size": "0.0005", "iterations": "50000"}
RUN = Outcome(final_loss=45000.5, epochs_to_1pct=6617, diverged=False, distance=0.25)


def token(n: int) -> str:
    return f"browser-token-{n:04d}-" + "x" * 20


def test_the_schema_is_created_on_start(db_url):
    engine = create_engine(db_url)
    assert inspect(engine).get_table_names() == []
    Store(db_url).close()
    assert sorted(inspect(engine).get_table_names()) == ["lr_classes", "lr_failures", "lr_students"]
    engine.dispose()


# --- class codes ---------------------------------------------------------------------------


def test_codes_are_six_letters_without_look_alikes():
    drawn = [codes.new_code() for _ in range(2000)]
    assert all(re.fullmatch(r"[A-Z]{6}", code) for code in drawn)
    assert set("".join(drawn)) == set(codes.ALPHABET)  # every letter is used
    assert not set(codes.ALPHABET) & set("ILO01")


def test_a_code_is_read_in_any_case_with_spaces_or_dashes():
    assert codes.normalise("abc-def") == "ABCDEF"
    assert codes.normalise(" Hjk Mnp ") == "HJKMNP"
    for bad in ("ABCDE", "ABCDEFG", "ABCDEI", "ABC0EF", "", None, 123456, "A" * 100):
        assert codes.normalise(bad) is None


def test_a_class_is_found_by_its_code_in_any_case(store):
    code, key = store.create_class(SETTINGS)
    assert store.board(code.lower(), key).code == code
    assert store.join(f" {code[:3].lower()}-{code[3:]} ", token(1)).code == code


# --- the teacher's key -----------------------------------------------------------------------


def test_the_key_has_128_bits_or_more_and_only_its_hash_is_stored(store, raw):
    code, key = store.create_class(SETTINGS)
    other_code, other_key = store.create_class(SETTINGS)
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) * 8 >= 128
    assert key != other_key
    rows = raw("SELECT * FROM lr_classes")
    assert len(rows) == 2
    assert not any(key in str(value) for row in rows for value in row)
    stored = raw("SELECT key_hash FROM lr_classes WHERE code = :code", code=code)
    assert stored == [(hashlib.sha256(key.encode()).hexdigest(),)]


def test_a_wrong_or_missing_key_gets_the_same_answer_as_an_unknown_class(store):
    code, key = store.create_class(SETTINGS)
    other_code, other_key = store.create_class(SETTINGS)
    unknown = next(c for c in iter(codes.new_code, None) if c not in (code, other_code))
    answers = [
        store.board(code, None),
        store.board(code, ""),
        store.board(code, key[:-1] + ("A" if key[-1] != "A" else "B")),
        store.board(code, key.upper() if key.upper() != key else key.lower()),
        store.board(code, other_key),
        store.board(code, key * 20),
        store.board(unknown, key),
        store.board("not a code", key),
    ]
    assert answers == [None] * len(answers)
    assert store.board(code, key).settings == SETTINGS


def test_the_key_reaches_no_log_line_and_no_repr(store, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, SQLAlchemy's engine and pool included
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    try:
        code, key = store.create_class(SETTINGS)
        store.board(code, key)
        store.board(code, "wrong")
        store.pause(code, key)
        student = store.join(code, token(1))
        store.record(student, SETTINGS, RUN)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)
    assert caplog.records  # the engine did log its statements
    assert key not in caplog.text and token(1) not in caplog.text
    assert token(1) not in repr(student) and key not in repr(store)


# --- students -----------------------------------------------------------------------------


def test_the_same_browser_token_is_the_same_student_in_every_worker(stores, raw):
    first, second = stores(), stores()  # two workers on one database
    code, _ = first.create_class(SETTINGS)
    me = first.join(code, token(1))
    assert second.join(code, token(1)) == me  # a reload, another worker, a second tab
    neighbour = second.join(code, token(2))  # the link forwarded: another browser
    assert neighbour.id != me.id
    assert raw("SELECT count(*) FROM lr_students") == [(2,)]
    hashes = {h for (h,) in raw("SELECT token_hash FROM lr_students")}
    assert hashes == {hashlib.sha256(token(n).encode()).hexdigest() for n in (1, 2)}


def test_the_same_token_in_another_class_is_another_student(store):
    code, _ = store.create_class(SETTINGS)
    other, _ = store.create_class(SETTINGS)
    assert store.join(code, token(1)).id != store.join(other, token(1)).id


def test_generated_names_are_two_words_and_differ_within_a_class(store):
    code, _ = store.create_class(SETTINGS)
    joined = [store.join(code, token(n)).name for n in range(60)]
    assert len(set(joined)) == 60
    for name in joined:
        colour, animal = name.split(" ")
        assert colour in names.COLOURS and animal in names.ANIMALS


def test_a_name_is_kept_as_plain_text_of_at_most_24_characters(store):
    code, key = store.create_class(SETTINGS)
    student = store.join(code, token(1))
    markup = "<b>*Ada*</b> [x](y)"
    assert store.rename(student, markup).name == markup
    assert [r.name for r in store.students(code)] == [markup]
    renamed = store.rename(student, "Ann\u202e\x00\nLee\t" + "x" * 40)
    assert renamed.name == ("Ann Lee " + "x" * 40)[:24] and len(renamed.name) == 24
    assert store.join(code, token(1)).name == renamed.name  # a reload keeps the chosen name
    for empty in ("", "   ", "\x00\u200b"):
        with pytest.raises(ValueError, match="name"):
            store.rename(student, empty)
    assert [r.name for r in store.students(code)] == [renamed.name]


# --- runs ---------------------------------------------------------------------------------


def test_a_run_is_one_row_per_student_with_its_settings_and_outcome(store, raw):
    code, _ = store.create_class(SETTINGS)
    student = store.join(code, token(1))
    assert store.record(student, {**SETTINGS, "step_size": "0.001"}, RUN)
    [row] = store.students(code)
    assert row.settings == {**SETTINGS, "step_size": "0.001"} and row.step_size == 0.001
    assert (row.final_loss, row.epochs_to_1pct, row.diverged, row.distance) == tuple(
        vars(RUN).values()
    )
    assert raw("SELECT count(*) FROM lr_students") == [(1,)]


def test_each_read_gives_settings_of_its_own(store):
    """The store parses a row's settings once (the board reads every row every 2 s); a
    reader that changes what it got changes no other reader's rows."""
    code, _ = store.create_class(SETTINGS)
    store.record(store.join(code, token(1)), SETTINGS, RUN)
    [first] = store.students(code)
    first.settings["step_size"] = "9"
    [again] = store.students(code)
    assert again.settings == SETTINGS and again.settings is not first.settings


def test_writes_within_a_second_wait_and_the_last_one_is_written(store, clock):
    """Property: a run is skipped only when a newer run of the same student supersedes it
    within the second; flush() writes the last at once."""
    code, _ = store.create_class(SETTINGS)
    student = store.join(code, token(1))
    steps = ["0.0001", "0.0002", "0.0003"]
    assert store.record(student, {"step_size": steps[0]}, RUN)  # written at once
    for step in steps[1:]:
        clock.advance(0.3)
        assert not store.record(student, {"step_size": step}, RUN)  # kept, not yet written
    assert store.students(code)[0].settings == {"step_size": steps[0]}
    store.flush()
    assert store.students(code)[0].settings == {"step_size": steps[-1]}


def test_a_waiting_run_is_written_by_itself_when_its_second_is_over(store, clock):
    code, _ = store.create_class(SETTINGS)
    student = store.join(code, token(1))
    store.record(student, {"step_size": "0.1"}, RUN)
    clock.advance(0.5)
    store.record(student, {"step_size": "0.2"}, RUN)  # no flush(): the store's writer does it
    assert store.students(code)[0].step_size == 0.1
    clock.advance(0.5)
    assert wait_for(lambda: store.students(code)[0].step_size == 0.2)


def test_a_kept_run_is_written_by_the_stores_thread_at_once_then_once_a_second(store, clock):
    """The page's way (keep): no write in the caller's thread, the first run written at once
    by the store's thread (the clock does not move), later ones once the student's second is
    over, the last one always."""
    code, _ = store.create_class(SETTINGS)
    student = store.join(code, token(1))
    store.keep(student, {"step_size": "0.1"}, RUN)
    assert wait_for(lambda: store.students(code)[0].step_size == 0.1)
    for step in ("0.2", "0.3"):
        clock.advance(0.3)
        store.keep(student, {"step_size": step}, RUN)
    assert store.students(code)[0].step_size == 0.1  # within the second: waits
    clock.advance(0.4)
    assert wait_for(lambda: store.students(code)[0].settings == {"step_size": "0.3"})


def wait_for(condition, timeout: float = 20.0) -> bool:
    """Whether `condition()` became true within `timeout` real seconds (polled)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_student_writes_only_their_own_row(store):
    code, key = store.create_class(SETTINGS)
    me, other = store.join(code, token(1)), store.join(code, token(2))
    store.record(other, {"step_size": "0.0004"}, RUN)
    forged = Student(code, me.token, other.id, other.name)  # another's id, my token
    store.record(forged, {"step_size": "0.9"}, Outcome(None, None, True, None))
    rows = {r.id: r for r in store.students(code)}
    assert rows[other.id].step_size == 0.0004 and rows[other.id].diverged is False
    assert rows[me.id].step_size == 0.9 and rows[me.id].diverged is True
    # a student's token is no teacher's key: the class cannot be paused or ended with it
    assert not store.pause(code, me.token) and not store.end(code, me.token)
    assert store.board(code, key).paused is False and len(store.students(code)) == 2


def test_sizes_are_bounded(store):
    code, _ = store.create_class(SETTINGS)
    student = store.join(code, token(1))
    too_big = [
        {"points": "1," * 9000},
        {f"s{i}": "1" for i in range(100)},
        {"x" * 100: "1"},
        {"step_size": 0.1},
    ]
    for settings in too_big:
        with pytest.raises(ValueError, match="settings"):
            store.record(student, settings, RUN)
        with pytest.raises(ValueError, match="settings"):
            store.create_class(settings)
    for bad in ("short", "t" * 500, None):
        with pytest.raises(ValueError, match="token"):
            store.join(code, bad)


# --- the class: pause, end, expiry, guessing -------------------------------------------------


def test_pause_and_resume_are_seen_by_every_worker(stores):
    teacher, worker = stores(), stores()
    code, key = teacher.create_class(SETTINGS)
    student = worker.join(code, token(1))
    assert worker.status(student) == "open"
    assert not teacher.pause(code, "not the key") and worker.status(student) == "open"
    assert teacher.pause(code, key)
    assert worker.status(student) == "paused" and worker.board(code, key).paused
    assert teacher.resume(code, key)
    assert worker.status(student) == "open" and not worker.board(code, key).paused


def test_a_workers_recent_status_reads_its_classes_once_per_watch_for_all_students(stores, clock):
    """What a student's page reads at every run: the class's state as its worker last read
    it. The worker reads every class its pages asked about once per WATCH_INTERVAL, in one
    query, however many students ask; another worker's pause, resume and end reach it within
    that, its own at once, and so does the class's end by the clock."""
    teacher, worker = stores(), stores()
    code, key = teacher.create_class(SETTINGS)
    other, _ = teacher.create_class(SETTINGS, ttl_hours=1)
    students = [worker.join(code, token(n)) for n in range(30)]
    elsewhere = worker.join(other, token(99))
    reads = []
    event.listen(
        worker._engine,
        "before_cursor_execute",
        lambda _conn, _cursor, sql, *_: reads.append(sql) if "lr_classes" in sql else None,
    )
    started = time.monotonic()
    for _ in range(40):
        assert {worker.recent_status(s) for s in [*students, elsewhere]} == {"open"}
        time.sleep(0.05)
    watches = (time.monotonic() - started) / store_module.WATCH_INTERVAL
    assert 2 <= len(reads) <= 2 + watches + 1  # the first ask of each class, then the watcher
    assert teacher.pause(code, key)
    assert wait_for(lambda: worker.recent_status(students[0]) == "paused")
    assert {worker.recent_status(s) for s in students} == {"paused"}
    assert worker.recent_status(elsewhere) == "open"
    assert teacher.resume(code, key)
    assert wait_for(lambda: worker.recent_status(students[0]) == "open")
    assert worker.pause(code, key) and worker.recent_status(students[0]) == "paused"
    assert worker.resume(code, key) and worker.recent_status(students[0]) == "open"
    clock.advance(3600)  # the other class's hour is over
    assert wait_for(lambda: worker.recent_status(elsewhere) is None)
    assert teacher.end(code, key)
    assert wait_for(lambda: worker.recent_status(students[0]) is None)


def test_ending_a_class_deletes_its_rows_and_no_others(store, raw):
    code, key = store.create_class(SETTINGS)
    other, other_key = store.create_class(SETTINGS)
    for n in range(3):
        store.record(store.join(code, token(n)), SETTINGS, RUN)
    stays = store.join(other, token(9))
    assert store.end(code, key)
    assert raw("SELECT code FROM lr_classes") == [(other,)]
    assert raw("SELECT code FROM lr_students") == [(other,)]
    assert store.board(code, key) is None and store.join(code, token(1)) is None
    student = Student(code, token(1), 1, "Gone")
    store.record(student, SETTINGS, RUN)  # a late run of an ended class writes nothing
    assert store.status(student) is None
    assert raw("SELECT count(*) FROM lr_students WHERE code = :c", c=code) == [(0,)]
    assert store.status(stays) == "open"


def test_a_class_ends_after_its_hours_and_its_rows_are_deleted(store, clock, raw):
    code, key = store.create_class(SETTINGS, ttl_hours=1)
    long, long_key = store.create_class(SETTINGS)  # 12 hours
    student = store.join(code, token(1))
    store.record(student, SETTINGS, RUN)
    clock.advance(3599)
    assert store.board(code, key) is not None and store.status(student) == "open"
    clock.advance(1)
    assert store.board(code, key) is None and store.join(code, token(2)) is None
    assert store.status(student) is None
    assert store.expire() == 1
    assert raw("SELECT code FROM lr_classes") == [(long,)]
    assert raw("SELECT count(*) FROM lr_students") == [(0,)]
    clock.advance(11 * 3600)
    assert store.board(long, long_key) is None
    assert store.expire() == 1 and raw("SELECT count(*) FROM lr_classes") == [(0,)]


def test_failed_look_ups_are_limited_across_workers(stores, clock):
    one, two = stores(), stores()
    code, key = one.create_class(SETTINGS)
    guesses = iter(c for c in iter(codes.new_code, None) if c != code)
    for n in range(store_module.FAILURES_PER_MINUTE):
        worker = (one, two)[n % 2]
        assert worker.join(next(guesses), token(n), client="10.0.0.7") is None
    for worker in (one, two):  # even the right code and key get no answer now
        with pytest.raises(TooManyTries):
            worker.join(code, token(1), client="10.0.0.7")
        with pytest.raises(TooManyTries):
            worker.board(code, key, client="10.0.0.7")
    assert two.board(code, key, client="10.0.0.8") is not None  # another client is not held
    clock.advance(60)
    assert one.join(code, token(1), client="10.0.0.7") is not None


def test_failed_look_ups_from_everyone_together_are_limited(stores, monkeypatch):
    monkeypatch.setattr(store_module, "ALL_FAILURES_PER_MINUTE", 12)
    one, two = stores(), stores()
    code, key = one.create_class(SETTINGS)
    unknown = "ZZZZZZ" if code != "ZZZZZZ" else "YYYYYY"
    for n in range(12):  # twelve clients, one guess each
        assert (one, two)[n % 2].board(unknown, key, client=str(n)) is None
    with pytest.raises(TooManyTries):
        two.board(code, key, client="a new client")


# --- where the store is --------------------------------------------------------------------


def test_lr_class_db_chooses_the_store(db_url, monkeypatch):
    monkeypatch.setenv(store_module.ENV, db_url.replace("postgresql+psycopg://", "postgresql://"))
    configured = Store()  # as every worker opens it: no URL, LR_CLASS_DB says where
    try:
        code, key = configured.create_class(SETTINGS)
    finally:
        configured.close()
    direct = Store(db_url)
    try:
        assert direct.board(code, key).settings == SETTINGS
    finally:
        direct.close()


def test_with_nothing_configured_the_store_is_a_sqlite_file_in_the_state_folder(
    tmp_path, monkeypatch
):
    monkeypatch.delenv(store_module.ENV, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    default = Store()
    try:
        code, key = default.create_class(SETTINGS)
    finally:
        default.close()
    path = tmp_path / "state" / "lr-dashboard" / "class.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("SELECT code FROM lr_classes").all() == [(code,)]
    engine.dispose()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite://", "not a url"])
def test_an_unsupported_url_is_refused_in_one_line(url):
    with pytest.raises(ValueError, match="LR_CLASS_DB") as caught:
        Store(url)
    assert "\n" not in str(caught.value)
