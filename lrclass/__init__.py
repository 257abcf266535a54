"""The class: a teacher's board and their students' runs, kept in a store every worker shares.

No Streamlit here: the page (lrui) shows the board and the join form and calls this package.
`store` keeps classes and runs (SQLite by default, PostgreSQL with LR_CLASS_DB); `codes` makes
and reads class codes; `names` makes and cleans students' names; `results` turns the board's
rows into counts, rankings and a CSV.
"""

from .store import (
    ClassInfo,
    Outcome,
    Store,
    StoreUnavailable,
    Student,
    StudentRow,
    TooManyTries,
)

__all__ = [
    "ClassInfo",
    "Outcome",
    "Store",
    "StoreUnavailable",
    "Student",
    "StudentRow",
    "TooManyTries",
]
