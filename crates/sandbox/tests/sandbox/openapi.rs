//! PayPal's official OpenAPI files (`specs/paypal/` in this repository) as closed JSON Schemas,
//! for validating the sandbox's answers with a real validator (`jsonschema`, draft 2020-12).
//!
//! OpenAPI 3.0 schema objects become JSON Schema like this:
//! * `$ref`s keep pointing into `#/components/schemas`: the validated document carries the
//!   converted `components`, so they resolve as JSON pointers; siblings of a `$ref` are dropped,
//!   as OpenAPI 3.0 ignores them;
//! * `nullable: true` adds `"null"` to the type; `example`/`examples`/`discriminator`/`xml`/
//!   `externalDocs` are dropped (annotations, or of another shape in OpenAPI);
//! * every schema is closed: a stock validator allows properties a schema does not define, and
//!   PayPal's answers carry only what it defines. An object schema gets
//!   `unevaluatedProperties: false` wherever it is used as a whole (a property's value, an array's
//!   items, a response body), never where it is one part of an `allOf`/`anyOf`/`oneOf`: there the
//!   whole it belongs to is closed instead, so the parts' properties count together (a `capture`
//!   is `capture_status` + its own properties + `activity_timestamps`; an error answer is
//!   `error_422` + the endpoint's list of issues).

use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::OnceLock;

/// One of PayPal's API description files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Orders,
    Payments,
}

pub struct Spec {
    /// The file as published.
    raw: Value,
    /// `components.schemas`, converted and closed.
    schemas: Value,
}

pub fn specs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../specs/paypal")
}

pub fn spec(api: Api) -> &'static Spec {
    static ORDERS: OnceLock<Spec> = OnceLock::new();
    static PAYMENTS: OnceLock<Spec> = OnceLock::new();
    let (cell, file) = match api {
        Api::Orders => (&ORDERS, "checkout_orders_v2.json"),
        Api::Payments => (&PAYMENTS, "payments_payment_v2.json"),
    };
    cell.get_or_init(|| {
        let path = specs_dir().join(file);
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let raw: Value = serde_json::from_slice(&text).expect("OpenAPI JSON");
        let schemas = raw["components"]["schemas"]
            .as_object()
            .expect("components.schemas")
            .iter()
            .map(|(name, s)| (name.clone(), convert(s, true)))
            .collect::<Map<_, _>>();
        Spec { raw, schemas: Value::Object(schemas) }
    })
}

/// Converts one schema object; `part` when it is a member of `allOf`/`anyOf`/`oneOf` (or a
/// component, which is closed where it is used, not where it is defined).
pub fn convert(node: &Value, part: bool) -> Value {
    let Value::Object(map) = node else {
        return node.clone();
    };
    if let Some(r) = map.get("$ref") {
        let mut out = json!({ "$ref": r });
        if !part {
            out["unevaluatedProperties"] = json!(false);
        }
        return out;
    }
    let mut out = Map::new();
    for (k, v) in map {
        let converted = match k.as_str() {
            "properties" => Value::Object(
                v.as_object().expect("properties").iter().map(|(p, s)| (p.clone(), convert(s, false))).collect(),
            ),
            "items" | "not" => convert(v, false),
            "additionalProperties" if v.is_object() => convert(v, false),
            "allOf" | "anyOf" | "oneOf" => {
                Value::Array(v.as_array().expect("composition").iter().map(|s| convert(s, true)).collect())
            }
            "example" | "examples" | "discriminator" | "xml" | "externalDocs" | "nullable" => continue,
            _ => v.clone(),
        };
        out.insert(k.clone(), converted);
    }
    if map.get("nullable") == Some(&json!(true)) {
        if let Some(t) = out.get("type").cloned() {
            out.insert("type".into(), json!([t, "null"]));
        }
    }
    let object_like =
        out.contains_key("properties") || out.contains_key("allOf") || out.get("type") == Some(&json!("object"));
    if !part && object_like && !out.contains_key("additionalProperties") {
        out.insert("unevaluatedProperties".into(), json!(false));
    }
    Value::Object(out)
}

/// `/v2/checkout/orders/5O19…/capture` → the spec's `/v2/checkout/orders/{id}/capture`.
pub fn template(api: Api, path: &str) -> Option<String> {
    let actual: Vec<&str> = path.split('?').next().unwrap_or(path).trim_end_matches('/').split('/').collect();
    spec(api).raw["paths"].as_object()?.keys().find_map(|t| {
        let parts: Vec<&str> = t.split('/').collect();
        (parts.len() == actual.len()
            && parts.iter().zip(&actual).all(|(p, a)| p == a || (p.starts_with('{') && p.ends_with('}'))))
        .then(|| t.clone())
    })
}

pub fn api_of(path: &str) -> Api {
    if path.starts_with("/v2/checkout/") {
        Api::Orders
    } else {
        Api::Payments
    }
}

/// The closed schema of the answer `status` to `method path`: the status's own response, else
/// the operation's `default`. `None` when the spec gives that status no body.
pub fn response_schema(method: &str, path: &str, status: u16) -> Option<Value> {
    let api = api_of(path);
    let s = spec(api);
    let t = template(api, path).unwrap_or_else(|| panic!("{path} is not in PayPal's {api:?} API"));
    let op = &s.raw["paths"][&t][method.to_lowercase()];
    assert!(op.is_object(), "{method} {t} is not in PayPal's {api:?} API");
    let responses = &op["responses"];
    let mut response = responses.get(status.to_string()).unwrap_or(&responses["default"]);
    if let Some(r) = response.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().expect("response ref");
        response = &s.raw["components"]["responses"][name];
    }
    let schema = response.get("content")?.get("application/json")?.get("schema")?;
    let mut root = convert(schema, false);
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["components"] = json!({ "schemas": s.schemas.clone() });
    Some(root)
}

/// Every way `body` breaks `schema` (empty: it conforms).
pub fn violations(schema: &Value, body: &Value) -> Vec<String> {
    let validator = jsonschema::draft202012::new(schema).unwrap_or_else(|e| panic!("the schema compiles: {e}"));
    validator.iter_errors(body).map(|e| format!("at {}: {e}", e.instance_path())).collect()
}

pub fn example(name: &str) -> Value {
    let path = specs_dir().join("examples").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("example JSON")
}

// ---------------------------------------------------------------------------------------------
// The conversion itself, on PayPal's own example answers

#[test]
fn paypal_s_reference_examples_conform_to_the_closed_schemas() {
    for (file, method, path) in [
        ("orders-capture-201.json", "POST", "/v2/checkout/orders/24F22464WC842504J/capture"),
        ("authorizations-capture-201.json", "POST", "/v2/payments/authorizations/6DR965477U7140544/capture"),
        ("captures-get-200.json", "GET", "/v2/payments/captures/74L756601X447022Y"),
    ] {
        let status = if method == "GET" { 200 } else { 201 };
        let schema = response_schema(method, path, status).expect("a body schema");
        assert_eq!(violations(&schema, &example(file)), Vec::<String>::new(), "{file}");
    }
}

#[test]
fn closed_schemas_refuse_properties_their_endpoint_does_not_define() {
    let schema = response_schema("POST", "/v2/checkout/orders/X/capture", 201).expect("schema");
    let mut order = example("orders-capture-201.json");
    order["purchase_units"][0]["payments"]["captures"][0]["supplementary_data"] =
        json!({ "related_ids": { "order_id": "24F22464WC842504J" } });
    assert!(!violations(&schema, &order).is_empty(), "a capture inside an order has no supplementary_data");
    let mut order = example("orders-capture-201.json");
    order["purchase_units"][0]["colour"] = json!("blue");
    assert!(!violations(&schema, &order).is_empty(), "a purchase unit has no colour");
    let mut order = example("orders-capture-201.json");
    order["purchase_units"][0]["payments"]["captures"][0]["status_details"] =
        json!({ "reason": "DECLINED_BY_RISK_FRAUD_FILTERS" });
    assert!(!violations(&schema, &order).is_empty(), "a reason outside the enum");
    // the same property is fine where the endpoint's schema defines it
    let schema = response_schema("GET", "/v2/payments/captures/X", 200).expect("schema");
    assert!(violations(&schema, &example("captures-get-200.json")).is_empty());
    let mut capture = example("captures-get-200.json");
    capture["supplementary_data"]["related_ids"]["order_id"] = json!("lower-case");
    assert!(!violations(&schema, &capture).is_empty(), "ids in PayPal's format");
}

#[test]
fn error_answers_are_held_to_the_endpoint_s_list_of_issues() {
    let schema = response_schema("POST", "/v2/payments/authorizations/X/capture", 422).expect("schema");
    let body = |issue: &str, description: &str| {
        json!({
            "name": "UNPROCESSABLE_ENTITY",
            "message": "The requested action could not be performed, semantically incorrect, or failed business validation.",
            "debug_id": "90957fca61718",
            "details": [{ "issue": issue, "description": description }],
        })
    };
    assert!(
        violations(&schema, &body("AUTHORIZATION_EXPIRED", "An expired authorization cannot be captured.")).is_empty()
    );
    assert!(!violations(&schema, &body("ORDER_ALREADY_CAPTURED", "An expired authorization cannot be captured."))
        .is_empty());
    assert!(!violations(&schema, &body("AUTHORIZATION_EXPIRED", "Expired.")).is_empty(), "the documented text");
    let mut extra = body("AUTHORIZATION_EXPIRED", "An expired authorization cannot be captured.");
    extra["details"][0]["hint"] = json!("none");
    assert!(!violations(&schema, &extra).is_empty(), "details[] carry only error_details' fields");
    // a 409 on the order capture has no list of its own: the default error answer applies
    let schema = response_schema("POST", "/v2/checkout/orders/X/capture", 409).expect("default");
    let conflict = json!({
        "name": "RESOURCE_CONFLICT",
        "message": "The server has detected a conflict while processing this request.",
        "debug_id": "90957fca61718",
        "details": [{ "issue": "PREVIOUS_REQUEST_IN_PROGRESS", "description": "in progress" }],
    });
    assert!(violations(&schema, &conflict).is_empty());
}
