//! The few browser facilities the app uses: the URL's query and fragment,
//! local storage, the clipboard, fetching a lesson file by URL, and `blob:`
//! URLs for downloads. Every call
//! tolerates failure (private mode, no clipboard): the app then just goes on.

use super::status::FetchError;
use wasm_bindgen::JsCast;

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub fn query_param(name: &str) -> Option<String> {
    let search = window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()?.get(name).filter(|v| !v.is_empty())
}

/// The page's URL with some query parameters set (Some) or removed (None), and a fragment.
pub fn url_with(params: &[(&str, Option<String>)], fragment: Option<&str>) -> Option<String> {
    let href = window()?.location().href().ok()?;
    let url = web_sys::Url::new(&href).ok()?;
    let q = url.search_params();
    for (k, v) in params {
        match v {
            Some(v) => q.set(k, v),
            None => q.delete(k),
        }
    }
    url.set_search(&q.to_string().as_string().unwrap_or_default());
    url.set_hash(fragment.unwrap_or(""));
    Some(url.href())
}

/// Replaces the address bar's URL without reloading or adding history.
pub fn replace_url(url: &str) {
    if let Some(h) = window().and_then(|w| w.history().ok()) {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

pub fn fragment() -> String {
    window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

pub fn storage_get(key: &str) -> Option<String> {
    window()?.local_storage().ok()??.get_item(key).ok()?
}

pub fn storage_set(key: &str, value: &str) {
    if let Some(s) = window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(key, value);
    }
}

/// Best effort: the link is also shown in a field, for copying by hand.
pub fn copy_to_clipboard(text: &str) {
    if let Some(w) = window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}

/// A `blob:` URL holding `text` of type `mime`, for a download link; free it with `revoke_url`.
pub fn blob_url(text: &str, mime: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

pub fn revoke_url(url: &str) {
    if !url.is_empty() {
        let _ = web_sys::Url::revoke_object_url(url);
    }
}

/// Scenario and lesson files are small; a bigger one is refused before reading.
const MAX_FILE_MB: u64 = 2;

/// Reads a file the user picked, as text.
pub async fn read_file(file: web_sys::File) -> Result<String, FetchError> {
    if file.size() > (MAX_FILE_MB * 1_000_000) as f64 {
        return Err(FetchError::TooLarge {
            bytes: file.size() as u64,
            limit_mb: MAX_FILE_MB,
        });
    }
    wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .ok()
        .and_then(|v| v.as_string())
        .ok_or(FetchError::Unreadable)
}

/// Fetches a text file (a lesson, a language table) by URL.
pub async fn fetch_text(url: &str) -> Result<String, FetchError> {
    let network = || FetchError::Network { url: url.to_string() };
    let w = window().ok_or_else(network)?;
    let resp = wasm_bindgen_futures::JsFuture::from(w.fetch_with_str(url)).await.map_err(|_| network())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| network())?;
    if !resp.ok() {
        return Err(FetchError::Http {
            url: url.to_string(),
            status: resp.status(),
        });
    }
    let body = || FetchError::Body { url: url.to_string() };
    let text = resp.text().map_err(|_| body())?;
    wasm_bindgen_futures::JsFuture::from(text)
        .await
        .ok()
        .and_then(|v| v.as_string())
        .ok_or_else(body)
}

/// Scrolls a lesson step's highlighted element into view beside the step text:
/// to the top where the lesson is a side rail (it covers nothing), else to just
/// below the lesson panel pinned above the page (a phone too), title first.
pub fn scroll_to_highlight() {
    let Some(w) = window() else { return };
    let Some(doc) = w.document() else { return };
    let Some(el) = doc.query_selector(".highlight").ok().flatten() else { return };
    let width = w.inner_width().ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
    let above = doc.query_selector("section.lesson").ok().flatten().map_or(0.0, |p| {
        let r = p.get_bounding_client_rect();
        if r.left() > width / 2.0 {
            0.0
        } else {
            r.height()
        }
    });
    // .highlight's scroll-margin-top reads this variable.
    if let Some(root) = doc.document_element() {
        let _ = root.set_attribute("style", &format!("--lesson-h: {above:.0}px"));
    }
    let opts = web_sys::ScrollIntoViewOptions::new();
    opts.set_block(web_sys::ScrollLogicalPosition::Start);
    el.scroll_into_view_with_scroll_into_view_options(&opts);
}
