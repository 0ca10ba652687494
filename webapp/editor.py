"""The SPARQL query editor at ``/query``, with the JSON it needs: the prefix map
(``/api/prefixes``) and the text of each named query (``/api/queries/<name>.rq``).

The page itself is static HTML plus ``static/query.js``; queries run against
``/sparql`` and ``/api/queries/<name>`` like any other client's.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, jsonify, render_template, request

from mededkg.errors import QueryNotFound
from mededkg.namespaces import PREFIXES
from mededkg.resources import queries_dir
from webapp.context import state
from webapp.i18n import ui_language

bp = Blueprint("editor", __name__)

SPARQL_QUERY = "application/sparql-query"

#: The query shown when the page is opened without one.
DEFAULT_QUERY = """\
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?class (COUNT(?instance) AS ?instances) ?label
WHERE {
  ?instance a ?class .
  OPTIONAL { ?class rdfs:label ?label FILTER(LANG(?label) = "en") }
}
GROUP BY ?class ?label
ORDER BY DESC(?instances)
LIMIT 20
"""

#: The editor's own words, by language of :data:`webapp.i18n.LANGUAGES` (the page's
#: ``data-strings`` attribute carries them to the script).
STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "SPARQL query editor",
        "intro": "Write a SPARQL 1.1 query or start from an example; "
        "Ctrl+Enter runs it. Ctrl+Space completes prefixes.",
        "examples": "Examples",
        "choose": "— choose an example —",
        "parameters": "Parameters",
        "run": "Run",
        "table": "Table",
        "chart": "Chart",
        "labels": "Labels",
        "download": "Download",
        "running": "Running…",
        "rows": "rows",
        "no_rows": "No rows.",
        "truncated": "The result was cut at the server's row limit.",
        "no_chart": "A chart needs one text or IRI column and one numeric column.",
        "label_column": "Label",
        "value_column": "Value",
        "chart_type": "Type",
        "bar": "bar",
        "line": "line",
        "pie": "pie",
        "graph_result": "RDF graph (Turtle)",
        "line_column": "line {line}, column {column}",
        "undeclared_prefix": "the prefix {prefix} is not declared; add",
        "edited": "The query text was edited: it runs as written, without parameters.",
    },
    "zh": {
        "title": "SPARQL 查询编辑器",
        "intro": "编写 SPARQL 1.1 查询，或从示例开始；"
        "Ctrl+Enter 运行，Ctrl+Space 补全前缀。",
        "examples": "示例",
        "choose": "— 选择示例 —",
        "parameters": "参数",
        "run": "运行",
        "table": "表格",
        "chart": "图表",
        "labels": "标签",
        "download": "下载",
        "running": "运行中…",
        "rows": "行",
        "no_rows": "没有结果。",
        "truncated": "结果已按服务器的行数上限截断。",
        "no_chart": "图表需要一个文本或 IRI 列和一个数值列。",
        "label_column": "标签列",
        "value_column": "数值列",
        "chart_type": "类型",
        "bar": "柱状图",
        "line": "折线图",
        "pie": "饼图",
        "graph_result": "RDF 图（Turtle）",
        "line_column": "第 {line} 行第 {column} 列",
        "undeclared_prefix": "前缀 {prefix} 未声明；请添加",
        "edited": "查询文本已修改：按所写内容运行，不带参数。",
    },
}


@bp.route("/query")
def query_page() -> str:
    """The query editor page."""
    lang = ui_language()
    return render_template(
        "query.html",
        t=STRINGS[lang],
        lang=lang,
        query=request.args.get("query") or _example_text(request.args.get("example")),
        base_iri=state().config.base_iri,
    )


@bp.route("/api/prefixes")
def prefixes() -> Response:
    """The one prefix map, as ``{prefix: namespace}``."""
    return jsonify(PREFIXES)


@bp.route("/api/queries/<name>.rq")
def query_text(name: str) -> Response:
    """The text of the named query *name* (``application/sparql-query``).

    Raises:
        QueryNotFound: (404) if there is no such named query.
    """
    path = _query_file(name)
    if path is None:
        raise QueryNotFound(f"no query named {name!r}; GET /api/queries lists them")
    return Response(path.read_text(encoding="utf-8"), mimetype=SPARQL_QUERY)


def _query_file(name: str | None) -> Path | None:
    """The file of the named query *name* directly in ``queries/``, if there is one."""
    if not name or name.startswith("."):
        return None
    folder = queries_dir(state().config.root)
    path = folder / f"{name}.rq"
    return path if path.parent == folder and path.is_file() else None


def _example_text(name: str | None) -> str:
    """The text of the named query *name*, or the default query if there is none."""
    path = _query_file(name)
    return path.read_text(encoding="utf-8") if path else DEFAULT_QUERY
