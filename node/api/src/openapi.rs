//! `GET /v1/openapi.json`: an OpenAPI 3.1 description of the API, served to anyone (it says
//! nothing about anyone's data). The document is written by hand from the handlers and the wire
//! types of `cairn_proto::api`, in `node/api/openapi.json`, rather than generated from
//! annotations on every handler; the tests below keep it honest: it names exactly the routes
//! the router serves, every `$ref` resolves, and its error codes are the `ErrorCode` enum's.
//! `make fuzz-api` runs schemathesis against a live node from it.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// `GET /v1/openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use cairn_proto::api::ErrorCode;
    use serde_json::Value;

    use super::DOCUMENT;

    const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is not JSON")
    }

    /// The `(method, path)` pairs the document describes, paths as OpenAPI writes them.
    fn documented(doc: &Value) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths is an object") {
            for method in item.as_object().expect("a path item is an object").keys() {
                if METHODS.contains(&method.as_str()) {
                    out.insert((method.clone(), path.clone()));
                }
            }
        }
        out
    }

    /// The `(method, path)` pairs the router serves, read from the `.route("…", …)` calls in
    /// the crate's source: axum does not list a router's routes. Routes of `lib.rs` before the
    /// `/v1` router is nested, and all routes of the other files (each module's `routes()`,
    /// merged into it), are under `/v1`; `lib.rs`'s others are at the top. A wildcard `{*x}` is
    /// OpenAPI's `{x}`.
    fn served() -> BTreeSet<(String, String)> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = BTreeSet::new();
        let mut files = Vec::new();
        collect_rs(&src, &mut files);
        assert!(files.len() > 10, "found only {files:?} under {}", src.display());
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // Tests may write routes of their own (this file's do).
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            // Comments may quote routes; code is what counts.
            let code: String = text
                .lines()
                .map(|l| if l.trim_start().starts_with("//") { "" } else { l })
                .collect::<Vec<_>>()
                .join("\n");
            let nest = if file.ends_with("lib.rs") {
                Some(code.find(".nest(\"/v1\"").expect("lib.rs nests /v1"))
            } else {
                None
            };
            for (at, path, methods) in route_calls(&code) {
                let prefix = match nest {
                    Some(nested_at) if at > nested_at => "",
                    _ => "/v1",
                };
                let path = format!("{prefix}{}", path.replace("{*", "{"));
                assert!(!methods.is_empty(), "{}: route {path} with no method found", file.display());
                for method in methods {
                    out.insert((method, path.clone()));
                }
            }
        }
        out
    }

    fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect_rs(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Each `.route("PATH", EXPR)` in `code`: where it is, its path, and the method routers
    /// (`get(…)`, `axum::routing::head(…)`, `.options(…)`) in `EXPR`.
    fn route_calls(code: &str) -> Vec<(usize, String, Vec<String>)> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(found) = code[from..].find(".route(") {
            let at = from + found;
            let args = at + ".route(".len();
            let rest = code[args..].trim_start();
            let rest = rest.strip_prefix('"').expect("a route's path is a string literal");
            let path = &rest[..rest.find('"').unwrap()];
            // The call's end: the parenthesis that closes `.route(`.
            let mut depth = 1;
            let mut end = args;
            for (i, c) in code[args..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = args + i;
                    break;
                }
            }
            let expr = &code[args..end];
            let mut methods = Vec::new();
            for method in METHODS {
                let call = format!("{method}(");
                let mut search = 0;
                while let Some(i) = expr[search..].find(&call) {
                    let start = search + i;
                    let before = expr[..start].chars().next_back();
                    // A method router, not the tail of a handler's name (`tree::get_path(`).
                    if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        methods.push(method.to_owned());
                        break;
                    }
                    search = start + call.len();
                }
            }
            out.push((at, path.to_owned(), methods));
            from = end;
        }
        out
    }

    #[test]
    fn every_route_is_described_and_every_description_is_a_route() {
        let doc = document();
        let documented = documented(&doc);
        let served = served();
        assert!(served.len() > 40, "read too few routes from the source: {served:?}");
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(undocumented.is_empty(), "routes missing from openapi.json: {undocumented:?}");
        assert!(unserved.is_empty(), "openapi.json describes routes the router lacks: {unserved:?}");
    }

    #[test]
    fn the_route_reader_sees_methods_and_wildcards() {
        let code = r#"Router::new()
            .route("/a/{*path}", get(tree::get_path).delete(tree::delete))
            .route(
                "/b/{id}",
                axum::routing::head(status).patch(patch::patch).options(options),
            )"#;
        let calls = route_calls(code);
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[0].1.as_str(), calls[0].2.clone()),
            ("/a/{*path}", vec!["get".into(), "delete".into()])
        );
        assert_eq!(calls[1].2, vec!["patch".to_owned(), "head".to_owned(), "options".to_owned()]);
    }

    /// Resolves a local `$ref` (`#/components/…`).
    fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("non-local $ref {reference}"));
        doc.pointer(pointer).unwrap_or_else(|| panic!("$ref {reference} resolves to nothing"))
    }

    fn each_ref<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| each_ref(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| each_ref(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_and_every_ref_resolves() {
        let doc = document();
        assert!(
            doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")),
            "openapi: {}",
            doc["openapi"]
        );
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
        let mut refs = Vec::new();
        each_ref(&doc, &mut refs);
        assert!(refs.len() > 100, "only {} $refs", refs.len());
        for r in refs {
            resolve(&doc, r);
        }
        let mut operation_ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            assert!(path.starts_with('/'), "{path}");
            let templated: BTreeSet<&str> =
                path.split('{').skip(1).map(|s| s.split('}').next().unwrap()).collect();
            for (method, op) in item.as_object().unwrap() {
                assert!(METHODS.contains(&method.as_str()), "{path}: {method} is not a method");
                let id =
                    op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
                assert!(operation_ids.insert(id.to_owned()), "operationId {id} twice");
                let responses =
                    op["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}: no responses"));
                assert!(!responses.is_empty(), "{method} {path}: no responses");
                for (status, response) in responses {
                    assert!(
                        status.len() == 3 && status.parse::<u16>().is_ok(),
                        "{method} {path}: status {status}"
                    );
                    let response = match response.get("$ref") {
                        Some(r) => resolve(&doc, r.as_str().unwrap()),
                        None => response,
                    };
                    assert!(response["description"].is_string(), "{method} {path} {status}: no description");
                }
                // Path parameters: exactly those the template names, each required.
                let mut in_path = BTreeSet::new();
                for parameter in op["parameters"].as_array().into_iter().flatten() {
                    let parameter = match parameter.get("$ref") {
                        Some(r) => resolve(&doc, r.as_str().unwrap()),
                        None => parameter,
                    };
                    let (name, place) =
                        (parameter["name"].as_str().unwrap(), parameter["in"].as_str().unwrap());
                    assert!(
                        ["path", "query", "header", "cookie"].contains(&place),
                        "{method} {path}: in {place}"
                    );
                    assert!(parameter["schema"].is_object(), "{method} {path}: {name} has no schema");
                    if place == "path" {
                        assert_eq!(parameter["required"], true, "{method} {path}: {name} must be required");
                        in_path.insert(name);
                    }
                }
                assert_eq!(in_path, templated, "{method} {path}: path parameters");
                if let Some(body) = op.get("requestBody") {
                    assert!(
                        body["content"].as_object().is_some_and(|c| !c.is_empty()),
                        "{method} {path}: body"
                    );
                }
            }
        }
        // Links (what an answer feeds the next call) name operations that exist.
        let mut links = 0;
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                for response in op["responses"].as_object().unwrap().values() {
                    for (name, link) in response["links"].as_object().into_iter().flatten() {
                        let target = link["operationId"].as_str().unwrap_or_default();
                        assert!(operation_ids.contains(target), "link {name} names no operation: {target:?}");
                        links += 1;
                    }
                }
            }
        }
        assert!(links > 0, "no links");
    }

    #[test]
    fn error_codes_are_the_enum_s() {
        let doc = document();
        let described: BTreeSet<&str> = doc["components"]["schemas"]["Error"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let known: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(described, known);
    }

    #[test]
    fn bodies_that_refuse_unknown_fields_say_so() {
        // The request bodies of cairn_proto::api, all `deny_unknown_fields`.
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for name in [
            "NewUser",
            "UserChange",
            "NewPassword",
            "NewToken",
            "SignIn",
            "Ids",
            "BlockEntry",
            "NewCommit",
            "SessionCommit",
            "VersionAction",
            "TrashTarget",
            "MoveRequest",
            "NewShare",
            "EndShare",
            "NewLinkBody",
        ] {
            assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
        }
    }
}
