//! The Grafana provisioning files, checked as data: every file parses, every query names
//! a measurement, fields and tags the sink writes, and every measurement is on a board.
//!
//! The YAML files are kept trivially checkable (block mappings and lists of `key: value`,
//! no anchors, no flow style) and read by the small line reader below instead of a YAML
//! dependency; it rejects anything outside that subset, so the test fails loudly if the
//! files grow past it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sellout_dashboards::measurements::{CATALOGUE, spec};

const DATASOURCE_UID: &str = "sellout-influxdb";

fn grafana() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana")
}

/// `path.to.key` → values, for the YAML subset the provisioning files use.
fn read_yaml(path: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let at = format!("{}:{}", path.display(), n + 1);
        assert!(!raw.contains('\t'), "{at}: tab");
        let line = raw.trim_end();
        if line.trim_start().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let mut indent = line.len() - line.trim_start().len();
        let mut body = line.trim_start();
        if let Some(rest) = body.strip_prefix("- ") {
            indent += 2;
            body = rest;
        }
        assert_eq!(indent % 2, 0, "{at}: odd indent");
        let (key, value) = body
            .split_once(':')
            .unwrap_or_else(|| panic!("{at}: not `key: value`"));
        assert!(
            key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{at}: key `{key}`"
        );
        let value = value.trim();
        assert!(
            !value.starts_with(['{', '[', '&', '*', '|', '>']),
            "{at}: outside the YAML subset"
        );
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let mut full: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
        full.push(key);
        let full = full.join(".");
        if value.is_empty() {
            stack.push((indent, key.to_string()));
        } else {
            out.entry(full).or_default().push(value.to_string());
        }
    }
    out
}

fn one<'a>(yaml: &'a BTreeMap<String, Vec<String>>, key: &str) -> &'a str {
    match yaml.get(key).map(Vec::as_slice) {
        Some([v]) => v,
        other => panic!("`{key}`: expected one value, found {other:?}"),
    }
}

#[test]
fn provisioning_yaml_points_at_the_sink_database_and_the_dashboards() {
    let ds = read_yaml(&grafana().join("provisioning/datasources/sellout.yaml"));
    assert_eq!(one(&ds, "apiVersion"), "1");
    assert_eq!(one(&ds, "datasources.type"), "influxdb");
    assert_eq!(one(&ds, "datasources.uid"), DATASOURCE_UID);
    assert_eq!(one(&ds, "datasources.database"), "sellout");
    assert_eq!(one(&ds, "datasources.jsonData.dbName"), "sellout");
    assert!(
        one(&ds, "datasources.url").starts_with("${"),
        "URL from the environment"
    );
    let token = one(&ds, "datasources.secureJsonData.httpHeaderValue1");
    assert_eq!(
        token, "Token ${SELLOUT_INFLUXDB_TOKEN}",
        "no secret in the file"
    );

    let providers = read_yaml(&grafana().join("provisioning/dashboards/sellout.yaml"));
    assert_eq!(one(&providers, "apiVersion"), "1");
    assert_eq!(one(&providers, "providers.type"), "file");
    assert!(one(&providers, "providers.options.path").starts_with('/'));
}

/// Every InfluxQL query in a dashboard (panel targets and template variables).
fn queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("query", serde_json::Value::String(q)) => out.push(q.clone()),
                    _ => queries(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| queries(v, out)),
        _ => {}
    }
}

/// Double-quoted identifiers before `FROM`, the measurement, and those after it.
fn identifiers(query: &str) -> (Vec<String>, String, Vec<String>) {
    let upper = query.to_ascii_uppercase();
    let from = upper
        .find(" FROM ")
        .unwrap_or_else(|| panic!("no FROM in `{query}`"));
    let quoted = |text: &str| -> Vec<String> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let before = quoted(&query[..from]);
    let mut after = quoted(&query[from..]).into_iter();
    let measurement = after
        .next()
        .unwrap_or_else(|| panic!("no measurement in `{query}`"));
    assert!(
        query[from + 6..]
            .trim_start()
            .starts_with(&format!("\"{measurement}\"")),
        "the measurement must follow FROM: `{query}`"
    );
    (before, measurement, after.collect())
}

#[test]
fn every_query_names_a_measurement_field_and_tag_the_sink_writes() {
    let mut used = BTreeSet::new();
    let mut uids = BTreeSet::new();
    let dir = grafana().join("dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "on-sale, venue and notifications boards");
    for file in files {
        assert_eq!(
            file.extension().and_then(|e| e.to_str()),
            Some("json"),
            "{}",
            file.display()
        );
        let board: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            uids.insert(board["uid"].as_str().unwrap().to_string()),
            "unique uid"
        );
        let ds_uids: BTreeSet<&str> = board["panels"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["targets"].as_array().into_iter().flatten())
            .map(|t| t["datasource"]["uid"].as_str().unwrap())
            .collect();
        assert_eq!(
            ds_uids,
            BTreeSet::from([DATASOURCE_UID]),
            "{}",
            file.display()
        );
        let mut found = Vec::new();
        queries(&board, &mut found);
        assert!(!found.is_empty(), "{}", file.display());
        for query in found {
            let (fields, measurement, tags) = identifiers(&query);
            let m = spec(&measurement)
                .unwrap_or_else(|| panic!("{}: unknown measurement in `{query}`", file.display()));
            used.insert(m.name);
            let is_select = query
                .trim_start()
                .to_ascii_uppercase()
                .starts_with("SELECT");
            assert_eq!(
                is_select,
                !fields.is_empty(),
                "a SELECT names its fields: `{query}`"
            );
            for f in &fields {
                assert!(
                    m.fields.contains(&f.as_str()),
                    "`{f}` is no field of {}: `{query}`",
                    m.name
                );
            }
            for t in &tags {
                assert!(
                    m.tags.contains(&t.as_str()),
                    "`{t}` is no tag of {}: `{query}`",
                    m.name
                );
            }
        }
    }
    let all: BTreeSet<&str> = CATALOGUE.iter().map(|m| m.name).collect();
    assert_eq!(used, all, "every measurement is on some board");
}

#[test]
fn the_query_reader_catches_wrong_names() {
    let (fields, m, tags) = identifiers(
        r#"SELECT last("sold_pct") FROM "sold" WHERE "event" =~ /^$event$/ GROUP BY "category""#,
    );
    assert_eq!(
        (fields, m, tags),
        (
            vec!["sold_pct".to_string()],
            "sold".to_string(),
            vec!["event".to_string(), "category".to_string()]
        )
    );
    let (fields, _, _) = identifiers(r#"SELECT mean("sold_percent") FROM "sold""#);
    assert!(!spec("sold").unwrap().fields.contains(&fields[0].as_str()));
}
