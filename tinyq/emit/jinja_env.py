"""The single Jinja environment for every generated file (StrictUndefined: a missing value is an error)."""
from __future__ import annotations

from functools import cache

import jinja2

from tinyq.emit.c_literals import c_text
from tinyq.resources import data_dir


def c_comment(text) -> str:
    """Text safe inside a /* */ comment or a "..." literal (tensor names are arbitrary strings)."""
    return c_text(text)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["c_comment"] = c_comment
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)
