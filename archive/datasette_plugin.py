"""Datasette plugin: article timelines, diff pages, diff-aware cells and diff SQL functions.

Archived text is untrusted: it reaches HTML only escaped (Jinja autoescape, ``markupsafe``, or
``archive.diff`` markup that passes a tag allow-list).
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from datasette import hookimpl
from datasette.utils.asgi import BadRequest, NotFound, Response
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, TemplateNotFound
from markupsafe import Markup, escape

from archive.diff import diff_html, diff_side_by_side, diff_unified, word_changes
from archive.feed import EDITS_SQL, FEED_LIMIT, FeedInfo, edits_feed
from archive.revisions import changed_fields

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
EXCERPT_CHARS = 160
"""How much of ``versions.text`` a table view shows; the row page, JSON and CSV have all of it."""
STYLESHEET = "/-/palimpsest.css"
# The path being served, so render_cell (which gets no request in Datasette 0.65) can tell a
# table view, where long text is cut short, from a row page, where it is shown whole.
_REQUEST_PATH: ContextVar[str | None] = ContextVar("palimpsest_request_path", default=None)

# Styles for Datasette's own table, row and query pages (our pages carry their own styles).
CSS = """
dl.column-descriptions { columns: 22rem 3; column-gap: 2rem; font-size: .85rem;
  margin: .5rem 0 1rem; }
dl.column-descriptions dt { display: inline; }
dl.column-descriptions dd { display: inline; padding: 0; margin: 0 0 0 .3em; white-space: normal;
  line-height: 1.4; color: #555; }
dl.column-descriptions dd::after { content: ""; display: block; margin-bottom: .3rem; }
td.col-captured_at, td.col-fetched_at, td.col-first_seen_at, td.col-last_checked_at,
td.col-last_changed_at, td.col-published_at, td.col-modified_at, td.col-added_at,
td.col-last_crawled_at, td.col-started_at, td.col-finished_at, td.col-diff_url,
td.col-http_status, td.col-outcome, td.col-crawl_id, td.col-last_modified { white-space: nowrap; }
td.col-content_hash, td.col-body_sha256, td.col-etag, td.col-sha256 {
  max-width: 8rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.col-url, td.col-final_url, td.col-page_id.type-dict, td.col-canonical_url, td.col-image,
td.col-start_urls { min-width: 14rem; max-width: 24rem; overflow-wrap: anywhere; }
td.col-title, td.col-version_id, td.col-current_version_id { min-width: 14rem; }
td.col-text, td.col-description, td.col-excerpt {
  min-width: 18rem; max-width: 30rem; white-space: normal; }
.palimpsest-excerpt { color: #333; }
a.palimpsest-more { display: inline-block; font-size: .85em; white-space: nowrap; }
.palimpsest-fulltext { white-space: pre-line; min-width: 32rem; max-width: 44rem;
  font-family: Georgia, serif; line-height: 1.5; }
.palimpsest-field { display: inline-block; background: #eef2f7; border: 1px solid #d0d7de;
  border-radius: 3px; padding: 0 .35em; margin: 0 .2em .15em 0; font-size: .85em;
  white-space: nowrap; }
details.palimpsest-json summary { cursor: pointer; color: #276890; white-space: nowrap; }
details.palimpsest-json pre { margin: .3rem 0 0; font-size: .8rem; white-space: pre; }
pre.palimpsest-udiff { white-space: pre-wrap; }
pre.palimpsest-udiff ins { background: #c8f0d1; color: #04391a; text-decoration: none; }
pre.palimpsest-udiff del { background: #ffd6d6; color: #6e0b12; }
"""


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
        " word_count, words_added, words_removed, changed_fields, silent_edit from versions"
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
    events = await _rows(
        db,
        "select at, event, detail from page_events where page_id = ? order by at, id",
        page["id"],
    )
    data = {
        "page": page,
        "versions": versions,
        "captures": captures,
        "events": events,
        "text": text,
    }
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
        (r"^" + re.escape(STYLESHEET) + "$", stylesheet_view),
        (r"^/-/article/(?P<page_id>\d+)(?P<format>\.json)?$", article_view),
        (r"^/-/diff/(?P<page_id>\d+)" + versions + r"(?P<format>\.json)?$", diff_view),
        (r"^/-/edits\.atom$", edits_feed_view),
    ]


async def edits_feed_view(datasette: Datasette, request: Request) -> Response:
    """``/-/edits.atom``: new versions with their diffs (``?page_id=N``, ``?silent=1``)."""
    db = await archive_database(datasette)
    try:
        page_id = int(request.args["page_id"]) if request.args.get("page_id") else None
    except ValueError:
        return Response.text("page_id must be a number", status=400)
    silent = 1 if request.args.get("silent") in ("1", "true", "yes") else 0
    params = {"page_id": page_id, "silent": silent, "limit": FEED_LIMIT}
    rows = [dict(row) for row in (await db.execute(EDITS_SQL, params)).rows]
    base = f"{request.scheme}://{request.host}"
    title = "Silent edits" if silent else "Edits"
    info = FeedInfo(f"{title} — Palimpsest archive", base + request.full_path, base)
    return Response(edits_feed(rows, info), content_type="application/atom+xml; charset=utf-8")


async def stylesheet_view() -> Response:
    headers = {"cache-control": "max-age=3600"}
    return Response(CSS, content_type="text/css; charset=utf-8", headers=headers)


@hookimpl
def extra_css_urls(datasette: Datasette) -> list[str]:
    return [datasette.urls.path(STYLESHEET)]


@hookimpl
def asgi_wrapper(datasette: Datasette) -> Any:
    def wrap(app: Any) -> Any:
        async def remember_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
            token = _REQUEST_PATH.set(scope.get("path") if scope.get("type") == "http" else None)
            try:
                await app(scope, receive, send)
            finally:
                _REQUEST_PATH.reset(token)

        return remember_path

    return wrap


class CannedQueryLoader(BaseLoader):
    """Serves ``palimpsest_query.html`` for ``query-<database>-<query>.html``, the template name
    Datasette tries first for a canned query, so its page is titled by the query, not its SQL."""

    NAME = re.compile(r"query-.+-.+\.html")

    def __init__(self, files: BaseLoader) -> None:
        self.files = files

    def get_source(self, environment: Environment, template: str) -> Any:
        if not self.NAME.fullmatch(template):
            raise TemplateNotFound(template)
        return self.files.get_source(environment, "palimpsest_query.html")

    def list_templates(self) -> list[str]:
        return []  # the names it serves are patterns; Datasette lists templates at startup


@hookimpl
def prepare_jinja2_environment(env: Environment, datasette: Datasette) -> None:
    # Our templates come last, so files of the same name in --template-dir override them.
    if not getattr(env, "_palimpsest_templates", False):
        files = FileSystemLoader(str(TEMPLATES_DIR))
        env.loader = ChoiceLoader([env.loader, files, CannedQueryLoader(files)])
        env._palimpsest_templates = True  # type: ignore[attr-defined]


def _id(value: Any) -> int:
    # Table views pass foreign keys expanded, as {"value": id, "label": label}.
    return int(value["value"] if isinstance(value, dict) else value)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of ``text`` on one line, cut at a word boundary, with "…" when cut.

    >>> excerpt("One two\\nthree four", limit=16)
    'One two ¶ three…'
    >>> excerpt("Short.")
    'Short.'
    """
    flat = " ¶ ".join(_paragraphs(text)).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ¶") + "…"


def _on_row_page(datasette: Datasette, database: str | None, table: str) -> bool:
    """Whether the request being served is a row page of ``database``'s ``table``."""
    path = _REQUEST_PATH.get()
    if not path or not database:
        return False
    prefix = datasette.urls.table(database, table) + "/"
    return path.startswith(prefix) and "/" not in path[len(prefix) :]


def _is_archive(datasette: Datasette, database: str | None) -> bool:
    name = (datasette.plugin_config(PLUGIN) or {}).get("database")
    return name is None or database == name


# Columns holding JSON lists of names, shown as chips; table None is a query's result.
_CHIP_COLUMNS: dict[str | None, tuple[str, ...]] = {
    "versions": ("changed_fields", "tags", "categories"),
    "recent_changes": ("changed_fields",),
    None: ("changed_fields",),
}


def _field_chips(value: str) -> Markup | None:
    """A JSON list of strings as escaped chips, or None if ``value`` is not such a list."""
    try:
        names = json.loads(value)
    except ValueError:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    chip = Markup('<span class="palimpsest-field">{}</span>')
    return Markup("").join(chip.format(name) for name in names) or Markup("&nbsp;")


def _long_text(
    value: str, row: Any, keys: set[str], database: str | None, datasette: Datasette
) -> Markup:
    """``versions.text``: whole on a row page, else an excerpt linking to the row page."""
    if _on_row_page(datasette, database, "versions"):
        return Markup('<div class="palimpsest-fulltext">{}</div>').format(value)
    words = len(value.split())
    shown = Markup('<span class="palimpsest-excerpt">{}</span>').format(excerpt(value))
    if "id" not in keys or not database:
        return shown
    href = datasette.urls.row(database, "versions", str(_id(row["id"])))
    more = Markup(' <a class="palimpsest-more" href="{}">{:,} words · full text</a>')
    return shown + more.format(href, words)


def _json_details(value: str, open_: bool) -> Markup | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    pretty = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
    html = Markup(
        '<details class="palimpsest-json"{}><summary>{} counters</summary><pre>{}</pre></details>'
    )
    return html.format(Markup(" open") if open_ else "", len(data), pretty)


@hookimpl
def render_cell(
    row: Any,
    value: Any,
    column: str,
    table: str | None,
    database: str | None,
    datasette: Datasette,
) -> Markup | None:
    path, keys = datasette.urls.path, set(row.keys()) if hasattr(row, "keys") else set()
    if column.endswith("_diff") and isinstance(value, str) and value:
        if not value.startswith(("--- ", "@@")) and (markup := safe_diff_markup(value)):
            return markup
        return unified_markup(value)
    if column == "diff_url" and isinstance(value, str) and _DIFF_LINK.fullmatch(value):
        return Markup('<a href="{}">view diff</a>').format(path(value))
    if column in _CHIP_COLUMNS.get(table, ()) and isinstance(value, str):
        return _field_chips(value)
    if table == "pages" and column == "url" and "id" in keys and isinstance(value, str):
        link = http_url(value)
        shown = Markup('<a href="{}" rel="noopener nofollow">{}</a>').format(link, value)
        history = Markup(' · <a href="{}">history</a>').format(path(f"/-/article/{_id(row['id'])}"))
        return (shown if link else escape(value)) + history
    if table in ("versions", "captures") and column == "page_id" and value is not None:
        label = value["label"] if isinstance(value, dict) else value
        return Markup('<a href="{}">{}</a>').format(path(f"/-/article/{_id(value)}"), label)
    # A canned or custom query's page_id column.
    if (
        table is None
        and column == "page_id"
        and type(value) is int
        and _is_archive(datasette, database)
    ):
        href = path(f"/-/article/{value}")
        return Markup('<a href="{}" title="article history">{}</a>').format(href, value)
    if table == "versions" and column == "version" and "page_id" in keys and value is not None:
        href = path(f"/-/diff/{_id(row['page_id'])}/{int(value)}")
        return Markup('<a href="{}" title="diff with previous">{}</a>').format(href, value)
    if table == "versions" and column == "text" and isinstance(value, str):
        return _long_text(value, row, keys, database, datasette)
    if table == "crawls" and column == "stats" and isinstance(value, str):
        return _json_details(value, open_=_on_row_page(datasette, database, "crawls"))
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
        queries = [
            ("recent_changes", "Recent changes"),
            ("most_revised", "Most revised articles"),
            ("search", "Search all versions"),
        ]
        links = [{"href": datasette.urls.table(db.name, q), "label": label} for q, label in queries]
        links.append({"href": datasette.urls.path("/-/edits.atom"), "label": "Atom feed of edits"})
        return links

    return links
