"""Interface language: one table of interface strings in English and Chinese, and the
choice of language for a request.

The language comes from ``?lang=`` (which also sets the ``lang`` cookie, so the choice
follows the visitor from page to page), then the ``lang`` cookie, then the browser's
``Accept-Language``, else English. Templates get ``tr(key)``, ``ui_lang`` and
``lang_url(code)`` (the current page in another language).
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Flask, Response, request, url_for
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

#: Interface languages; the first is the default.
LANGUAGES: tuple[str, ...] = ("en", "zh")

#: Cookie (shared with the query editor) that keeps the chosen language.
COOKIE = "lang"

#: Most characters of ``Accept-Language`` read. Browsers send a few dozen; every
#: label on a page asks for the language, so parsing all of a huge header each time
#: made one request cost seconds.
MAX_ACCEPT_LANGUAGE = 512

#: Names of the languages, in themselves (for the switch).
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh": "中文"}

#: Every interface string, by key, in every language of :data:`LANGUAGES`.
STRINGS: dict[str, dict[str, str]] = {
    # layout
    "site_name": {"en": "MedEdKG", "zh": "医学教育知识图谱"},
    "tagline": {
        "en": "An open knowledge graph of medical education",
        "zh": "开放的医学教育知识图谱",
    },
    "nav_dataset": {"en": "Dataset", "zh": "数据集"},
    "nav_institutions": {"en": "Institutions", "zh": "院校"},
    "nav_disciplines": {"en": "Disciplines", "zh": "学科"},
    "nav_degrees": {"en": "Degrees", "zh": "学位"},
    "nav_query": {"en": "Query", "zh": "查询"},
    "nav_sparql": {"en": "SPARQL endpoint", "zh": "SPARQL 端点"},
    "nav_ontology": {"en": "Ontology", "zh": "本体"},
    "nav_downloads": {"en": "Downloads", "zh": "下载"},
    "language": {"en": "Language", "zh": "语言"},
    "footer": {
        "en": "MedEdKG — an open knowledge graph of medical education. "
        "Ontology and curated data: CC BY 4.0; code: MIT; each named graph "
        "names its sources and licences.",
        "zh": "医学教育知识图谱（MedEdKG）。本体与整理数据采用 CC BY 4.0，"
        "代码采用 MIT；每个命名图注明其来源与许可。",
    },
    "as_json": {"en": "This page as JSON", "zh": "本页 JSON"},
    "as_csv": {"en": "CSV", "zh": "CSV"},
    "other_formats": {"en": "Other formats", "zh": "其他格式"},
    # home
    "home_title": {
        "en": "MedEdKG — medical education knowledge graph",
        "zh": "医学教育知识图谱 MedEdKG",
    },
    "home_intro": {
        "en": "An open knowledge graph of medical education: institutions, the "
        "degrees they award, the disciplines those degrees belong to, and the "
        "hospitals they work with — with the source of every statement.",
        "zh": "开放的医学教育知识图谱：院校、其授予的学位、学位所属学科，以及与之合作的"
        "医院——每条陈述都注明来源。",
    },
    "home_access": {"en": "Use the data", "zh": "使用数据"},
    "home_endpoint": {
        "en": "SPARQL 1.1 endpoint",
        "zh": "SPARQL 1.1 查询端点",
    },
    "home_editor": {"en": "query editor", "zh": "查询编辑器"},
    "home_void": {"en": "VoID description", "zh": "VoID 数据集描述"},
    "home_downloads": {"en": "dumps in every RDF format", "zh": "各种 RDF 格式的转储"},
    "home_ontology": {"en": "ontology documentation", "zh": "本体文档"},
    "named_graphs": {"en": "Named graphs", "zh": "命名图"},
    "graphs_summary": {
        "en": "{triples} triples in {graphs} named graphs; the default graph of "
        "a query is their union.",
        "zh": "共 {triples} 个三元组，分属 {graphs} 个命名图；"
        "查询的默认图是它们的并集。",
    },
    "graph": {"en": "graph", "zh": "图"},
    "triples": {"en": "triples", "zh": "三元组"},
    "source": {"en": "source", "zh": "来源"},
    "licence": {"en": "licence", "zh": "许可"},
    "sources_title": {"en": "Sources and licences", "zh": "来源与许可"},
    "rights": {"en": "rights", "zh": "权利说明"},
    "derived_from": {"en": "derived from", "zh": "取自"},
    "classes": {"en": "Classes", "zh": "类"},
    "class": {"en": "class", "zh": "类"},
    "label": {"en": "label", "zh": "标签"},
    "instances": {"en": "instances", "zh": "实例数"},
    "chart_provinces": {
        "en": "Institutions per province, by evidence of medical education",
        "zh": "各省份院校数（按医学教育依据）",
    },
    "segment_name_rule": {
        "en": "teaches medicine by its name",
        "zh": "依校名开展医学教育",
    },
    "segment_units_or_hospitals": {
        "en": "through a medical unit or hospitals only",
        "zh": "仅经由医学院系或医院",
    },
    "segment_no_evidence": {
        "en": "no evidence of medical education",
        "zh": "无医学教育依据",
    },
    # institution page: medical education and hospitals
    "medical_education": {"en": "Medical education", "zh": "医学教育"},
    "hospitals_by_relation": {
        "en": "Hospitals, by kind of relation",
        "zh": "医院（按关系类型）",
    },
    "rule": {"en": "rule", "zh": "规则"},
    "through": {"en": "through", "zh": "经由"},
    "note": {"en": "note", "zh": "说明"},
    "hospital": {"en": "hospital", "zh": "医院"},
    "via_unit": {"en": "via its unit {unit}", "zh": "经由其院系 {unit}"},
    "chart_categories": {
        "en": "Disciplines per category (catalogue {edition})",
        "zh": "各学科门类的学科数（{edition} 年版目录）",
    },
    "unknown_province": {"en": "(no province)", "zh": "（未注明省份）"},
    # resource page
    "types": {"en": "Types", "zh": "类型"},
    "inferred": {"en": "inferred", "zh": "推理得出"},
    "properties": {"en": "Properties", "zh": "属性"},
    "inverse_relations": {"en": "Inverse relations", "zh": "反向关系"},
    "property": {"en": "property", "zh": "属性"},
    "value": {"en": "value", "zh": "值"},
    "links_out": {"en": "Elsewhere", "zh": "外部链接"},
    "provenance": {"en": "Named graphs and sources", "zh": "命名图与来源"},
    "in_graph": {"en": "in graph", "zh": "所在图"},
    "more_values": {"en": "{n} values", "zh": "{n} 个值"},
    "iri": {"en": "IRI", "zh": "IRI"},
    "inverse_of": {"en": "is “{label}” of", "zh": "{label}（反向）"},
    "graph_sources": {"en": "sources", "zh": "来源"},
    "formats": {"en": "This resource as", "zh": "本资源的其他格式"},
    # ontology page
    "ontology_title": {"en": "Ontology", "zh": "本体"},
    "object_properties": {"en": "Object properties", "zh": "对象属性"},
    "datatype_properties": {"en": "Datatype properties", "zh": "数据属性"},
    "annotation_properties": {"en": "Annotation properties", "zh": "注释属性"},
    "individuals": {"en": "Individuals", "zh": "个体"},
    "version": {"en": "version", "zh": "版本"},
    "prefix": {"en": "prefix", "zh": "前缀"},
    "ontology_generated": {
        "en": "generated from the ontology and its SHACL shapes",
        "zh": "由本体及其 SHACL 形状生成",
    },
    "subclass_of": {"en": "subclass of", "zh": "父类"},
    "subproperty_of": {"en": "subproperty of", "zh": "父属性"},
    "axiom": {"en": "axiom", "zh": "公理"},
    "domain": {"en": "domain", "zh": "定义域"},
    "range": {"en": "range", "zh": "值域"},
    "characteristics": {"en": "characteristics", "zh": "特性"},
    "shape": {"en": "shape", "zh": "形状约束"},
    "type": {"en": "type", "zh": "类型"},
    # institutions browser
    "institutions_title": {"en": "Institutions", "zh": "院校"},
    "institutions_intro": {
        "en": "Every institution of the Ministry of Education's list, the medical "
        "units ROR names and the hospitals of the graph. Filter by kind, province, "
        "supervising authority, whether it teaches medicine and on which evidence; "
        "search by Chinese or English name or by pinyin.",
        "zh": "教育部名单中的全部院校、ROR 记录的医学院系以及图中的医院。可按类型、"
        "省份、主管部门、是否开展医学教育及其依据筛选；可按中文名、英文名或拼音搜索。",
    },
    "teaches": {"en": "teaches medicine", "zh": "医学教育"},
    "teaches_yes": {"en": "yes", "zh": "是"},
    "teaches_no": {"en": "no evidence", "zh": "无依据"},
    "teaches_name_rule": {"en": "yes, by its name", "zh": "是（依校名）"},
    "teaches_units_or_hospitals": {
        "en": "yes, through units or hospitals only",
        "zh": "是（仅经由医学院系或医院）",
    },
    "evidence": {"en": "evidence", "zh": "依据"},
    "page_of": {"en": "page {page} of {pages}", "zh": "第 {page} 页，共 {pages} 页"},
    "previous_page": {"en": "← previous", "zh": "← 上一页"},
    "next_page": {"en": "next →", "zh": "下一页 →"},
    "search": {"en": "Search", "zh": "搜索"},
    "search_placeholder": {
        "en": "name, English name or pinyin",
        "zh": "中文名、英文名或拼音",
    },
    "kind": {"en": "kind", "zh": "类型"},
    "province": {"en": "province", "zh": "省份"},
    "authority": {"en": "supervising authority", "zh": "主管部门"},
    "any": {"en": "any", "zh": "全部"},
    "apply": {"en": "Apply", "zh": "筛选"},
    "reset": {"en": "Reset", "zh": "重置"},
    "name_zh": {"en": "Chinese name", "zh": "中文名称"},
    "name_en": {"en": "English name", "zh": "英文名称"},
    "ror": {"en": "ROR", "zh": "ROR"},
    "rows_found": {"en": "{n} rows", "zh": "共 {n} 条"},
    "no_rows": {"en": "Nothing matches.", "zh": "没有匹配的结果。"},
    # disciplines browser
    "disciplines_title": {"en": "Discipline catalogue", "zh": "学科目录"},
    "disciplines_intro": {
        "en": "China's catalogue of disciplines for conferring degrees, one edition at "
        "a time: categories, first-level disciplines, professional degree categories "
        "and second-level disciplines, with counts from the graph.",
        "zh": "按版本浏览学位授予学科目录：学科门类、一级学科、专业学位类别与二级学科，"
        "数量取自图中数据。",
    },
    "edition": {"en": "Edition", "zh": "版本"},
    "code": {"en": "code", "zh": "代码"},
    "first_level": {"en": "first-level", "zh": "一级学科"},
    "second_level": {"en": "second-level", "zh": "二级学科"},
    "professional_categories": {"en": "professional", "zh": "专业学位类别"},
    "expand_all": {"en": "Expand all", "zh": "全部展开"},
    "collapse_all": {"en": "Collapse all", "zh": "全部收起"},
    # degrees browser
    "degrees_title": {"en": "Degree types", "zh": "学位类型"},
    "degrees_intro": {
        "en": "Degree types of medicine with their level, orientation and ISCED 2011 "
        "level, and the academic and professional master's degrees compared side by "
        "side, as the graph states them.",
        "zh": "医学学位类型及其层次、取向与 ISCED 2011 等级；并按图中数据并列比较医学"
        "学术学位硕士与专业学位硕士。",
    },
    "degree": {"en": "degree", "zh": "学位"},
    "level": {"en": "level", "zh": "层次"},
    "orientation": {"en": "orientation", "zh": "取向"},
    "isced_level": {"en": "ISCED 2011 level", "zh": "ISCED 2011 等级"},
    "compare_title": {
        "en": "Academic versus professional master's degree (CQ08)",
        "zh": "学术学位硕士与专业学位硕士比较（CQ08）",
    },
    "environment": {"en": "training environment", "zh": "培养环境"},
    "duration": {"en": "length (years)", "zh": "学制（年）"},
    "clinical_months": {
        "en": "minimum clinical training (months)",
        "zh": "最少临床训练（月）",
    },
    "careers": {"en": "intended careers", "zh": "培养去向"},
    "definition": {"en": "definition", "zh": "定义"},
    "same_level_as": {"en": "same level as", "zh": "同层次"},
    # errors
    "not_found": {"en": "Not found", "zh": "未找到"},
    # service description, VoID
    "sd_title": {"en": "SPARQL endpoint", "zh": "SPARQL 端点"},
    "sd_intro": {
        "en": "The SPARQL 1.1 endpoint of MedEdKG: send a query with GET or POST. "
        "Below is its service description.",
        "zh": "MedEdKG 的 SPARQL 1.1 端点：用 GET 或 POST 发送查询。"
        "下面是它的服务描述。",
    },
    "void_title": {"en": "VoID description", "zh": "VoID 数据集描述"},
    "void_intro": {
        "en": "What the dataset holds, counted on the graph being served.",
        "zh": "数据集的内容，按当前提供的图统计。",
    },
    "run_query": {"en": "Run query", "zh": "运行查询"},
    "sparql_query": {"en": "SPARQL query", "zh": "SPARQL 查询"},
    "as_rdf": {"en": "As RDF", "zh": "RDF 格式"},
    # downloads
    "downloads_title": {"en": "Downloads", "zh": "下载"},
    "downloads_intro": {
        "en": "The whole dataset and each named graph in every RDF format, written "
        "when the graph was built. Each file is canonical (RDFC-1.0 blank-node labels, "
        "sorted statements): the same graph always gives the same bytes, so the "
        "SHA-256 checksums identify a version. Turtle, N-Triples and RDF/XML cannot "
        "carry named graphs: their whole-dataset files are the union of the graphs "
        "(marked below); TriG, N-Quads and JSON-LD keep them.",
        "zh": "整个数据集及每个命名图的全部 RDF 格式文件，在构建图时生成。"
        "文件是规范化的（RDFC-1.0 空白节点标签，语句排序）："
        "同一个图总是得到相同的字节，因此 SHA-256 校验和可标识版本。"
        "Turtle、N-Triples 和 RDF/XML 无法承载命名图：其整个数据集文件是各图的并集"
        "（下表注明）；TriG、N-Quads 和 JSON-LD 保留命名图。",
    },
    "downloads_none": {
        "en": "No downloads yet: run mededkg build.",
        "zh": "尚无下载文件：请运行 mededkg build。",
    },
    "downloads_void": {
        "en": "The VoID description of the dataset",
        "zh": "数据集的 VoID 描述",
    },
    "whole_dataset": {"en": "whole dataset", "zh": "整个数据集"},
    "graphs_merged": {"en": "graphs merged", "zh": "个图已合并"},
    "file": {"en": "file", "zh": "文件"},
    "format": {"en": "format", "zh": "格式"},
    "bytes": {"en": "bytes", "zh": "字节"},
    "as_json_list": {"en": "This list as JSON", "zh": "本列表 JSON"},
}


def ui_language() -> str:
    """The interface language of the current request (one of :data:`LANGUAGES`)."""
    for candidate in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return browser_language(request.headers.get("Accept-Language", ""))


def browser_language(header: str) -> str:
    """The interface language an ``Accept-Language`` header prefers, read from its
    first :data:`MAX_ACCEPT_LANGUAGE` characters (whole items only).

    >>> browser_language("fr;q=0.9, zh-CN;q=0.8, en;q=0.1")
    'zh'
    >>> browser_language("x-padding;q=0.5, " * 10_000 + "zh")
    'en'
    """
    if len(header) > MAX_ACCEPT_LANGUAGE:
        header = header[:MAX_ACCEPT_LANGUAGE].rpartition(",")[0]
    return _language_of(header)


@functools.lru_cache(maxsize=256)
def _language_of(header: str) -> str:
    accepted = parse_accept_header(header, LanguageAccept)
    best = accepted.best_match(["en", "zh", "zh-CN", "zh-Hans"])
    if best and best.lower().startswith("zh"):
        return "zh"
    return LANGUAGES[0]


def tr(key: str, lang: str | None = None, **values: object) -> str:
    """The interface string *key* in *lang* (default: the request's language).

    >>> tr("nav_degrees", "zh")
    '学位'
    >>> tr("rows_found", "en", n=3)
    '3 rows'

    Raises:
        KeyError: if *key* is not in :data:`STRINGS`.
    """
    text = STRINGS[key][lang or ui_language()]
    return text.format(**values) if values else text


def lang_url(code: str) -> str:
    """The current page (same path and parameters) in the language *code*."""
    values: dict[str, Any] = dict(request.args.to_dict(flat=False))
    values.update(request.view_args or {})
    values["lang"] = code
    endpoint = request.endpoint
    if endpoint is None:
        return f"{request.path}?lang={code}"
    return url_for(endpoint, **values)


def init_app(app: Flask) -> None:
    """Give templates ``tr``, ``ui_lang``, ``lang_url``; keep a chosen language in a
    cookie."""

    @app.context_processor
    def language_context() -> dict[str, Any]:
        return {
            "tr": tr,
            "ui_lang": ui_language(),
            "lang_url": lang_url,
            "language_names": LANGUAGE_NAMES,
            "languages": LANGUAGES,
        }

    @app.after_request
    def remember_language(response: Response) -> Response:
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            response.set_cookie(
                COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
            )
        if response.mimetype == "text/html":
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response
