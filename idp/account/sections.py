"""The sections of the person's account pages, as one list other features add to.

A feature that gives the person something to see or manage (linked directory accounts, platform
identities, authentication factors, real-name verification) registers a section with
:func:`register` from its own init code; the account pages show every registered section in the
navigation, in `order`. Nothing is shown for a feature that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

KEY = "tongban.account_sections"


@dataclass(frozen=True)
class Section:
    key: str
    #: a lazy_gettext string
    title: object
    endpoint: str
    order: int = 100


def register(app: Flask, section: Section) -> None:
    sections = app.extensions.setdefault(KEY, [])
    if all(s.key != section.key for s in sections):
        sections.append(section)
        sections.sort(key=lambda s: s.order)


def of(app: Flask) -> list[Section]:
    return list(app.extensions.get(KEY, []))
