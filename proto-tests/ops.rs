//! Checks of the operations files: `dashboards/ppgd.json` (Grafana), `dashboards/alerts.yml`
//! (Prometheus rules) with `dashboards/alerts_test.yml` (their promtool unit tests), and the
//! `/metrics` text of `Metrics::render()`.
//!
//! The point is that a dashboard or an alert never watches a series ppgd does not expose: every
//! metric name and every label name in their PromQL must be in `ppgd::metrics::CATALOGUE`
//! (the single source of truth). A counter used without its `_total`, a `_bucket` of a gauge or a
//! label the metric does not carry are errors.
//!
//! promtool (Debian package `prometheus`) checks the rule syntax, runs the rule unit tests, parses
//! every dashboard expression and lints the exposition. Without promtool those checks print a
//! notice and pass, unless `REQUIRE_TEST_TOOLS=1` (CI sets it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ppgd::metrics::{CATALOGUE, Kind, Metrics};

/// Labels Prometheus attaches to every scraped series (the scrape config's target labels).
const TARGET_LABELS: &[&str] = &["instance", "job"];

/// Series Prometheus makes itself, not ppgd: (name, labels).
const EXTERNAL: &[(&str, &[&str])] = &[("up", &[])];

/// PromQL aggregation operators: their name is followed by `by`/`without` or `(`.
const AGGREGATORS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Keywords followed by a parenthesised list of label names.
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Binary-operator keywords and modifiers that are neither metrics nor labels.
const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "atan2", "inf", "nan"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// PromQL: the metric names and label names an expression uses.
// ---------------------------------------------------------------------------------------------

/// One vector selector: `metric{label="..", ...}`.
#[derive(Debug, Clone, PartialEq)]
struct Selector {
    metric: String,
    labels: Vec<String>,
}

/// What an expression refers to.
#[derive(Debug, Default, PartialEq)]
struct Uses {
    selectors: Vec<Selector>,
    /// Label names in `by (..)`, `without (..)`, `on (..)`, `ignoring (..)`, `group_left (..)`.
    grouping: Vec<String>,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// A small PromQL scanner: enough to find selectors and grouping labels in the expressions we
/// write (Grafana `$variables` included). Malformed matchers, unterminated strings and bare
/// `{..}` selectors are errors rather than skipped, so a check cannot pass on what it failed to
/// read; the full grammar is promtool's job (`promtool_parses_every_dashboard_expression`).
fn parse_expr(expr: &str) -> Result<Uses, String> {
    let s: Vec<char> = expr.chars().collect();
    let mut uses = Uses::default();
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while i < s.len() && s[i].is_whitespace() {
            i += 1;
        }
        i
    };
    let skip_string = |i: usize| -> Result<usize, String> {
        let quote = s[i];
        let mut j = i + 1;
        while j < s.len() {
            if s[j] == '\\' && quote != '`' {
                j += 2;
                continue;
            }
            if s[j] == quote {
                return Ok(j + 1);
            }
            j += 1;
        }
        Err(format!("unterminated string at offset {i} in {expr:?}"))
    };
    let ident = |i: usize| {
        let mut j = i;
        while j < s.len() && is_ident(s[j]) {
            j += 1;
        }
        (s[i..j].iter().collect::<String>(), j)
    };
    while i < s.len() {
        let c = s[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' || c == '`' {
            i = skip_string(i)?;
        } else if c == '$' {
            // A Grafana variable: $name, ${name} or ${name:format}.
            if s.get(i + 1) == Some(&'{') {
                let end = s[i..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or_else(|| format!("unterminated ${{ at offset {i} in {expr:?}"))?;
                i += end + 1;
            } else {
                let (_, j) = ident(i + 1);
                i = j;
            }
        } else if c == '[' {
            let end = s[i..]
                .iter()
                .position(|&c| c == ']')
                .ok_or_else(|| format!("unterminated [ at offset {i} in {expr:?}"))?;
            i += end + 1;
        } else if c == '{' {
            return Err(format!(
                "label matchers without a metric name at offset {i} in {expr:?}"
            ));
        } else if c.is_ascii_digit()
            || (c == '.' && s.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            // A number (0.99, 1e3, 0x1f) or a duration (5m).
            while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == '.') {
                i += 1;
            }
        } else if is_ident_start(c) {
            let (word, j) = ident(i);
            let next = skip_ws(j);
            let next_char = s.get(next).copied();
            if GROUPING.contains(&word.as_str()) {
                i = j;
                if next_char == Some('(') {
                    let end = s[next..]
                        .iter()
                        .position(|&c| c == ')')
                        .ok_or_else(|| format!("unterminated {word} ( in {expr:?}"))?;
                    for label in s[next + 1..next + end]
                        .iter()
                        .collect::<String>()
                        .split(',')
                    {
                        let label = label.trim();
                        if !label.is_empty() {
                            if !label.chars().all(is_ident) {
                                return Err(format!("bad label {label:?} in {word} of {expr:?}"));
                            }
                            uses.grouping.push(label.to_string());
                        }
                    }
                    i = next + end + 1;
                }
            } else if word == "offset" {
                // offset 5m: skip the duration.
                i = next;
                while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == '-') {
                    i += 1;
                }
            } else if KEYWORDS.contains(&word.as_str())
                || next_char == Some('(')
                || AGGREGATORS.contains(&word.as_str())
            {
                // A function call, an aggregation or an operator keyword.
                i = j;
            } else {
                // A metric name, maybe with label matchers.
                let mut sel = Selector {
                    metric: word,
                    labels: Vec::new(),
                };
                i = j;
                if next_char == Some('{') {
                    i = next + 1;
                    loop {
                        i = skip_ws(i);
                        match s.get(i) {
                            Some('}') => {
                                i += 1;
                                break;
                            }
                            Some(',') => i += 1,
                            Some(&c) if is_ident_start(c) => {
                                let (label, j) = ident(i);
                                i = skip_ws(j);
                                let op: String =
                                    s[i..].iter().take_while(|c| "=!~".contains(**c)).collect();
                                if !["=", "!=", "=~", "!~"].contains(&op.as_str()) {
                                    return Err(format!(
                                        "bad matcher operator {op:?} after {label} in {expr:?}"
                                    ));
                                }
                                i = skip_ws(i + op.len());
                                match s.get(i) {
                                    Some('"' | '\'' | '`') => i = skip_string(i)?,
                                    _ => {
                                        return Err(format!(
                                            "matcher {label} without a quoted value in {expr:?}"
                                        ));
                                    }
                                }
                                sel.labels.push(label);
                            }
                            _ => {
                                return Err(format!(
                                    "unexpected {:?} in the label matchers of {} in {expr:?}",
                                    s.get(i),
                                    sel.metric
                                ));
                            }
                        }
                    }
                }
                uses.selectors.push(sel);
            }
        } else {
            // Operators, parentheses, commas.
            i += 1;
        }
    }
    Ok(uses)
}

/// The labels a series name carries, or why it is not a series ppgd (or Prometheus) exposes.
fn series_labels(name: &str) -> Result<Vec<&'static str>, String> {
    let mut labels: Vec<&'static str> = TARGET_LABELS.to_vec();
    if let Some((n, kind, l, _)) = CATALOGUE.iter().find(|(n, ..)| *n == name) {
        if *kind == Kind::Histogram {
            return Err(format!(
                "{n} is a histogram: use {n}_bucket, {n}_sum or {n}_count"
            ));
        }
        labels.extend_from_slice(l);
        return Ok(labels);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            match CATALOGUE.iter().find(|(n, ..)| *n == base) {
                Some((_, Kind::Histogram, l, _)) => {
                    labels.extend_from_slice(l);
                    if suffix == "_bucket" {
                        labels.push("le");
                    }
                    return Ok(labels);
                }
                Some((_, kind, ..)) => {
                    return Err(format!(
                        "{name}: {base} is a {kind:?}, only histograms have {suffix}"
                    ));
                }
                None => {}
            }
        }
    }
    let with_total = format!("{name}_total");
    if CATALOGUE
        .iter()
        .any(|(n, kind, ..)| *n == with_total && *kind == Kind::Counter)
    {
        return Err(format!(
            "counter {name} used without _total: write {with_total}"
        ));
    }
    if let Some((_, l)) = EXTERNAL.iter().find(|(n, _)| *n == name) {
        labels.extend_from_slice(l);
        return Ok(labels);
    }
    Err(format!("{name} is not in ppgd::metrics::CATALOGUE"))
}

/// Checks one expression: every selector names an exposed series and only its labels, and every
/// grouping label is carried by one of the selected series.
fn check_expr(expr: &str) -> Result<(), String> {
    let uses = parse_expr(expr)?;
    if uses.selectors.is_empty() {
        return Err(format!("no metric in {expr:?}"));
    }
    let mut known: Vec<&str> = Vec::new();
    for sel in &uses.selectors {
        let labels = series_labels(&sel.metric).map_err(|e| format!("{e} (in {expr:?})"))?;
        for l in &sel.labels {
            if !labels.contains(&l.as_str()) {
                return Err(format!(
                    "{} has no label {l} (it has {labels:?}) (in {expr:?})",
                    sel.metric
                ));
            }
        }
        known.extend(labels);
    }
    for l in &uses.grouping {
        if !known.contains(&l.as_str()) {
            return Err(format!(
                "grouping label {l} is on none of the selected series (in {expr:?})"
            ));
        }
    }
    Ok(())
}

/// Grafana's `label_values(selector, label)`: the selector is checked and the label must be one
/// of its series'.
fn check_variable_query(query: &str) -> Result<(), String> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .ok_or_else(|| format!("variable query {query:?} is not label_values(selector, label)"))?;
    let (selector, label) = inner
        .rsplit_once(',')
        .ok_or_else(|| format!("label_values without a label in {query:?}"))?;
    check_expr(selector)?;
    let uses = parse_expr(selector)?;
    let label = label.trim();
    let labels = series_labels(&uses.selectors[0].metric)?;
    if !labels.contains(&label) {
        return Err(format!(
            "{} has no label {label} (in {query:?})",
            uses.selectors[0].metric
        ));
    }
    Ok(())
}

#[test]
fn the_extractor_reads_what_we_write() {
    let uses = parse_expr(
        r#"histogram_quantile(0.99, sum by (le, message) (rate(ppgd_pap_response_duration_seconds_bucket{instance=~"$instance", message!="x{}"}[$__rate_interval])))
           / on (instance) group_left sum(up{job="ppgd"}) offset 5m"#,
    )
    .unwrap();
    assert_eq!(
        uses.selectors,
        vec![
            Selector {
                metric: "ppgd_pap_response_duration_seconds_bucket".into(),
                labels: vec!["instance".into(), "message".into()],
            },
            Selector {
                metric: "up".into(),
                labels: vec!["job".into()],
            },
        ]
    );
    assert_eq!(uses.grouping, vec!["le", "message", "instance"]);
}

#[test]
fn the_checker_accepts_good_expressions() {
    for good in [
        "ppgd_queue_depth",
        r#"sum by (smsc) (rate(ppgd_smpp_throttle_pauses_total{smsc=~"$smsc"}[5m]))"#,
        "histogram_quantile(0.5, sum by (le) (rate(ppgd_push_segments_bucket[5m])))",
        "rate(ppgd_store_commit_duration_seconds_sum[5m]) / rate(ppgd_store_commit_duration_seconds_count[5m])",
        r#"up{job="ppgd"} == 0"#,
    ] {
        check_expr(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

/// The negative self-test: each of these must be refused, with the reason we expect.
#[test]
fn the_checker_refuses_bad_expressions() {
    for (bad, why) in [
        ("rate(ppgd_smpp_throttle_pauses[5m])", "without _total"),
        ("ppgd_queue_depht", "not in ppgd::metrics::CATALOGUE"),
        (
            "rate(ppgd_queue_depth_count[5m])",
            "only histograms have _count",
        ),
        ("ppgd_pap_response_duration_seconds", "is a histogram"),
        (r#"ppgd_pap_requests_total{smsc="a"}"#, "has no label smsc"),
        (r#"ppgd_push_segments_sum{le="1"}"#, "has no label le"),
        (
            "sum by (command_status) (ppgd_smpp_session_bound)",
            "grouping label command_status",
        ),
        (r#"{__name__="ppgd_queue_depth"}"#, "without a metric name"),
        (r#"ppgd_queue_depth{instance="a}"#, "unterminated string"),
        ("vector(1)", "no metric"),
    ] {
        match check_expr(bad) {
            Ok(()) => panic!("{bad} was accepted"),
            Err(e) => assert!(e.contains(why), "{bad}: {e:?} does not say {why:?}"),
        }
    }
    assert!(check_variable_query("label_values(ppgd_smpp_session_bound, state)").is_err());
    assert!(check_variable_query("label_values(ppgd_smpp_session_bound, smsc)").is_ok());
}

// ---------------------------------------------------------------------------------------------
// The Grafana dashboard.
// ---------------------------------------------------------------------------------------------

fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read("dashboards/ppgd.json")).expect("dashboards/ppgd.json is JSON")
}

/// Every panel, rows' nested panels included.
fn panels(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for p in v["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(panels(p));
    }
    out
}

/// (panel title, expression) for every target of every panel.
fn dashboard_exprs(d: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in panels(d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or("?").to_string();
            let expr = t["expr"].as_str().unwrap_or_default().to_string();
            out.push((title, expr));
        }
    }
    out
}

#[test]
fn dashboard_is_importable_and_complete() {
    let d = dashboard();
    assert!(
        d["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "schemaVersion"
    );
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    let vars = d["templating"]["list"].as_array().expect("templating.list");
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no ${name} variable"))
    };
    let ds = var("datasource");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    for name in ["instance", "smsc"] {
        let v = var(name);
        assert_eq!(v["type"], "query", "${name}");
        assert_eq!(v["datasource"]["uid"], "${datasource}", "${name}");
    }

    let all = panels(&d);
    let mut ids: Vec<u64> = all.iter().filter_map(|p| p["id"].as_u64()).collect();
    assert_eq!(ids.len(), all.len(), "every panel has a numeric id");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "panel ids are unique");
    let mut graphs = 0;
    for p in all {
        let title = p["title"].as_str().unwrap_or_default();
        assert!(!title.is_empty(), "a panel without a title: {p}");
        assert!(p["gridPos"]["w"].as_u64().is_some(), "{title}: gridPos");
        if p["type"] == "row" {
            continue;
        }
        graphs += 1;
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "{title}: datasource"
        );
        let targets = p["targets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(!targets.is_empty(), "{title}: no target");
        for t in targets {
            assert!(
                t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                "{title}: a target without expr"
            );
            assert!(
                t["refId"].as_str().is_some(),
                "{title}: a target without refId"
            );
        }
    }
    assert!(graphs >= 15, "only {graphs} panels");
}

#[test]
fn dashboard_uses_only_catalogue_metrics() {
    let d = dashboard();
    let mut used = Vec::new();
    for (title, expr) in dashboard_exprs(&d) {
        check_expr(&expr).unwrap_or_else(|e| panic!("panel {title:?}: {e}"));
        used.extend(
            parse_expr(&expr)
                .unwrap()
                .selectors
                .into_iter()
                .map(|s| s.metric),
        );
    }
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        if v["type"] == "query" {
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .unwrap_or_default();
            check_variable_query(q).unwrap_or_else(|e| panic!("variable {}: {e}", v["name"]));
        }
    }
    // The dashboard shows every family the gateway exposes (build_info feeds $instance).
    for (name, kind, ..) in CATALOGUE {
        if *name == "ppgd_build_info" {
            continue;
        }
        let shown = used.iter().any(|u| {
            u == name || (*kind == Kind::Histogram && u.starts_with(name) && u.len() > name.len())
        });
        assert!(shown, "no dashboard panel shows {name}");
    }
}

// ---------------------------------------------------------------------------------------------
// The alerting rules. The YAML is read line by line (no YAML crate in the tree): promtool checks
// that the file is real YAML and valid rules; here we check what promtool does not.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Rule {
    alert: String,
    expr: String,
    has_for: bool,
    severity: String,
    summary: bool,
    description: bool,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The value of `key:` on `lines[i]`, following a `>-` / `|` block onto more indented lines.
fn yaml_value(lines: &[&str], i: usize, key: &str) -> Option<String> {
    let line = lines[i];
    let rest = line
        .trim_start()
        .trim_start_matches("- ")
        .strip_prefix(key)?;
    let rest = rest.strip_prefix(':')?.trim();
    if rest.starts_with('>') || rest.starts_with('|') {
        let base = indent(line);
        let block: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || indent(l) > base)
            .map(|l| l.trim())
            .collect();
        return Some(block.join(" ").trim().to_string());
    }
    let unquoted = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
        .unwrap_or(rest);
    Some(unquoted.to_string())
}

fn rules() -> Vec<Rule> {
    let text = read("dashboards/alerts.yml");
    let lines: Vec<&str> = text.lines().collect();
    let mut rules: Vec<Rule> = Vec::new();
    for i in 0..lines.len() {
        if lines[i].trim_start().starts_with('#') {
            continue;
        }
        if let Some(name) = yaml_value(&lines, i, "alert") {
            rules.push(Rule {
                alert: name,
                ..Rule::default()
            });
            continue;
        }
        let Some(rule) = rules.last_mut() else {
            continue;
        };
        if let Some(expr) = yaml_value(&lines, i, "expr") {
            rule.expr = expr;
        } else if yaml_value(&lines, i, "for").is_some() {
            rule.has_for = true;
        } else if let Some(sev) = yaml_value(&lines, i, "severity") {
            rule.severity = sev;
        } else if yaml_value(&lines, i, "summary").is_some_and(|s| !s.is_empty()) {
            rule.summary = true;
        } else if yaml_value(&lines, i, "description").is_some_and(|s| !s.is_empty()) {
            rule.description = true;
        }
    }
    rules
}

#[test]
fn alerts_are_complete_and_use_only_catalogue_metrics() {
    let rules = rules();
    assert!(rules.len() >= 8, "only {} alerts", rules.len());
    for r in &rules {
        assert!(
            r.alert.starts_with("Ppgd"),
            "{}: alert names start with Ppgd",
            r.alert
        );
        assert!(r.has_for, "{}: no for:", r.alert);
        assert!(
            ["critical", "warning"].contains(&r.severity.as_str()),
            "{}: severity {:?}",
            r.alert,
            r.severity
        );
        assert!(r.summary, "{}: no summary", r.alert);
        assert!(r.description, "{}: no description", r.alert);
        check_expr(&r.expr).unwrap_or_else(|e| panic!("alert {}: {e}", r.alert));
    }
    // The alerts the operators asked for (issue 5).
    for needed in [
        "PpgdAllSmscSessionsDown",
        "PpgdSmscDown",
        "PpgdBacklogGrowing",
        "PpgdOldestPushStale",
        "PpgdPapErrorRatioHigh",
        "PpgdSmppBindFailures",
        "PpgdSmppThrottlingSustained",
        "PpgdNotificationsFailing",
        "PpgdInstanceDown",
        "PpgdSmscRejectsSubmits",
    ] {
        assert!(rules.iter().any(|r| r.alert == needed), "no alert {needed}");
    }
}

#[test]
fn every_alert_has_a_firing_unit_test() {
    let text = read("dashboards/alerts_test.yml");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for r in rules() {
        let fires = lines
            .windows(2)
            .any(|w| w[0] == format!("alertname: {}", r.alert) && w[1].starts_with("exp_alerts:"));
        assert!(fires, "alerts_test.yml never expects {} to fire", r.alert);
    }
    // The synthetic input series are real ppgd series too.
    for (n, line) in lines.iter().enumerate() {
        if let Some(series) = line.strip_prefix("- series:") {
            let series = series.trim().trim_matches('\'');
            check_expr(series).unwrap_or_else(|e| panic!("alerts_test.yml item {n}: {e}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// promtool.
// ---------------------------------------------------------------------------------------------

/// Runs promtool, or returns None (after a notice) when it is not installed and
/// REQUIRE_TEST_TOOLS is not 1.
fn promtool(args: &[&str], stdin: Option<&str>, dir: &Path) -> Option<Output> {
    let child = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("REQUIRE_TEST_TOOLS").as_deref() == Ok("1") {
                panic!("promtool not found and REQUIRE_TEST_TOOLS=1 (apt install prometheus)");
            }
            eprintln!(
                "NOTICE: promtool not found, skipping `promtool {}`",
                args.join(" ")
            );
            return None;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin piped");
        pipe.write_all(input.as_bytes()).expect("write to promtool");
    }
    Some(child.wait_with_output().expect("promtool runs"))
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    let dir = root().join("dashboards");
    if let Some(out) = promtool(&["check", "rules", "alerts.yml"], None, &dir) {
        assert_success(&out, "promtool check rules dashboards/alerts.yml");
    }
    if let Some(out) = promtool(&["test", "rules", "alerts_test.yml"], None, &dir) {
        assert_success(&out, "promtool test rules dashboards/alerts_test.yml");
    }
}

/// promtool has no "parse this expression" command, so every dashboard expression (Grafana
/// variables replaced by values) becomes a recording rule of a temporary rules file.
#[test]
fn promtool_parses_every_dashboard_expression() {
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (n, (_, expr)) in dashboard_exprs(&dashboard()).iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$instance", ".*")
            .replace("$smsc", ".*");
        assert!(!expr.contains('$'), "an unknown Grafana variable in {expr}");
        rules.push_str(&format!(
            "      - record: dashboard:expr_{n}\n        expr: {}\n",
            serde_json::to_string(&expr).expect("a string")
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dashboard.yml"), rules).expect("write");
    if let Some(out) = promtool(&["check", "rules", "dashboard.yml"], None, dir.path()) {
        assert_success(&out, "promtool check rules (dashboard expressions)");
    }
}

/// `Metrics::render()` with one child of every vector touched, so that every family appears.
fn rendered() -> String {
    let m = Metrics::new();
    let s = m.smpp_session("smsc1", 0);
    s.bind_failed("ESME_RINVPASWD");
    s.submit_sm_resp("ESME_ROK");
    s.receipt("DELIVRD");
    s.submit_sm.inc();
    s.bound.set(1);
    s.window_in_use.set(3);
    s.binds.inc();
    s.throttle_pauses.inc();
    s.response_timeouts.inc();
    s.enquire_link_failures.inc();
    s.receipts_malformed.inc();
    m.smpp_receipts_unmatched
        .with_label_values(&["smsc1"])
        .inc();
    m.pap_requests.with_label_values(&["push-message"]).inc();
    m.pap_responses
        .with_label_values(&["push-message", "1001"])
        .inc();
    m.pap_response_duration
        .with_label_values(&["push-message"])
        .observe(0.001);
    m.http_rejections.with_label_values(&["401"]).inc();
    m.pushes_accepted.inc();
    m.pushes_finished.with_label_values(&["delivered"]).inc();
    m.queue_depth.set(2);
    m.queue_oldest_age.set(7);
    m.push_submit_latency.observe(0.2);
    m.push_delivery_latency.observe(4.0);
    m.push_segments.observe(2.0);
    m.notifications.with_label_values(&["sent"]).inc();
    m.store_commit_batch_size.observe(8.0);
    m.store_commit_duration.observe(0.004);
    m.render()
}

#[test]
fn promtool_accepts_the_exposition() {
    let text = rendered();
    for (name, kind, ..) in CATALOGUE {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name} ({kind}) missing from /metrics:\n{text}"
        );
    }
    if let Some(out) = promtool(&["check", "metrics"], Some(&text), &root()) {
        assert_success(&out, "promtool check metrics");
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "promtool check metrics has remarks:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// deploy/: the Prometheus config, the systemd unit and the Dockerfile (Docker cannot run here,
// so the Dockerfile is checked by reading it against the config it deploys).
// ---------------------------------------------------------------------------------------------

#[test]
fn promtool_checks_the_prometheus_config() {
    let text = read("deploy/prometheus.yml");
    assert!(
        text.contains("job_name: ppgd"),
        "PpgdInstanceDown matches up{{job=\"ppgd\"}}: the scrape job must be named ppgd"
    );
    if let Some(out) = promtool(
        &["check", "config", "prometheus.yml"],
        None,
        &root().join("deploy"),
    ) {
        assert_success(&out, "promtool check config deploy/prometheus.yml");
    }
}

/// `KEY=value` directives of a systemd unit (all of them, in order).
fn unit_directives(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('[') && !l.is_empty())
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn seconds(v: &str) -> u64 {
    let v = v.trim();
    v.strip_suffix("min")
        .map(|m| m.parse::<u64>().expect("minutes") * 60)
        .or_else(|| v.strip_suffix('s').map(|s| s.parse().expect("seconds")))
        .unwrap_or_else(|| v.parse().expect("a systemd time span in s or min"))
}

/// The env overrides `PPGD_SECTION__KEY=value` as the TOML they stand for; loading it proves the
/// keys exist (the config denies unknown fields) and the values parse.
fn env_as_toml(vars: &[(String, String)]) -> String {
    let mut toml = String::new();
    for (k, v) in vars {
        let path = k
            .strip_prefix("PPGD_")
            .expect("a PPGD_ variable")
            .to_lowercase();
        let (section, key) = path.split_once("__").expect("PPGD_SECTION__KEY");
        toml.push_str(&format!("[{section}]\n{key} = {v:?}\n"));
    }
    toml
}

#[test]
fn systemd_unit_runs_serve_hardened_with_a_drain_long_enough() {
    let text = read("deploy/ppgd.service");
    let d = unit_directives(&text);
    let get = |k: &str| {
        d.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("ppgd.service has no {k}="))
    };
    assert_eq!(
        get("ExecStart"),
        "/usr/local/bin/ppgd serve --config /etc/ppgd/ppgd.toml"
    );
    let user = get("User");
    assert!(!user.is_empty() && user != "root", "User={user}");
    for (k, v) in [
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
    ] {
        assert_eq!(get(k), v, "{k}");
    }
    assert!(get("LimitNOFILE").parse::<u64>().is_ok_and(|n| n >= 4096));
    // The store must be in the one writable place ProtectSystem=strict leaves.
    let state = format!("/var/lib/{}", get("StateDirectory"));
    let env: Vec<(String, String)> = d
        .iter()
        .filter(|(k, _)| k == "Environment")
        .filter_map(|(_, v)| v.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(
        env.contains(&("PPGD_STORE__PATH".to_string(), state.clone())),
        "PPGD_STORE__PATH must be {state}"
    );
    ppgd::config::Config::from_toml(&env_as_toml(&env))
        .expect("the unit's environment is valid config");
    // SIGTERM drains the windows (response_timeout) then unbinds (shutdown_timeout).
    let smsc = ppgd::config::SmscConfig::default();
    let drain = (smsc.response_timeout + smsc.shutdown_timeout).as_secs();
    let stop = seconds(get("TimeoutStopSec"));
    assert!(
        stop > drain,
        "TimeoutStopSec={stop}s does not cover the default drain of {drain}s"
    );

    // systemd's own parser, with ExecStart pointed at the binary this test run built.
    let unit = text.replace("/usr/local/bin/ppgd", env!("CARGO_BIN_EXE_ppgd"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ppgd.service");
    std::fs::write(&path, unit).expect("write");
    match Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
    {
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            // Lines about other units (the host's own) are not ours to fix.
            let ours: Vec<&str> = stderr
                .lines()
                .filter(|l| l.contains("ppgd.service"))
                .collect();
            assert!(
                out.status.success() && ours.is_empty(),
                "systemd-analyze verify:\n{stderr}"
            );
        }
        Err(e) => eprintln!("NOTICE: systemd-analyze not runnable ({e}), unit syntax not verified"),
    }
}

#[test]
fn dockerfile_matches_the_config_it_deploys() {
    let text = read("deploy/Dockerfile");
    // Join continuation lines, drop comments.
    let joined = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ");
    let instrs: Vec<(&str, &str)> = joined
        .lines()
        .filter_map(|l| l.trim().split_once(' '))
        .collect();
    let all = |k: &'static str| {
        instrs
            .iter()
            .filter(move |(i, _)| *i == k)
            .map(|(_, a)| a.trim())
    };
    let froms: Vec<&str> = all("FROM").collect();
    assert_eq!(froms.len(), 2, "multi-stage: a builder and a runtime");
    assert!(
        froms[0].starts_with("rust:1.95") && froms[0].ends_with(" AS builder"),
        "{}",
        froms[0]
    );
    assert_eq!(froms[1], "debian:bookworm-slim");
    assert!(
        all("RUN").any(|r| r.contains("cargo build --release --locked")),
        "cargo build --release --locked"
    );
    let user = all("USER").next_back().expect("a USER");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "USER {user}"
    );
    assert!(
        all("VOLUME").any(|v| v.contains("/var/lib/ppgd")),
        "VOLUME for the store"
    );
    assert_eq!(all("STOPSIGNAL").next(), Some("SIGTERM"));
    assert_eq!(
        all("CMD").next_back(),
        Some(r#"["serve", "--config", "/etc/ppgd/ppgd.toml"]"#)
    );

    // ENV overrides: valid config keys, and the ports they listen on are the EXPOSEd ones.
    let env: Vec<(String, String)> = all("ENV")
        .flat_map(|e| e.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cfg = ppgd::config::Config::from_toml(&env_as_toml(&env))
        .expect("the image's environment is valid config");
    assert_eq!(cfg.store.path, Path::new("/var/lib/ppgd"));
    let pap = cfg.pap.listen;
    let metrics = cfg.metrics.listen.expect("metrics listener in the image");
    assert!(
        pap.ip().is_unspecified() && metrics.ip().is_unspecified(),
        "a container listens on all interfaces"
    );
    // The image keeps the ports of the defaults, so the docs and the scrape config hold.
    assert_eq!(pap.port(), ppgd::config::PapConfig::default().listen.port());
    assert_eq!(
        Some(metrics.port()),
        ppgd::config::MetricsConfig::default()
            .listen
            .map(|a| a.port())
    );
    let exposed: Vec<u16> = all("EXPOSE")
        .flat_map(|e| e.split_whitespace())
        .map(|p| p.parse().expect("a port"))
        .collect();
    assert_eq!(exposed, vec![pap.port(), metrics.port()]);
    let health = all("HEALTHCHECK").next().expect("a HEALTHCHECK");
    assert!(
        health.contains(&format!("http://127.0.0.1:{}/healthz", metrics.port())),
        "HEALTHCHECK must hit /healthz on the metrics listener: {health}"
    );
}
