/* MedEdKG SPARQL query editor: CodeMirror editor with prefix completion, the named
 * queries as examples, results as a sortable table with labels, a chart, a map (of
 * WKT points; Leaflet loaded only then, see map.js), and
 * downloads. No inline scripts: everything is wired up here. */
(function () {
  "use strict";

  var root = document.getElementById("query-app");
  if (!root) {
    return;
  }
  var T = JSON.parse(root.dataset.strings);
  var BASE_IRI = root.dataset.baseIri;
  var SPARQL_URL = root.dataset.sparqlUrl;
  var QUERIES_URL = root.dataset.queriesUrl;
  var PREFIXES_URL = root.dataset.prefixesUrl;
  var COMPLETE_URL = root.dataset.completeUrl;
  var MAP_SCRIPT = root.dataset.mapScript;
  var WKT = "http://www.opengis.net/ont/geosparql#wktLiteral";
  var LANG = root.dataset.lang === "zh" ? "zh" : "en";
  var RESULTS_JSON = "application/sparql-results+json";
  var XSD = "http://www.w3.org/2001/XMLSchema#";
  var NUMERIC = [
    "integer", "decimal", "double", "float", "int", "long", "short", "byte",
    "nonNegativeInteger", "positiveInteger", "negativeInteger",
    "nonPositiveInteger", "unsignedInt", "unsignedLong", "unsignedShort",
    "unsignedByte"
  ].map(function (t) { return XSD + t; });
  /* Where the page's own URL parameters live; everything else is an example's. */
  var RESERVED = ["query", "example", "lang"];
  /* The formats a download button may ask for, with their media types and suffixes. */
  var FORMATS = {
    json: [RESULTS_JSON, ".json"],
    csv: ["text/csv", ".csv"],
    tsv: ["text/tab-separated-values", ".tsv"],
    turtle: ["text/turtle", ".ttl"],
    nt: ["application/n-triples", ".nt"],
    jsonld: ["application/ld+json", ".jsonld"]
  };
  var LABEL_BATCH = 400;
  var LABEL_MAX = 4000;
  var CHART_MAX = 100;
  /* Name completion: wait this long after the last keystroke, offer this many names. */
  var COMPLETE_DELAY = 150;
  var COMPLETE_LIMIT = 10;
  /* Words that are SPARQL, not names: a word that starts one of them is not looked up. */
  var KEYWORDS = (
    "BASE PREFIX SELECT CONSTRUCT DESCRIBE ASK DISTINCT REDUCED FROM NAMED WHERE " +
    "ORDER BY ASC DESC LIMIT OFFSET GROUP HAVING VALUES OPTIONAL UNION MINUS GRAPH " +
    "SERVICE SILENT FILTER BIND AS NOT EXISTS IN UNDEF TRUE FALSE STR LANG " +
    "LANGMATCHES DATATYPE BOUND IRI URI BNODE RAND ABS CEIL FLOOR ROUND CONCAT " +
    "STRLEN UCASE LCASE ENCODE_FOR_URI CONTAINS STRSTARTS STRENDS STRBEFORE STRAFTER " +
    "YEAR MONTH DAY HOURS MINUTES SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1 " +
    "SHA256 SHA384 SHA512 COALESCE IF STRLANG STRDT SAMETERM ISIRI ISURI ISBLANK " +
    "ISLITERAL ISNUMERIC REGEX SUBSTR REPLACE COUNT SUM MIN MAX AVG SAMPLE " +
    "GROUP_CONCAT SEPARATOR"
  ).split(" ");

  var $ = function (id) { return document.getElementById(id); };

  var state = {
    prefixes: {},
    examples: {},
    example: null, // the chosen named query's description
    exampleText: null, // its text as loaded, to tell whether the user edited it
    result: null, // {kind: "rows"|"boolean"|"graph", vars, rows, text, truncated}
    labels: {}, // iri -> {zh: "...", en: "..."}
    sort: null, // {column, descending}
    view: "table",
    chart: null,
    map: null, // the Leaflet map of the map view, while it is shown
    mapId: 0, // the latest map drawn; a slower load for an older one is dropped
    errorMarks: [],
    checkMarks: [], // the marks of the syntax check made as the user types
    checkTimer: null,
    completeTimer: null, // the debounce of name completion
    completeId: 0, // the latest completion request; older answers are dropped
    completions: {}, // completion URL -> the names it answered (this page's life)
    build: root.dataset.build || "", // the build the server serves, as last heard
    tabs: null, // {list: [{id, text}], active: id, next: number}
    runId: 0,
    /* The label lookups of the last result: a run waits for them, because the server
     * answers a client's second concurrent query with 429 (setting client_queries). */
    background: Promise.resolve()
  };

  /* ------------------------------------------------------------------ editor */
  var editor = CodeMirror.fromTextArea($("query-text"), {
    mode: "application/sparql-query",
    lineNumbers: true,
    lineWrapping: true,
    matchBrackets: true,
    indentUnit: 2,
    viewportMargin: Infinity,
    gutters: ["qe-error-gutter", "CodeMirror-linenumbers"],
    extraKeys: {
      "Ctrl-Enter": function () { run(); },
      "Cmd-Enter": function () { run(); },
      "Ctrl-Space": function (cm) { showHint(cm, true); },
      Tab: false,
      "Shift-Tab": false
    }
  });

  editor.on("changes", function () {
    clearErrorMarks();
    scheduleCheck();
    saveActiveTab();
    updateEditedNote();
    updateUrl();
  });

  /* Offer prefixes and names of the graph as the user types. */
  editor.on("inputRead", function (cm, change) {
    var typed = change.text.join("\n");
    var active = cm.state.completionActive;
    if (change.origin !== "+input" || !typed || (active && active.widget)) {
      return;
    }
    var token = cm.getTokenAt(cm.getCursor());
    if (/string|comment/.test(token.type || "")) {
      return;
    }
    if (/^\s+$/.test(typed) && !completionContext(cm, false)) {
      return;
    }
    showHint(cm, false);
  });

  function showHint(cm, explicit) {
    var hint = function (instance, callback) { hints(instance, explicit, callback); };
    hint.async = true;
    /* Spaces do not close the list: "<Capital Med" is one name. */
    cm.showHint({ hint: hint, completeSingle: false, closeCharacters: /[()[\]{};:>,]/ });
  }

  /* The prefixes (at once) and the graph's names (after a pause in typing, then
   * remembered) that complete the text before the cursor. */
  function hints(cm, explicit, callback) {
    var prefixes = prefixHints(cm, explicit);
    var context = completionContext(cm, explicit);
    window.clearTimeout(state.completeTimer);
    var id = (state.completeId += 1);
    var url = context ? completionUrl(context) : null;
    if (!context || state.completions[url]) {
      callback(combinedHints(prefixes, context, context && state.completions[url]));
      return;
    }
    callback(prefixes);
    state.completeTimer = window.setTimeout(function () {
      fetchCompletions(url).then(function (items) {
        if (items === null) {
          return;
        }
        state.completions[url] = items;
        var active = cm.state.completionActive;
        if (id === state.completeId && active) {
          active.update();
        }
      });
    }, COMPLETE_DELAY);
  }

  function combinedHints(prefixes, context, items) {
    var names = (items || []).map(function (item) { return nameHint(item, context); });
    if (!names.length) {
      return prefixes;
    }
    return {
      list: (prefixes ? prefixes.list : []).concat(names),
      from: context.from,
      to: context.to
    };
  }

  function completionUrl(context) {
    var params = new URLSearchParams({ q: context.q, lang: LANG, limit: COMPLETE_LIMIT });
    if (context.ns) {
      params.set("ns", context.ns);
    }
    if (context.cls) {
      params.set("class", context.cls);
    }
    (context.kinds || []).forEach(function (k) { params.append("kind", k); });
    return COMPLETE_URL + "?" + params.toString();
  }

  function fetchCompletions(url) {
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { return data ? data.results : null; })
      .catch(function () { return null; });
  }

  /* One completion list item: the IRI as it will be written and the label. */
  function nameHint(item, context) {
    var written = compact(item.iri);
    var label = (item.labels[LANG] || item.label).replace(/\s+/g, " ");
    var other = item.labels[LANG === "zh" ? "en" : "zh"];
    return {
      text: written,
      displayText: written + "  " + label + (other && other !== label ? " · " + other : ""),
      className: "qe-hint-" + item.kind + (item.used ? " qe-hint-used" : ""),
      hint: function (instance, data, completion) {
        var from = context.from;
        instance.replaceRange(completion.text, from, context.through(instance), "complete");
        commentLine(instance, from.line, label);
        var prefix = /^([A-Za-z][\w-]*):/.exec(written);
        if (prefix && state.prefixes[prefix[1]]) {
          declarePrefix(instance, prefix[1]);
        }
      }
    };
  }

  /* Append "# label" to line *n* unless it has a comment already. */
  function commentLine(cm, n, label) {
    var commented = cm.getLineTokens(n).some(function (t) {
      return /comment/.test(t.type || "");
    });
    if (!commented && label) {
      var end = cm.getLine(n).length;
      cm.replaceRange(" # " + label, CodeMirror.Pos(n, end), CodeMirror.Pos(n, end), "complete");
    }
  }

  /* What the text before the cursor asks the graph for, or null: after "<", a
   * prefixed name being written, or a word in a triple pattern; in the predicate
   * position of a subject whose class the query states, properties used with it. */
  function completionContext(cm, explicit) {
    var cursor = cm.getCursor();
    var line = cm.getLine(cursor.line);
    var before = line.slice(0, cursor.ch);
    var pos = function (ch) { return CodeMirror.Pos(cursor.line, ch); };
    var upToCursor = function () { return cursor; };
    var angle = /<([^<>\s?$"'][^<>"]*)$/.exec(before);
    if (angle) {
      if (/[:\/]/.test(angle[1]) || angle[1].trim().length < (explicit ? 1 : 2)) {
        return null;
      }
      return {
        q: angle[1].trim(),
        from: pos(before.length - angle[0].length),
        to: pos(cursor.ch),
        through: function (instance) {
          var at = instance.getCursor();
          var closing = instance.getLine(at.line).charAt(at.ch) === ">";
          return closing ? CodeMirror.Pos(at.line, at.ch + 1) : at;
        }
      };
    }
    var text = cm.getRange(CodeMirror.Pos(0, 0), cursor);
    if (!insideGroup(text)) {
      return null;
    }
    var predicate = predicateSubject(text.slice(0, text.length - currentWord(before).length));
    var cls = predicate ? classOf(cm.getValue(), predicate) : null;
    var prefixed = /(^|[\s{(,;])([A-Za-z][\w-]*):([^\s:;,(){}<>"'#]*)$/.exec(before);
    if (prefixed) {
      var ns = declaredPrefixes(cm.getValue())[prefixed[2]] || state.prefixes[prefixed[2]];
      if (!ns || (!explicit && !prefixed[3] && !cls)) {
        return null;
      }
      return {
        q: prefixed[3],
        ns: ns,
        cls: cls,
        kinds: predicate ? ["property"] : null,
        from: pos(before.length - prefixed[0].length + prefixed[1].length),
        to: pos(cursor.ch),
        through: upToCursor
      };
    }
    var word = currentWord(before);
    if (cls && (word || /\s$/.test(before))) {
      return {
        q: word, cls: cls, kinds: ["property"],
        from: pos(cursor.ch - word.length), to: pos(cursor.ch), through: upToCursor
      };
    }
    var min = explicit ? 1 : 2;
    if (word.length < min || isKeywordStart(word) || /^[\d.+-]/.test(word) ||
        !/(^|[\s{(,;.])$/.test(before.slice(0, before.length - word.length))) {
      return null;
    }
    return {
      q: word,
      kinds: predicate ? ["property"] : null,
      from: pos(cursor.ch - word.length),
      to: pos(cursor.ch),
      through: upToCursor
    };
  }

  /* The name-like word that ends *before* (letters, digits, CJK; no SPARQL signs). */
  function currentWord(before) {
    var m = /[^\s?$<>:"'#{}()\[\].;,=!|&*\/^@]*$/.exec(before);
    return m ? m[0] : "";
  }

  function isKeywordStart(word) {
    var upper = word.toUpperCase();
    return KEYWORDS.some(function (k) { return k.indexOf(upper) === 0; });
  }

  /* The text without IRIs, strings and comments, so their dots and braces do not count. */
  function plain(text) {
    return text
      .replace(/<[^<>\s]*>/g, "<>")
      .replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, "\"\"")
      .replace(/#[^\n]*/g, "");
  }

  function insideGroup(text) {
    var t = plain(text);
    return (t.match(/\{/g) || []).length > (t.match(/\}/g) || []).length;
  }

  /* The variable whose predicate is being written at the end of *text* ("?x " at
   * the start of a pattern, or "?x … ;"), or null. */
  function predicateSubject(text) {
    var t = plain(text);
    var pattern = t.slice(Math.max(t.lastIndexOf("{"), t.lastIndexOf("}"),
      t.search(/\.\s*[^.]*$/)) + 1);
    var start = /^\s*\?(\w+)\s/.exec(pattern);
    if (!start) {
      return null;
    }
    var rest = pattern.slice(start[0].length);
    return !rest.trim() || /;\s*$/.test(rest) ? start[1] : null;
  }

  /* The IRI of the class the query says variable *v* has ("?v a mededkg:Hospital"). */
  function classOf(text, v) {
    var found = new RegExp(
      "\\?" + v + "\\s+(?:a|rdf:type)\\s+(<[^<>\\s]+>|[A-Za-z][\\w-]*:[\\w.-]*[\\w-])"
    ).exec(text);
    if (!found) {
      return null;
    }
    var name = found[1];
    if (name.charAt(0) === "<") {
      return name.slice(1, -1);
    }
    var colon = name.indexOf(":");
    var ns = declaredPrefixes(text)[name.slice(0, colon)] || state.prefixes[name.slice(0, colon)];
    return ns ? ns + name.slice(colon + 1) : null;
  }

  /* The prefixes the query declares itself. */
  function declaredPrefixes(text) {
    var found = {};
    var re = /^\s*PREFIX\s+([A-Za-z][\w-]*)?\s*:\s*<([^<>\s]*)>/gim;
    var m;
    while ((m = re.exec(text)) !== null) {
      found[m[1] || ""] = m[2];
    }
    return found;
  }

  function prefixHints(cm, explicit) {
    var cursor = cm.getCursor();
    var line = cm.getLine(cursor.line);
    var start = cursor.ch;
    while (start > 0 && /[\w-]/.test(line.charAt(start - 1))) {
      start -= 1;
    }
    if (line.charAt(cursor.ch) === ":" || /[?$<:]$/.test(line.slice(0, start))) {
      return null;
    }
    var word = line.slice(start, cursor.ch);
    if (!explicit && word.length < 2) {
      return null;
    }
    var declaring = /^\s*PREFIX\s*$/i.test(line.slice(0, start));
    var list = Object.keys(state.prefixes)
      .filter(function (p) { return p.indexOf(word) === 0; })
      .sort()
      .map(function (prefix) {
        var ns = state.prefixes[prefix];
        if (declaring) {
          return { text: prefix + ": <" + ns + ">", displayText: prefix + ": <" + ns + ">" };
        }
        return {
          text: prefix + ":",
          displayText: prefix + ":  " + ns,
          hint: function (instance, data, completion) {
            instance.replaceRange(completion.text, data.from, data.to, "complete");
            declarePrefix(instance, prefix);
          }
        };
      });
    if (!list.length || (!explicit && list.length === 1 && list[0].text === word + ":")) {
      return null;
    }
    return {
      list: list,
      from: CodeMirror.Pos(cursor.line, start),
      to: CodeMirror.Pos(cursor.line, cursor.ch)
    };
  }

  /* Add a PREFIX line for *prefix* unless the query declares it already. */
  function declarePrefix(cm, prefix) {
    var text = cm.getValue();
    var declared = new RegExp("^\\s*PREFIX\\s+" + prefix.replace(/[-]/g, "\\-") + "\\s*:", "im");
    if (declared.test(text)) {
      return;
    }
    var at = 0;
    for (var i = 0; i < cm.lineCount(); i += 1) {
      var l = cm.getLine(i);
      if (/^\s*(PREFIX|BASE)\b/i.test(l) || /^\s*#/.test(l)) {
        at = i + 1;
      } else if (l.trim()) {
        break;
      }
    }
    cm.replaceRange(
      "PREFIX " + prefix + ": <" + state.prefixes[prefix] + ">\n",
      CodeMirror.Pos(at, 0), CodeMirror.Pos(at, 0), "complete"
    );
  }

  /* ------------------------------------------------------------- examples */
  function loadExamples() {
    return fetch(QUERIES_URL, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        var list = $("example-list");
        list.textContent = "";
        items.forEach(function (q) {
          state.examples[q.name] = q;
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = "?example=" + encodeURIComponent(q.name);
          a.className = "qe-example";
          a.dataset.name = q.name;
          a.textContent = q.title;
          var p = document.createElement("p");
          p.textContent = q.description;
          li.appendChild(a);
          li.appendChild(p);
          list.appendChild(li);
        });
      });
  }

  $("example-list").addEventListener("click", function (event) {
    var link = event.target.closest("a.qe-example");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    event.preventDefault();
    chooseExample(link.dataset.name, {}, null);
    if (window.matchMedia("(max-width: 700px)").matches) {
      $("examples").open = false;
    }
  });

  /* Show example *name*: its text (unless *text* is given), title and parameter form. */
  function chooseExample(name, values, text) {
    var q = state.examples[name];
    if (!q) {
      return Promise.resolve();
    }
    return fetch(q.url + ".rq")
      .then(function (r) { return r.text(); })
      .then(function (original) {
        state.example = q;
        state.exampleText = original;
        Array.prototype.forEach.call(document.querySelectorAll("a.qe-example"), function (a) {
          a.classList.toggle("current", a.dataset.name === name);
        });
        $("example-title").textContent = q.title;
        $("example-description").textContent = q.description;
        buildParams(q.params, values);
        $("example-info").hidden = false;
        editor.setValue(text === null ? original : text);
        clearResults();
        updateEditedNote();
        updateUrl();
      });
  }

  function buildParams(params, values) {
    var box = $("params-fields");
    box.textContent = "";
    params.forEach(function (p) {
      var row = document.createElement("div");
      row.className = "qe-param";
      var label = document.createElement("label");
      label.htmlFor = "param-" + p.name;
      label.textContent = p.name + " (" + p.type + ")";
      var input = document.createElement("input");
      input.id = "param-" + p.name;
      input.name = p.name;
      input.type = "text";
      input.autocomplete = "off";
      if (p.type === "iri") {
        input.inputMode = "url";
      }
      var example = /e\.g\.\s*(\S+)/.exec(p.description);
      input.placeholder = example ? example[1] : p.type;
      input.value = values[p.name] || "";
      input.addEventListener("input", updateUrl);
      var help = document.createElement("small");
      help.textContent = p.description;
      row.appendChild(label);
      row.appendChild(input);
      row.appendChild(help);
      box.appendChild(row);
    });
    $("params-form").hidden = params.length === 0;
  }

  $("params-form").addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });

  function exampleUnedited() {
    return state.example !== null && editor.getValue() === state.exampleText;
  }

  function updateEditedNote() {
    var edited = state.example !== null && !exampleUnedited();
    $("example-edited").hidden = !edited || state.example.params.length === 0;
    $("params-form").disabled = edited;
  }

  function paramValues() {
    var values = {};
    Array.prototype.forEach.call($("params-fields").querySelectorAll("input"), function (i) {
      if (i.value.trim()) {
        values[i.name] = i.value.trim();
      }
    });
    return values;
  }

  /* ------------------------------------------------------------- URL state */
  function updateUrl() {
    var params = new URLSearchParams();
    var current = new URLSearchParams(window.location.search);
    if (current.get("lang")) {
      params.set("lang", current.get("lang"));
    }
    if (state.example) {
      params.set("example", state.example.name);
    }
    if (exampleUnedited()) {
      var values = paramValues();
      Object.keys(values).forEach(function (k) { params.set(k, values[k]); });
    } else {
      params.set("query", editor.getValue());
    }
    var url = window.location.pathname + "?" + params.toString();
    window.history.replaceState(null, "", url);
    /* The layout's language switch keeps the query too. */
    Array.prototype.forEach.call(document.querySelectorAll(".lang-switch a[hreflang]"), function (a) {
      var switched = new URLSearchParams(params);
      switched.set("lang", a.getAttribute("hreflang"));
      a.href = window.location.pathname + "?" + switched.toString();
    });
  }

  /* ------------------------------------------------------------- running */
  /* The request for the current query in *accept*: the named query's API when an
   * example runs as loaded (parameters bound server-side), else /sparql. */
  function request(accept) {
    if (exampleUnedited()) {
      var params = new URLSearchParams(paramValues());
      var qs = params.toString();
      return fetch(state.example.url + (qs ? "?" + qs : ""), {
        headers: { Accept: accept }
      });
    }
    return fetch(SPARQL_URL, {
      method: "POST",
      headers: {
        Accept: accept,
        "Content-Type": "application/x-www-form-urlencoded"
      },
      body: new URLSearchParams({ query: editor.getValue() })
    });
  }

  function run() {
    var id = (state.runId += 1);
    var started = performance.now();
    var text = editor.getValue();
    clearErrorMarks();
    setStatus(T.running);
    $("run-button").disabled = true;
    root.dataset.state = "running";
    return state.background
      .then(function () { return request(RESULTS_JSON + ", text/turtle;q=0.9"); })
      .then(function (response) {
        if (!response.ok) {
          return errorMessage(response).then(function (message) {
            throw new QueryError(message);
          });
        }
        var truncated = response.headers.has("MedEdKG-Result-Truncated");
        var build = response.headers.get("MedEdKG-Build") || "";
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("json") >= 0) {
          return response.json().then(function (data) {
            if (typeof data.boolean === "boolean") {
              return { kind: "boolean", value: data.boolean, truncated: false, build: build };
            }
            return {
              kind: "rows",
              vars: data.head.vars,
              rows: data.results.bindings,
              truncated: truncated,
              build: build
            };
          });
        }
        return response.text().then(function (text) {
          return { kind: "graph", text: text, truncated: truncated, build: build };
        });
      })
      .then(function (result) {
        if (id !== state.runId) {
          return;
        }
        recordRun(text, result);
        state.result = result;
        state.sort = null;
        var building = performance.now();
        showResults();
        root.dataset.tableMs = (performance.now() - building).toFixed(1);
        var ms = performance.now() - started;
        root.dataset.renderMs = ms.toFixed(1);
        root.dataset.state = "done";
        setStatus(summary(result) + " · " + Math.round(ms) + " ms");
        updateUrl();
        if (result.kind === "rows") {
          state.background = fetchLabels(result, id).then(function () {
            if (id === state.runId) {
              refreshLabels();
            }
          });
        }
      })
      .catch(function (error) {
        if (id !== state.runId) {
          return;
        }
        root.dataset.state = "error";
        setStatus("");
        showError(error instanceof QueryError ? error.message : String(error));
      })
      .then(function () {
        $("run-button").disabled = false;
      });
  }

  function QueryError(message) {
    this.message = message;
  }

  function errorMessage(response) {
    return response.text().then(function (body) {
      try {
        var parsed = JSON.parse(body);
        if (parsed && parsed.error) {
          return parsed.error.status + " " + parsed.error.title + ": " + parsed.error.message;
        }
      } catch (ignored) {
        /* not JSON: show the body as it is */
      }
      return response.status + " " + (body || response.statusText);
    });
  }

  $("run-button").addEventListener("click", function () { run(); });

  /* Ctrl+Enter also runs from the parameter fields and anywhere on the page. */
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !editor.hasFocus()) {
      event.preventDefault();
      run();
    }
  });

  function setStatus(text) {
    $("status").textContent = text;
  }

  function summary(result) {
    if (result.kind === "rows") {
      return result.rows.length + " " + T.rows;
    }
    if (result.kind === "boolean") {
      return String(result.value);
    }
    return T.graph_result;
  }

  /* ------------------------------------------------------------- errors */
  function showError(message) {
    var box = $("query-error");
    box.textContent = message;
    box.hidden = false;
    var at = /error at (\d+):(\d+)/.exec(message);
    if (!at) {
      return;
    }
    var reportedLine = parseInt(at[1], 10);
    var column = parseInt(at[2], 10);
    var line = errorLine(reportedLine - 1, column);
    editor.addLineClass(line, "background", "qe-error-line");
    var marker = document.createElement("span");
    marker.className = "qe-error-marker";
    marker.title = message;
    marker.textContent = "●";
    editor.setGutterMarker(line, "qe-error-gutter", marker);
    var note = document.createElement("div");
    note.className = "qe-error-widget";
    var detail = message.replace(/^.*?error at \d+:\d+:\s*/, "");
    var prefix = /Prefix not found/.test(detail) ? undeclaredPrefix(line, column) : null;
    if (prefix !== null) {
      detail = T.undeclared_prefix.replace("{prefix}", prefix + ":");
    } else if (detail.length > 160) {
      detail = detail.slice(0, 160) + " …";
    }
    note.textContent = "▲ " + T.line_column.replace("{line}", reportedLine)
      .replace("{column}", column) + ": " + detail;
    if (prefix !== null && state.prefixes[prefix]) {
      var fix = document.createElement("button");
      fix.type = "button";
      fix.className = "qe-fix";
      fix.textContent = "PREFIX " + prefix + ": <" + state.prefixes[prefix] + ">";
      fix.addEventListener("click", function () {
        declarePrefix(editor, prefix);
        editor.focus();
      });
      note.appendChild(document.createTextNode(" "));
      note.appendChild(fix);
    }
    var widget = editor.addLineWidget(line, note, { coverGutter: false, noHScroll: true });
    state.errorMarks.push({ line: editor.getLineHandle(line), widget: widget });
    editor.scrollIntoView({ line: line, ch: 0 }, 60);
  }

  /* The prefix of the prefixed name that ends before *column* (1-based) on *line*. */
  function undeclaredPrefix(line, column) {
    var before = editor.getLine(line).slice(0, Math.max(column - 1, 0));
    var match = /([A-Za-z][\w.-]*)?:[\w.-]*$/.exec(before);
    return match ? match[1] || "" : null;
  }

  /* The line an error at (*line*, *column*) concerns. The parser reports where it
   * stopped, which is after the offending token; when only blanks precede that point
   * on its line, the token is on the last line before it that has text. */
  function errorLine(line, column) {
    var last = editor.lineCount() - 1;
    if (line > last) {
      line = last;
      column = editor.getLine(last).length + 1;
    }
    if (editor.getLine(line).slice(0, column - 1).trim()) {
      return line;
    }
    for (var i = line - 1; i >= 0; i -= 1) {
      if (editor.getLine(i).trim()) {
        return i;
      }
    }
    return line;
  }

  function clearErrorMarks() {
    state.errorMarks.forEach(function (m) {
      editor.removeLineClass(m.line, "background", "qe-error-line");
      editor.setGutterMarker(m.line, "qe-error-gutter", null);
      m.widget.clear();
    });
    state.errorMarks = [];
    $("query-error").hidden = true;
  }

  /* ------------------------------------------------------------- checking */
  /* The query is parsed in the page (sparqljs, a SPARQL 1.1 parser) a moment after
   * each change, so a syntax error is marked before Run; Run still sends whatever is
   * written, and the server's own message shows as before. The text checked is the
   * text sent: the page adds no prefixes, and an example's parameters are bound by
   * the server to variables that are already in the text. */
  var CHECK_DELAY_MS = 300;

  function scheduleCheck() {
    window.clearTimeout(state.checkTimer);
    root.dataset.check = "pending";
    state.checkTimer = window.setTimeout(checkSyntax, CHECK_DELAY_MS);
  }

  function checkSyntax() {
    clearCheckMarks();
    var problem = syntaxProblem(editor.getValue());
    root.dataset.check = problem ? "error" : "ok";
    if (problem) {
      markCheckProblem(problem);
    }
  }

  /* The first syntax error of *text* as {line (0-based), column (1-based), detail},
   * or null when it parses (or when the parser did not load). */
  function syntaxProblem(text) {
    if (typeof sparqljs === "undefined") {
      return null;
    }
    try {
      new sparqljs.Parser({ baseIRI: new URL(SPARQL_URL, window.location.href).href,
        sparqlStar: true }).parse(text);
      return null;
    } catch (error) {
      return problemAt(text, error);
    }
  }

  /* Where the parser's *error* lies in *text*: its location when it gives one, else
   * (an unknown prefix) the first use of the prefix, else the first line. */
  function problemAt(text, error) {
    var message = String(error && error.message || error);
    var hash = error && error.hash;
    var unknown = /^Unknown prefix: (.*)$/.exec(message);
    if (unknown) {
      var used = firstUse(text, unknown[1]);
      return { line: used.line, column: used.column,
        detail: T.prefix_not_declared.replace("{prefix}", unknown[1] + ":"),
        prefix: unknown[1] };
    }
    var lines = message.split("\n");
    var detail = readableDetail(lines[lines.length - 1]);
    if (hash && hash.loc) {
      return { line: hash.loc.first_line - 1, column: hash.loc.first_column + 1,
        detail: detail };
    }
    var line = /on line (\d+)/.exec(message);
    return { line: line ? parseInt(line[1], 10) - 1 : 0, column: 1, detail: detail };
  }

  /* The parser's "Expecting 'A', 'B', …, got 'C'" said shortly: the token found, then
   * a few of those expected. */
  function readableDetail(said) {
    var parts = /^Expecting (.*), got (.*)$/.exec(said);
    if (!parts) {
      return said;
    }
    var expected = parts[1].split(", ");
    var shown = expected.slice(0, 6).join(", ") + (expected.length > 6 ? ", …" : "");
    return T.unexpected_token.replace("{token}", parts[2]).replace("{expected}", shown);
  }

  /* Line (0-based) and column (1-based) of the first prefixed name using *prefix*. */
  function firstUse(text, prefix) {
    var lines = text.split("\n");
    var name = new RegExp("(^|[^\\w:<?$-])" + prefix.replace(/[.-]/g, "\\$&") + ":");
    for (var i = 0; i < lines.length; i += 1) {
      if (/^\s*#/.test(lines[i])) {
        continue;
      }
      var found = name.exec(lines[i]);
      if (found) {
        return { line: i, column: found.index + found[1].length + 1 };
      }
    }
    return { line: 0, column: 1 };
  }

  function markCheckProblem(problem) {
    var line = Math.min(problem.line, editor.lineCount() - 1);
    var where = T.line_column.replace("{line}", line + 1).replace("{column}", problem.column);
    var detail = problem.detail.length > 160 ? problem.detail.slice(0, 160) + " …"
      : problem.detail;
    var text = T.syntax_check + " " + where + ": " + detail;
    editor.addLineClass(line, "background", "qe-check-line");
    var marker = document.createElement("span");
    marker.className = "qe-check-marker";
    marker.title = text;
    marker.textContent = "▲";
    if (!editor.lineInfo(line).gutterMarkers) {
      editor.setGutterMarker(line, "qe-error-gutter", marker);
    }
    state.checkMarks.push(editor.getLineHandle(line));
    var box = $("query-check");
    box.textContent = text;
    box.hidden = false;
  }

  function clearCheckMarks() {
    state.checkMarks.forEach(function (handle) {
      editor.removeLineClass(handle, "background", "qe-check-line");
      var info = editor.lineInfo(handle);
      var marker = info && info.gutterMarkers && info.gutterMarkers["qe-error-gutter"];
      if (marker && marker.className === "qe-check-marker") {
        editor.setGutterMarker(handle, "qe-error-gutter", null);
      }
    });
    state.checkMarks = [];
    $("query-check").hidden = true;
  }

  /* ------------------------------------------------------------- results */
  function clearResults() {
    state.result = null;
    $("results").hidden = true;
    setStatus("");
  }

  function showResults() {
    var result = state.result;
    $("results").hidden = false;
    var rows = result.kind === "rows";
    Array.prototype.forEach.call($("downloads").querySelectorAll("button"), function (b) {
      b.hidden = b.dataset.kind !== (result.kind === "graph" ? "graph" : "rows");
    });
    $("tab-chart").hidden = !rows;
    $("tab-map").hidden = true;
    $("map-view").hidden = true;
    $("tabs").hidden = result.kind === "graph";
    $("labels-control").hidden = result.kind === "graph";
    $("graph-view").hidden = result.kind !== "graph";
    $("result-summary").textContent = result.truncated ? T.truncated : "";
    if (result.kind === "graph") {
      $("graph-view").textContent = result.text;
      $("table-view").hidden = true;
      $("chart-view").hidden = true;
      return;
    }
    if (result.kind === "boolean") {
      result = state.result = {
        kind: "rows",
        vars: ["boolean"],
        rows: [{ boolean: { type: "literal", value: String(result.value),
          datatype: XSD + "boolean" } }],
        truncated: false
      };
    }
    renderTable();
    setupChart();
    var points = setupMap();
    $("tab-map").hidden = !points;
    selectView(
      state.view === "chart" && chartColumns().ok ? "chart"
        : state.view === "map" && points ? "map" : "table"
    );
  }

  function isNumeric(term) {
    return term && term.type === "literal" && NUMERIC.indexOf(term.datatype) >= 0;
  }

  function numericColumns(result) {
    return result.vars.filter(function (v) {
      var seen = false;
      for (var i = 0; i < result.rows.length; i += 1) {
        var term = result.rows[i][v];
        if (term) {
          if (!isNumeric(term)) {
            return false;
          }
          seen = true;
        }
      }
      return seen;
    });
  }

  /* The IRI written with a prefix from the map when one fits (longest namespace). */
  function compact(iri) {
    var best = null;
    Object.keys(state.prefixes).forEach(function (p) {
      var ns = state.prefixes[p];
      if (iri.indexOf(ns) === 0 && /^[\w.-]*$/.test(iri.slice(ns.length)) &&
          (best === null || ns.length > state.prefixes[best].length)) {
        best = p;
      }
    });
    return best === null ? "<" + iri + ">" : best + ":" + iri.slice(state.prefixes[best].length);
  }

  /* Where a link to *iri* goes: this server's own page for IRIs under the base IRI. */
  function href(iri) {
    return iri.indexOf(BASE_IRI) === 0 ? "/" + iri.slice(BASE_IRI.length) : iri;
  }

  function labelOf(iri) {
    var lang = $("label-lang").value;
    var found = state.labels[iri];
    if (!found) {
      return null;
    }
    if (found[lang]) {
      return { text: found[lang], lang: lang };
    }
    var other = lang === "zh" ? "en" : "zh";
    return found[other] ? { text: found[other], lang: other, fallback: true } : null;
  }

  function cell(term, numeric) {
    var td = document.createElement("td");
    if (!term) {
      return td;
    }
    if (term.type === "uri") {
      var a = document.createElement("a");
      a.href = href(term.value);
      a.className = "iri";
      a.title = term.value;
      a.textContent = compact(term.value);
      td.appendChild(a);
      var label = document.createElement("span");
      label.className = "iri-label";
      label.dataset.iri = term.value;
      td.appendChild(label);
      fillLabel(label);
    } else if (term.type === "bnode") {
      td.textContent = "_:" + term.value;
      td.className = "bnode";
    } else {
      td.textContent = term.value;
      if (term["xml:lang"]) {
        td.lang = term["xml:lang"];
        td.title = "@" + term["xml:lang"];
      } else if (term.datatype) {
        td.title = compact(term.datatype);
      }
      if (numeric) {
        td.className = "num";
      }
    }
    return td;
  }

  function fillLabel(span) {
    var label = labelOf(span.dataset.iri);
    span.textContent = label ? label.text : "";
    span.lang = label ? label.lang : "";
    span.classList.toggle("fallback", Boolean(label && label.fallback));
  }

  function renderTable() {
    var result = state.result;
    var numeric = numericColumns(result);
    var table = $("results-table");
    var thead = document.createElement("thead");
    var tr = document.createElement("tr");
    result.vars.forEach(function (v) {
      var th = document.createElement("th");
      th.scope = "col";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "qe-sort";
      button.dataset.column = v;
      button.textContent = "?" + v;
      th.appendChild(button);
      if (state.sort && state.sort.column === v) {
        th.setAttribute("aria-sort", state.sort.descending ? "descending" : "ascending");
      }
      if (numeric.indexOf(v) >= 0) {
        th.className = "num";
      }
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    var tbody = document.createElement("tbody");
    var fragment = document.createDocumentFragment();
    sortedRows(result, numeric).forEach(function (row) {
      var rowEl = document.createElement("tr");
      result.vars.forEach(function (v) {
        rowEl.appendChild(cell(row[v], numeric.indexOf(v) >= 0));
      });
      fragment.appendChild(rowEl);
    });
    tbody.appendChild(fragment);
    table.textContent = "";
    table.appendChild(thead);
    table.appendChild(tbody);
    table.dataset.rows = String(result.rows.length);
    if (!result.rows.length) {
      $("result-summary").textContent = T.no_rows;
    }
  }

  function sortedRows(result, numeric) {
    if (!state.sort) {
      return result.rows;
    }
    var column = state.sort.column;
    var sign = state.sort.descending ? -1 : 1;
    var asNumber = numeric.indexOf(column) >= 0;
    var collator = new Intl.Collator(undefined, { numeric: true });
    return result.rows.slice().sort(function (a, b) {
      var x = a[column];
      var y = b[column];
      if (!x || !y) {
        return x ? -1 : y ? 1 : 0; // unbound last, whatever the direction
      }
      if (asNumber) {
        return sign * (parseFloat(x.value) - parseFloat(y.value));
      }
      return sign * collator.compare(x.value, y.value);
    });
  }

  $("results-table").addEventListener("click", function (event) {
    var button = event.target.closest("button.qe-sort");
    if (!button) {
      return;
    }
    var column = button.dataset.column;
    state.sort = {
      column: column,
      descending: Boolean(state.sort && state.sort.column === column && !state.sort.descending)
    };
    renderTable();
  });

  /* ------------------------------------------------------------- labels */
  /* Fetch rdfs:label and skos:prefLabel (zh, en) of the result's IRIs in a few queries. */
  function fetchLabels(result, id) {
    var wanted = [];
    var seen = {};
    result.rows.forEach(function (row) {
      result.vars.forEach(function (v) {
        var term = row[v];
        if (term && term.type === "uri" && !seen[term.value] && !state.labels[term.value]) {
          seen[term.value] = true;
          wanted.push(term.value);
        }
      });
    });
    wanted = wanted.slice(0, LABEL_MAX);
    var batches = [];
    for (var i = 0; i < wanted.length; i += LABEL_BATCH) {
      batches.push(wanted.slice(i, i + LABEL_BATCH));
    }
    return batches.reduce(function (previous, batch) {
      return previous.then(function () {
        /* a newer run stops the lookups after the batch in flight */
        return id === state.runId ? fetchLabelBatch(batch) : null;
      });
    }, Promise.resolve());
  }

  function fetchLabelBatch(iris) {
    var query = [
      "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>",
      "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
      "SELECT ?s ?label WHERE {",
      "  VALUES ?s { " + iris.map(function (iri) {
        return "<" + iri.replace(/[<>"{}|^`\\\s]/g, encodeURIComponent) + ">";
      }).join(" ") + " }",
      "  { ?s skos:prefLabel ?label } UNION { ?s rdfs:label ?label }",
      "  FILTER(LANGMATCHES(LANG(?label), \"zh\") || LANGMATCHES(LANG(?label), \"en\"))",
      "}"
    ].join("\n");
    return fetch(SPARQL_URL, {
      method: "POST",
      headers: { Accept: RESULTS_JSON, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ query: query })
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        iris.forEach(function (iri) {
          state.labels[iri] = state.labels[iri] || {};
        });
        if (!data) {
          return;
        }
        data.results.bindings.forEach(function (b) {
          var lang = b.label["xml:lang"].toLowerCase().slice(0, 2);
          var entry = state.labels[b.s.value];
          if (!entry[lang]) {
            entry[lang] = b.label.value; // skos:prefLabel first, as the UNION orders
          }
        });
      })
      .catch(function () {
        /* labels are a nicety: the table stands without them */
      });
  }

  function refreshLabels() {
    Array.prototype.forEach.call(document.querySelectorAll("span.iri-label"), fillLabel);
    if (state.chart) {
      drawChart();
    }
  }

  $("label-lang").addEventListener("change", refreshLabels);

  /* ------------------------------------------------------------- chart */
  function chartColumns() {
    var result = state.result;
    if (!result || result.kind !== "rows" || !result.rows.length) {
      return { ok: false };
    }
    var numeric = numericColumns(result);
    var labels = result.vars.filter(function (v) { return numeric.indexOf(v) < 0; });
    return { ok: numeric.length > 0 && labels.length > 0, numeric: numeric, labels: labels };
  }

  function fillSelect(select, options, preferred) {
    select.textContent = "";
    options.forEach(function (v) {
      var option = document.createElement("option");
      option.value = v;
      option.textContent = "?" + v;
      select.appendChild(option);
    });
    if (options.indexOf(preferred) >= 0) {
      select.value = preferred;
    }
  }

  function setupChart() {
    var columns = chartColumns();
    $("chart-note").hidden = columns.ok;
    $("chart-label").disabled = $("chart-value").disabled = !columns.ok;
    if (!columns.ok) {
      destroyChart();
      return;
    }
    /* An IRI column reads best: its labels stand for the bars. */
    var result = state.result;
    var firstIri = columns.labels.filter(function (v) {
      return result.rows.some(function (r) { return r[v] && r[v].type === "uri"; });
    })[0];
    fillSelect($("chart-label"), columns.labels, firstIri || columns.labels[0]);
    fillSelect($("chart-value"), columns.numeric, columns.numeric[0]);
  }

  function destroyChart() {
    if (state.chart) {
      state.chart.destroy();
      state.chart = null;
    }
  }

  var PALETTE = ["#0f4c5c", "#e36414", "#5f0f40", "#9a031e", "#fb8b24", "#2a9d8f",
    "#6c757d", "#3a86ff", "#8338ec", "#ffbe0b"];

  function drawChart() {
    destroyChart();
    var columns = chartColumns();
    if (!columns.ok || $("chart-view").hidden || typeof Chart === "undefined") {
      return;
    }
    var labelColumn = $("chart-label").value;
    var valueColumn = $("chart-value").value;
    var type = $("chart-type").value;
    var rows = state.result.rows.filter(function (r) { return r[valueColumn]; }).slice(0, CHART_MAX);
    var labels = rows.map(function (r) {
      var term = r[labelColumn];
      if (!term) {
        return "";
      }
      if (term.type === "uri") {
        var label = labelOf(term.value);
        return label ? label.text : compact(term.value);
      }
      return term.value;
    });
    var values = rows.map(function (r) { return parseFloat(r[valueColumn].value); });
    var colours = type === "pie"
      ? values.map(function (_, i) { return PALETTE[i % PALETTE.length]; })
      : PALETTE[0];
    state.chart = new Chart($("results-chart"), {
      type: type,
      data: {
        labels: labels,
        datasets: [{
          label: "?" + valueColumn,
          data: values,
          backgroundColor: colours,
          borderColor: type === "line" ? PALETTE[0] : "#fff",
          borderWidth: type === "bar" ? 0 : 1
        }]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: type === "pie", position: "bottom" } },
        scales: type === "pie" ? {} : { y: { beginAtZero: true } }
      }
    });
  }

  ["chart-label", "chart-value", "chart-type"].forEach(function (id) {
    $(id).addEventListener("change", drawChart);
  });

  /* ------------------------------------------------------------- map */
  /* The columns whose values are GeoSPARQL WKT points (at least one, nothing else). */
  function wktColumns(result) {
    return result.vars.filter(function (v) {
      var seen = false;
      for (var i = 0; i < result.rows.length; i += 1) {
        var term = result.rows[i][v];
        if (term) {
          if (term.type !== "literal" || term.datatype !== WKT || !wktPoint(term.value)) {
            return false;
          }
          seen = true;
        }
      }
      return seen;
    });
  }

  /* [longitude, latitude] of a WKT point (map.js has the same reading; this one
   * decides whether to offer the map before map.js is loaded). */
  function wktPoint(text) {
    var m = /^\s*(?:<[^>]*>\s*)?POINT\s*\(\s*(-?[\d.]+(?:[eE][-+]?\d+)?)\s+(-?[\d.]+(?:[eE][-+]?\d+)?)\s*\)\s*$/i
      .exec(text);
    return m ? [parseFloat(m[1]), parseFloat(m[2])] : null;
  }

  /* Fill the column chooser; true if the result has a WKT column to map. */
  function setupMap() {
    destroyMap();
    var result = state.result;
    var columns = result && result.kind === "rows" ? wktColumns(result) : [];
    fillSelect($("map-column"), columns, columns[0]);
    return columns.length > 0;
  }

  function destroyMap() {
    state.mapId += 1;
    if (state.map) {
      state.map.remove();
      state.map = null;
    }
  }

  var mapLoading = null;

  /* map.js (and through it Leaflet and the boundaries), once, when a map is first shown. */
  function loadMapScript() {
    if (!mapLoading) {
      mapLoading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = MAP_SCRIPT;
        s.onload = resolve;
        s.onerror = function () { reject(new Error("could not load " + MAP_SCRIPT)); };
        document.head.appendChild(s);
      }).then(function () { return window.MedEdKGMap.load(); });
      mapLoading.catch(function () { mapLoading = null; });
    }
    return mapLoading;
  }

  /* The popup of a row: its other values, IRIs as links with their labels. */
  function popupOf(row, column) {
    var box = document.createElement("dl");
    box.className = "qe-popup";
    state.result.vars.forEach(function (v) {
      var term = row[v];
      if (v === column || !term) {
        return;
      }
      var dt = document.createElement("dt");
      dt.textContent = "?" + v;
      var dd = document.createElement("dd");
      if (term.type === "uri") {
        var a = document.createElement("a");
        a.href = href(term.value);
        a.title = term.value;
        var label = labelOf(term.value);
        a.textContent = label ? label.text : compact(term.value);
        dd.appendChild(a);
      } else {
        dd.textContent = term.type === "bnode" ? "_:" + term.value : term.value;
        if (term["xml:lang"]) {
          dd.lang = term["xml:lang"];
        }
      }
      box.appendChild(dt);
      box.appendChild(dd);
    });
    return box;
  }

  function drawMap() {
    destroyMap();
    var id = state.mapId;
    var column = $("map-column").value;
    var rows = state.result.rows.filter(function (r) {
      return r[column] && wktPoint(r[column].value);
    });
    $("map-count").textContent = T.map_loading;
    delete $("results-map").dataset.markers;
    loadMapScript()
      .then(function (base) {
        if (id !== state.mapId || $("map-view").hidden) {
          return;
        }
        $("map-count").textContent = T.map_count.replace("{n}", String(rows.length));
        var map = state.map = window.MedEdKGMap.create($("results-map"), base);
        var markers = rows.map(function (row) {
          var at = wktPoint(row[column].value);
          return L.circleMarker([at[1], at[0]], {
            className: "qe-marker", radius: 5, weight: 1, color: "#fff",
            fillColor: "#e36414", fillOpacity: 0.85
          }).bindPopup(function () { return popupOf(row, column); });
        });
        var group = L.featureGroup(markers).addTo(map);
        if (markers.length) {
          map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 8 });
        }
        $("results-map").dataset.markers = String(markers.length);
      })
      .catch(function (error) {
        if (id === state.mapId) {
          showError(T.map_failed + " " + String(error.message || error));
        }
      });
  }

  $("map-column").addEventListener("change", drawMap);

  function selectView(view) {
    state.view = view;
    $("tab-table").setAttribute("aria-selected", String(view === "table"));
    $("tab-chart").setAttribute("aria-selected", String(view === "chart"));
    $("tab-map").setAttribute("aria-selected", String(view === "map"));
    $("table-view").hidden = view !== "table";
    $("chart-view").hidden = view !== "chart";
    $("map-view").hidden = view !== "map";
    if (view === "chart") {
      drawChart();
    } else {
      destroyChart();
    }
    if (view === "map") {
      drawMap();
    } else {
      destroyMap();
    }
  }

  $("tab-table").addEventListener("click", function () { selectView("table"); });
  $("tab-chart").addEventListener("click", function () { selectView("chart"); });
  $("tab-map").addEventListener("click", function () { selectView("map"); });

  /* ------------------------------------------------------------- downloads */
  $("downloads").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-format]");
    if (!button) {
      return;
    }
    var format = FORMATS[button.dataset.format];
    button.disabled = true;
    request(format[0])
      .then(function (response) {
        if (!response.ok) {
          return errorMessage(response).then(function (m) { throw new QueryError(m); });
        }
        return response.blob();
      })
      .then(function (blob) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = (state.example && exampleUnedited() ? state.example.name : "query") +
          format[1];
        document.body.appendChild(a);
        a.click();
        a.remove();
        window.setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
      })
      .catch(function (error) {
        showError(error instanceof QueryError ? error.message : String(error));
      })
      .then(function () {
        button.disabled = false;
      });
  });

  /* ------------------------------------------------------------- storage */
  var HISTORY_KEY = "mededkg.query.history";
  var TABS_KEY = "mededkg.query.tabs";
  var HISTORY_MAX = 50;

  /* The value kept under *key* in localStorage, or *fallback* when there is none or
   * storage is unavailable (private windows may refuse it). */
  function loadStored(key, fallback) {
    try {
      var kept = window.localStorage.getItem(key);
      return kept === null ? fallback : JSON.parse(kept);
    } catch (ignored) {
      return fallback;
    }
  }

  function store(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (ignored) {
      /* storage full or refused: the page works on without it */
    }
  }

  /* ------------------------------------------------------------- history */
  /* Keep the query *text* just run with what it gave, newest first, 50 at most. */
  function recordRun(text, result) {
    var entry = { query: text, at: new Date().toISOString(), kind: result.kind,
      build: result.build || "" };
    if (result.kind === "rows") {
      entry.rows = result.rows.length;
    } else if (result.kind === "boolean") {
      entry.value = result.value;
    }
    if (result.build) {
      state.build = result.build;
    }
    var history = loadStored(HISTORY_KEY, []);
    history.unshift(entry);
    store(HISTORY_KEY, history.slice(0, HISTORY_MAX));
    renderHistory();
  }

  function historyOutcome(entry) {
    if (entry.kind === "rows") {
      return entry.rows + " " + T.rows;
    }
    if (entry.kind === "boolean") {
      return String(entry.value);
    }
    return T.graph_result;
  }

  function historyItem(entry, index) {
    var li = document.createElement("li");
    li.className = "qe-history-item";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "qe-history-entry";
    button.dataset.index = String(index);
    button.title = entry.query;
    button.textContent = entry.query.replace(/^\s*(PREFIX|BASE|#).*$/gim, "")
      .replace(/\s+/g, " ").trim().slice(0, 140) || entry.query.slice(0, 140);
    var meta = document.createElement("span");
    meta.className = "qe-history-meta";
    var when = document.createElement("time");
    when.dateTime = entry.at;
    when.textContent = new Date(entry.at).toLocaleString(root.dataset.lang);
    meta.appendChild(when);
    meta.appendChild(document.createTextNode(" · "));
    var outcome = document.createElement("span");
    outcome.className = "qe-history-outcome";
    outcome.textContent = historyOutcome(entry);
    meta.appendChild(outcome);
    if (entry.build && state.build && entry.build !== state.build) {
      var other = document.createElement("span");
      other.className = "qe-history-build";
      other.textContent = " · " + T.other_build.replace("{build}", entry.build);
      meta.appendChild(other);
    }
    li.appendChild(button);
    li.appendChild(meta);
    return li;
  }

  function renderHistory() {
    var history = loadStored(HISTORY_KEY, []);
    var list = $("history-list");
    list.textContent = "";
    history.forEach(function (entry, index) {
      list.appendChild(historyItem(entry, index));
    });
    $("history-empty").hidden = history.length > 0;
    $("clear-history").hidden = history.length === 0;
  }

  $("history-list").addEventListener("click", function (event) {
    var button = event.target.closest("button.qe-history-entry");
    if (!button) {
      return;
    }
    var entry = loadStored(HISTORY_KEY, [])[parseInt(button.dataset.index, 10)];
    if (entry) {
      forgetExample();
      editor.setValue(entry.query);
      editor.focus();
    }
  });

  $("clear-history").addEventListener("click", function () {
    store(HISTORY_KEY, []);
    renderHistory();
  });

  /* ------------------------------------------------------------- tabs */
  /* Each tab keeps its own text; the editor shows the active one's. */
  function activeTab() {
    var tabs = state.tabs;
    return tabs.list.filter(function (t) { return t.id === tabs.active; })[0];
  }

  function saveActiveTab() {
    if (!state.tabs) {
      return;
    }
    activeTab().text = editor.getValue();
    store(TABS_KEY, state.tabs);
  }

  /* The tabs kept from the last visit, or one tab holding the editor's text. When the
   * page was opened with a query in its URL that the active tab does not hold, that
   * query opens in a new tab, so a shared link never overwrites a tab. */
  function startTabs(params) {
    var kept = loadStored(TABS_KEY, null);
    var valid = kept && Array.isArray(kept.list) && kept.list.length > 0;
    var shared = params.has("query") || params.has("example");
    var initial = editor.getValue();
    if (!valid) {
      state.tabs = { list: [{ id: 1, text: initial }], active: 1, next: 2 };
    } else {
      state.tabs = kept;
      if (!activeTab()) {
        state.tabs.active = kept.list[0].id;
      }
      if (shared && activeTab().text !== initial) {
        state.tabs.list.push({ id: state.tabs.next, text: initial });
        state.tabs.active = state.tabs.next;
        state.tabs.next += 1;
      } else if (!shared) {
        editor.setValue(activeTab().text);
      }
    }
    store(TABS_KEY, state.tabs);
    renderTabs();
  }

  function tabName(tab) {
    return T.tab_name.replace("{n}", tab.id);
  }

  function renderTabs() {
    var bar = $("query-tabs");
    Array.prototype.forEach.call(bar.querySelectorAll(".qe-qtab-wrap"), function (e) {
      e.remove();
    });
    var single = state.tabs.list.length === 1;
    state.tabs.list.forEach(function (tab) {
      var wrap = document.createElement("span");
      wrap.className = "qe-qtab-wrap";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "qe-qtab";
      button.setAttribute("role", "tab");
      button.dataset.tab = String(tab.id);
      button.setAttribute("aria-selected", String(tab.id === state.tabs.active));
      button.textContent = tabName(tab);
      wrap.appendChild(button);
      if (!single) {
        var close = document.createElement("button");
        close.type = "button";
        close.className = "qe-qtab-close";
        close.dataset.tab = String(tab.id);
        close.setAttribute("aria-label", T.close_tab.replace("{name}", tabName(tab)));
        close.title = close.getAttribute("aria-label");
        close.textContent = "×";
        wrap.appendChild(close);
      }
      bar.insertBefore(wrap, $("new-tab"));
    });
  }

  function switchTab(id) {
    if (id === state.tabs.active) {
      return;
    }
    saveActiveTab();
    showTab(id);
  }

  /* Make tab *id* the active one and show its text (the example and results shown
   * were the last tab's). */
  function showTab(id) {
    state.tabs.active = id;
    store(TABS_KEY, state.tabs);
    forgetExample();
    editor.setValue(activeTab().text);
    clearResults();
    renderTabs();
  }

  function newTab() {
    saveActiveTab();
    var id = state.tabs.next;
    state.tabs.list.push({ id: id, text: "" });
    state.tabs.next += 1;
    switchTab(id);
    editor.focus();
  }

  function closeTab(id) {
    var list = state.tabs.list;
    if (list.length === 1) {
      return;
    }
    var at = list.map(function (t) { return t.id; }).indexOf(id);
    list.splice(at, 1);
    if (state.tabs.active === id) {
      showTab(list[Math.min(at, list.length - 1)].id);
    } else {
      store(TABS_KEY, state.tabs);
      renderTabs();
    }
  }

  $("query-tabs").addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) {
      return;
    }
    if (target.id === "new-tab") {
      newTab();
    } else if (target.classList.contains("qe-qtab-close")) {
      closeTab(parseInt(target.dataset.tab, 10));
    } else if (target.classList.contains("qe-qtab")) {
      switchTab(parseInt(target.dataset.tab, 10));
    }
  });

  /* Leave the example shown: the editor's text is no longer it. */
  function forgetExample() {
    state.example = null;
    state.exampleText = null;
    $("example-info").hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll("a.qe-example.current"), function (a) {
      a.classList.remove("current");
    });
  }

  /* ------------------------------------------------------------- start */
  function start() {
    var params = new URLSearchParams(window.location.search);
    startTabs(params);
    renderHistory();
    var prefixes = fetch(PREFIXES_URL, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (map) { state.prefixes = map; });
    Promise.all([prefixes, loadExamples()]).then(function () {
      var name = params.get("example");
      if (name && state.examples[name]) {
        var values = {};
        params.forEach(function (value, key) {
          if (RESERVED.indexOf(key) < 0) {
            values[key] = value;
          }
        });
        if (window.matchMedia("(max-width: 700px)").matches) {
          $("examples").open = false;
        }
        return chooseExample(name, values, params.get("query"));
      }
      return null;
    }).then(function () {
      checkSyntax();
      root.dataset.ready = "true";
    });
  }

  start();
})();
