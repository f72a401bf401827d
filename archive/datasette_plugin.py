"""Datasette plugin: article timelines, diff pages, diff-aware cells and diff SQL functions.

Archived text is untrusted: it reaches HTML only escaped (Jinja autoescape, ``markupsafe``, or
``archive.diff`` markup that passes a tag allow-list).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from datasette import hookimpl
from datasette.utils.asgi import BadRequest, NotFound, Response
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup, escape

from archive.diff import diff_html, diff_side_by_side, diff_unified, word_changes
from archive.store import changed_fields

if TYPE_CHECKING:
    import sqlite3

    from datasette.app import Datasette
    from datasette.database import Database
    from datasette.utils.asgi import Request
    from jinja2 import Environment

logger = logging.getLogger(__name__)

PLUGIN = "palimpsest"
TEMPLATES_DIR = Path(__file__).parent / "templates"
_DIFF_LINK = re.compile(r"/-/diff/\d+(?:/\d+){0,2}")
# The only markup archive.diff produces; any other "<" means the text was not escaped.
_SAFE_TAG = re.compile(r'</?(?:p|ins|del|br|span|div)(?: class="[\w -]*")?\s*/?>')
_DEL, _INS = re.compile(r"\[-(.*?)-\]"), re.compile(r"\{\+(.*?)\+\}")


def safe_diff_markup(html: str) -> Markup | None:
    """``html`` as Markup if it only holds allow-listed diff tags, else None.

    >>> safe_diff_markup("<p>a <del>b</del><ins>c &lt;x&gt;</ins></p>")
    Markup('<p>a <del>b</del><ins>c &lt;x&gt;</ins></p>')
    >>> safe_diff_markup("<p><img src=x onerror=alert(1)></p>") is None
    True
    """
    starts = (m.start() for m in re.finditer("<", html))
    return Markup(html) if all(_SAFE_TAG.match(html, i) for i in starts) else None


def http_url(url: str | None) -> str | None:
    """``url`` if it is safe to link to (http or https), else None.

    >>> http_url("javascript:alert(1)") is None, http_url("https://example.org/a")
    (True, 'https://example.org/a')
    """
    return url if url and urlsplit(url.strip()).scheme.lower() in ("http", "https") else None


def unified_markup(text: str) -> Markup:
    """A ``diff_unified`` text (git --word-diff style) as ``<pre>`` with ``<del>``/``<ins>``.

    >>> unified_markup("@@ -1 +1 @@\\na [-<b>-]{+x+} c")
    Markup('<pre class="palimpsest-udiff">@@ -1 +1 @@\\na <del>&lt;b&gt;</del><ins>x</ins> c</pre>')
    """
    escaped = str(escape(text.rstrip("\n")))  # marks are added around text that is escaped already
    marked = _INS.sub(r"<ins>\1</ins>", _DEL.sub(r"<del>\1</del>", escaped))
    return Markup('<pre class="palimpsest-udiff">{}</pre>').format(Markup(marked))


async def archive_database(datasette: Datasette) -> Database:
    """The database named by the plugin config, else the first one with a ``versions`` table."""
    name = (datasette.plugin_config(PLUGIN) or {}).get("database")
    if name and name not in datasette.databases:
        raise NotFound(f"Archive database {name!r} is not attached")
    for db in datasette.databases.values():
        if db.name == name or (
            not name and db.name != "_internal" and await db.table_exists("versions")
        ):
            return db
    raise NotFound("No Palimpsest archive is attached")


async def _rows(db: Database, sql: str, *params: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in (await db.execute(sql, params)).rows]


async def _page(db: Database, page_id: int) -> dict[str, Any]:
    sql = "select p.*, s.name as site_name, s.host from pages p left join sites s on s.id = site_id"
    for page in await _rows(db, sql + " where p.id = ?", page_id):
        return page
    raise NotFound(f"No page with id {page_id}")


def _version(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A version's metadata without its text, ``changed_fields`` decoded."""
    if row is None:
        return None
    fields = json.loads(row["changed_fields"] or "[]")
    return {**{k: v for k, v in row.items() if k != "text"}, "changed_fields": fields}


def _paragraphs(text: str | None) -> list[str]:
    return [line for line in (text or "").splitlines() if line.strip()]


def _wants_json(request: Request) -> bool:
    return request.url_vars.get("format") == ".json" or request.args.get("_format") == "json"


async def article_view(datasette: Datasette, request: Request) -> Response:
    """``/-/article/<page_id>``: a page's status, versions, captures and current text."""
    db = await archive_database(datasette)
    page = await _page(db, int(request.url_vars["page_id"]))
    sql = (
        "select id, version, captured_at, title, author, published_at, modified_at, description,"
        " word_count, words_added, words_removed, changed_fields from versions"
        " where page_id = ? order by version"
    )
    versions = [_version(row) for row in await _rows(db, sql, page["id"])]
    captures = await _rows(
        db,
        "select c.id, c.fetched_at, c.http_status, c.outcome, c.bytes, c.error, c.version_id,"
        " v.version from captures c left join versions v on v.id = c.version_id"
        " where c.page_id = ? order by c.fetched_at, c.id",
        page["id"],
    )
    current = await _rows(db, "select text from versions where id = ?", page["current_version_id"])
    text = current[0]["text"] if current else ""
    data = {"page": page, "versions": versions, "captures": captures, "text": text}
    if _wants_json(request):
        return Response.json(data)
    context = {**data, "link": http_url(page["url"]), "paragraphs": _paragraphs(text)}
    html = await datasette.render_template(
        "palimpsest_article.html", {**context, "database": db.name}, request=request
    )
    return Response.html(html)


def _version_number(request: Request, name: str) -> int | None:
    raw = request.url_vars.get(name) or request.args.get(name) or None
    if raw is not None and not raw.isdigit():
        raise BadRequest(f"{name} must be a version number")
    return None if raw is None else int(raw)


async def diff_data(db: Database, page_id: int, frm: int | None, to: int | None) -> dict[str, Any]:
    """What the diff page shows, as plain data; ``old_text``/``new_text`` are for rendering."""
    page = await _page(db, page_id)
    latest = await _rows(db, "select max(version) as n from versions where page_id = ?", page_id)
    latest = latest[0]["n"] or 0
    to = latest if to is None else to
    if not 1 <= to <= latest:
        raise NotFound(f"Page {page_id} has no version {to}")
    frm = (to - 1 or None) if frm is None else frm
    if frm is not None and frm >= to:
        raise BadRequest("The first version must be older than the second")
    sql = "select * from versions where page_id = ? and version in (?, ?)"
    by_number = {row["version"]: row for row in await _rows(db, sql, page_id, frm or to, to)}
    if frm is not None and frm not in by_number:
        raise NotFound(f"Page {page_id} has no version {frm}")
    old, new = by_number.get(frm), by_number[to]
    data: dict[str, Any] = {
        "page": {"id": page_id, "url": page["url"]},
        "from": _version(old),
        "to": _version(new),
        "first_version": old is None,
        "prev_to": to - 1 if to > 1 else None,
        "next_to": to + 1 if to < latest else None,
        "latest": latest,
    }
    if old is None:
        first = {"words_added": new["word_count"] or 0, "words_removed": 0, "change_count": 0}
        return {**data, **first, "fields": [], "unified": None, "text": new["text"] or ""}
    a, b = old["text"] or "", new["text"] or ""
    unified = diff_unified(a, b, from_label=f"version {frm}", to_label=f"version {to}")
    names = [name for name in changed_fields(old, new) if name != "text"]
    return {
        **data,
        "fields": [{"field": n, "before": old[n], "after": new[n]} for n in names],
        **{k: unified[k] for k in ("words_added", "words_removed", "change_count")},
        "unified": unified["diff"],
        "old_text": a,
        "new_text": b,
    }


async def diff_view(datasette: Datasette, request: Request) -> Response:
    """``/-/diff/<page>[/<from>]/<to>``: what changed between two versions of a page."""
    db = await archive_database(datasette)
    frm, to = _version_number(request, "from"), _version_number(request, "to")
    data = await diff_data(db, int(request.url_vars["page_id"]), frm, to)
    old, new = data.pop("old_text", None), data.pop("new_text", None)
    view = "side" if request.args.get("view") == "side" else "inline"
    if _wants_json(request):
        return Response.json({**data, "html": None if old is None else diff_html(old, new)["diff"]})
    context = {**data, "view": view, "database": db.name, "link": http_url(data["page"]["url"])}
    if old is None:
        context["paragraphs"] = _paragraphs(data["text"])
    elif view == "side":
        rows = diff_side_by_side(old, new)["diff"]
        context["rows"] = [
            {**r, "left": _checked(r["left"]), "right": _checked(r["right"])} for r in rows
        ]
    else:
        context["diff"] = _checked(diff_html(old, new)["diff"])
    html = await datasette.render_template("palimpsest_diff.html", context, request=request)
    return Response.html(html)


def _checked(html: str) -> Markup:
    markup = safe_diff_markup(html)
    if markup is None:
        logger.warning("diff markup failed the tag allow-list; showing it as text")
        return Markup("<pre>{}</pre>").format(html)
    return markup


@hookimpl
def register_routes(datasette: Datasette) -> list[tuple[str, Any]]:
    # /-/diff/<page>, /-/diff/<page>/<to> and /-/diff/<page>/<from>/<to>, each with .json or not.
    versions = r"(?:(?:/(?P<from>\d+))?/(?P<to>\d+))?"
    return [
        (r"^/-/article/(?P<page_id>\d+)(?P<format>\.json)?$", article_view),
        (r"^/-/diff/(?P<page_id>\d+)" + versions + r"(?P<format>\.json)?$", diff_view),
    ]


@hookimpl
def prepare_jinja2_environment(env: Environment, datasette: Datasette) -> None:
    # Our templates come last, so files of the same name in --template-dir override them.
    if not getattr(env, "_palimpsest_templates", False):
        env.loader = ChoiceLoader([env.loader, FileSystemLoader(str(TEMPLATES_DIR))])
        env._palimpsest_templates = True  # type: ignore[attr-defined]


def _id(value: Any) -> int:
    # Table views pass foreign keys expanded, as {"value": id, "label": label}.
    return int(value["value"] if isinstance(value, dict) else value)


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, datasette: Datasette
) -> Markup | None:
    path, keys = datasette.urls.path, set(row.keys()) if hasattr(row, "keys") else set()
    if column.endswith("_diff") and isinstance(value, str) and value:
        if not value.startswith(("--- ", "@@")) and (markup := safe_diff_markup(value)):
            return markup
        return unified_markup(value)
    if column == "diff_url" and isinstance(value, str) and _DIFF_LINK.fullmatch(value):
        return Markup('<a href="{}">view diff</a>').format(path(value))
    if table == "pages" and column == "url" and "id" in keys and isinstance(value, str):
        link = http_url(value)
        shown = Markup('<a href="{}" rel="noopener nofollow">{}</a>').format(link, value)
        history = Markup(' · <a href="{}">history</a>').format(path(f"/-/article/{_id(row['id'])}"))
        return (shown if link else escape(value)) + history
    if table in ("versions", "captures") and column == "page_id" and value is not None:
        label = value["label"] if isinstance(value, dict) else value
        return Markup('<a href="{}">{}</a>').format(path(f"/-/article/{_id(value)}"), label)
    if table == "versions" and column == "version" and "page_id" in keys and value is not None:
        href = path(f"/-/diff/{_id(row['page_id'])}/{int(value)}")
        return Markup('<a href="{}" title="diff with previous">{}</a>').format(href, value)
    return None


def _text_function(fn: Any) -> Any:
    return lambda a, b: fn(a or "", b or "")  # NULL is an empty text


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    functions = {
        "diff_text": lambda a, b: diff_unified(a, b)["diff"],
        "words_added": lambda a, b: word_changes(a, b)[0],
        "words_removed": lambda a, b: word_changes(a, b)[1],
    }
    for name, fn in functions.items():
        conn.create_function(name, 2, _text_function(fn), deterministic=True)


@hookimpl
def menu_links(datasette: Datasette) -> Any:
    async def links() -> list[dict[str, str]]:
        try:
            db = await archive_database(datasette)
        except NotFound:  # the plugin is installed, but this Datasette serves no archive
            return []
        href = datasette.urls.table(db.name, "recent_changes")
        return [{"href": href, "label": "Recent changes"}]

    return links
