//! The console's stylesheet and script, embedded in the binary.
//!
//! This module owns serving them under `/console/assets/{name}` with their content types
//! and a year-long, immutable cache, and the URLs pages link them by: each carries a digest
//! of the file's content (`?v=`), so a new build's file is fetched anew. There is no
//! front-end build step and nothing is loaded from elsewhere.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::session::hex;

const CSS: &str = include_str!("../../assets/console/console.css");
const JS: &str = include_str!("../../assets/console/console.js");

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 2] = [
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: CSS,
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: JS,
    },
];

fn versioned(asset: &Asset) -> String {
    let digest = hex(&Sha256::digest(asset.body.as_bytes())[..6]);
    format!("/console/assets/{}?v={digest}", asset.name)
}

/// The stylesheet's URL.
pub(crate) static CSS_URL: LazyLock<String> = LazyLock::new(|| versioned(&ASSETS[0]));
/// The script's URL.
pub(crate) static JS_URL: LazyLock<String> = LazyLock::new(|| versioned(&ASSETS[1]));

/// `GET /console/assets/{name}`.
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
