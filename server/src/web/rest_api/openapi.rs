//! The OpenAPI 3.1 document, generated from the handlers' own annotations by utoipa (so it
//! cannot drift from the code it describes), and a reference page made from it on the
//! server: no script, no outside host.

use std::sync::LazyLock;

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{cases, directory, error, exports};
use crate::domain::language::Language;
use crate::web::{reader, render, AppError};

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (mend_...) made on the API tokens page or with \
                         `mend-server token add`.",
                    ))
                    .build(),
            ),
        );
        // What any operation may answer besides its own outcomes, so the document
        // describes every answer the server gives.
        let common: &[(&str, &str, bool)] = &[
            ("400", "A parameter or the body could not be read", false),
            (
                "401",
                "No valid token (missing, unknown, revoked or expired)",
                false,
            ),
            ("403", "The token's scope or stores do not allow this", true),
            ("413", "The body is larger than 64 KiB", true),
            (
                "429",
                "Too many requests for this token: wait Retry-After seconds",
                false,
            ),
            ("503", "Temporarily unavailable: try again", false),
        ];
        let error = |about: &str| {
            utoipa::openapi::ResponseBuilder::new()
                .description(about)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in doc.paths.paths.values_mut() {
            let ops = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.patch, true),
            ];
            for (op, changes) in ops {
                let Some(op) = op.as_mut() else { continue };
                for (status, about, only_changes) in common {
                    if *only_changes && !changes {
                        continue;
                    }
                    op.responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| error(about).into());
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mend REST API",
        description = "Read and work cases, read survey answers, and keep stores, spots, \
            categories and people in sync. Every request carries `Authorization: Bearer \
            <token>`; a token sees only its stores and does only what its scope allows \
            (read, write, admin). Errors are `{code, message, field}` with the message in \
            the language of `Accept-Language`.",
        license(name = "AGPL-3.0-or-later"),
    ),
    paths(
        cases::list, cases::show, cases::act, cases::answers,
        directory::list_stores, directory::show_store, directory::add_store,
        directory::edit_store, directory::archive_store, directory::restore_store,
        directory::list_spots, directory::add_spot, directory::rename_spot,
        directory::retire_spot, directory::list_categories, directory::add_category,
        directory::list_people, directory::invite_person, directory::edit_person,
        directory::deactivate_person, directory::reactivate_person, exports::download,
    ),
    components(schemas(error::ErrorBody, exports::ExportFile)),
    modifiers(&BearerToken),
    tags(
        (name = "cases", description = "Complaints and the work on them"),
        (name = "surveys", description = "What customers answered after resolution"),
        (name = "stores", description = "Stores, their spots (stickers) and categories"),
        (name = "people", description = "Staff, managers and admins"),
        (name = "exports", description = "Survey answers and cases as files"),
    )
)]
pub struct ApiDoc;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|_| "{}".to_owned())
});

/// `GET /api/v1/openapi.json`: public, like any API's reference.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(DOCUMENT.as_str())
}

struct Operation {
    method: String,
    path: String,
    summary: String,
    description: String,
    parameters: Vec<(String, String, bool, String)>,
    body: Option<String>,
    responses: Vec<(String, String, String)>,
}

/// (name, type, description) of each field of a schema.
type Fields = Vec<(String, String, String)>;

struct Section {
    name: String,
    description: String,
    operations: Vec<Operation>,
}

#[derive(Template)]
#[template(path = "api_reference.html")]
struct Reference {
    l: Language,
    intro: String,
    sections: Vec<Section>,
    schemas: Vec<(String, Fields)>,
}

/// A schema's name or shape, in a word or two.
fn type_of(schema: &serde_json::Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    if schema["type"] == "array" {
        return format!("[{}]", type_of(&schema["items"]));
    }
    if let Some(one) = schema["oneOf"].as_array() {
        return one.iter().map(type_of).collect::<Vec<_>>().join(" | ");
    }
    match &schema["type"] {
        serde_json::Value::String(t) => t.clone(),
        serde_json::Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "object".to_owned(),
    }
}

fn reference_of(doc: &serde_json::Value, lang: Language) -> Reference {
    let mut sections: Vec<Section> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| Section {
            name: t["name"].as_str().unwrap_or_default().to_owned(),
            description: t["description"].as_str().unwrap_or_default().to_owned(),
            operations: Vec::new(),
        })
        .collect();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let tag = op["tags"][0].as_str().unwrap_or_default();
            let operation = Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: op["summary"].as_str().unwrap_or_default().to_owned(),
                description: op["description"].as_str().unwrap_or_default().to_owned(),
                parameters: op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        (
                            p["name"].as_str().unwrap_or_default().to_owned(),
                            p["in"].as_str().unwrap_or_default().to_owned(),
                            p["required"].as_bool().unwrap_or(false),
                            p["description"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
                body: op["requestBody"]["content"]["application/json"]["schema"]
                    .as_object()
                    .map(|s| type_of(&serde_json::Value::Object(s.clone()))),
                responses: op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, r)| {
                        (
                            status.clone(),
                            r["description"].as_str().unwrap_or_default().to_owned(),
                            type_of(&r["content"]["application/json"]["schema"]),
                        )
                    })
                    .collect(),
            };
            if let Some(s) = sections.iter_mut().find(|s| s.name == tag) {
                s.operations.push(operation);
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            let fields = s["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(field, f)| {
                    (
                        field.clone(),
                        type_of(f),
                        f["description"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            (name.clone(), fields)
        })
        .collect();
    Reference {
        l: lang,
        intro: doc["info"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        sections,
        schemas,
    }
}

/// `GET /api/v1/reference`: the document as a page to read.
pub async fn reference(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let doc: serde_json::Value = serde_json::from_str(&DOCUMENT).unwrap_or_default();
    render::html(&reference_of(&doc, reader::of_request(&req)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_every_route_is_in_it() {
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/api/v1/cases",
            "/api/v1/cases/{reference}",
            "/api/v1/cases/{reference}/{action}",
            "/api/v1/survey-answers",
            "/api/v1/stores",
            "/api/v1/stores/{id}/spots",
            "/api/v1/people/{id}/deactivate",
            "/api/v1/exports/{file}",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} is missing");
        }
        let page = reference_of(&doc, Language::EN).render().unwrap();
        assert!(page.contains("/api/v1/cases/{reference}/{action}"));
        assert!(page.contains("CaseDetail"));
    }

    /// Every `$ref` names a schema the document has: a type used only as a parameter is
    /// not collected by itself, and a dangling reference breaks every client generator.
    #[test]
    fn every_reference_resolves() {
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT).unwrap();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{r} does not resolve"
            );
        }
    }
}
