//! Every answer a page gives instead of its own: one error type, mapped to
//! a response in one place, so that handlers and extractors end in `?`.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use mpos_domain::password::PasswordError;
use mpos_store::StoreError;
use mpos_store::fault_log::FaultLog;

/// Why a page is not shown. Each variant is one answer the merchant sees;
/// the failures (store, hashing, tasks, rendering) are logged with their
/// cause, which the answer never shows.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// No, an unknown or an expired session: 303 to the login page.
    #[error("no live session")]
    SignIn,
    /// A POST without the right CSRF token: 403, and nothing was changed.
    #[error("the form's CSRF token is missing or wrong")]
    Forbidden,
    /// Not this merchant's (or no such) thing: the same 404 for both.
    #[error("not found")]
    NotFound,
    /// A request the page cannot take, with the sentence that says why.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The query string does not parse (axum's own answer).
    #[error(transparent)]
    Query(#[from] QueryRejection),
    /// The form does not parse (axum's own answer).
    #[error(transparent)]
    Form(#[from] FormRejection),
    /// The store failed: 500, please try again.
    #[error("the cabinet could not reach the store: {0}")]
    Store(#[from] StoreError),
    /// A new password could not be hashed.
    #[error("a password could not be hashed: {0}")]
    Hash(#[from] PasswordError),
    /// A blocking task (hashing, a read) did not finish.
    #[error("a blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The system's randomness failed while making a token.
    #[error("no randomness for a session token")]
    NoRandomness,
    /// A template failed to render.
    #[error("a page failed to render: {0}")]
    Render(#[from] askama::Error),
}

/// Pages that failed because the store did, as a fault that repeats.
static STORE_PAGES: FaultLog = FaultLog::new("cabinet pages reading the store");

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/login").into_response(),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "403: the form is out of date or not ours; reload the page and try again.\n",
            )
                .into_response(),
            PageError::NotFound => (StatusCode::NOT_FOUND, "404: not found.\n").into_response(),
            PageError::BadRequest(why) => {
                (StatusCode::BAD_REQUEST, format!("400: {why}\n")).into_response()
            }
            PageError::Query(rejection) => rejection.into_response(),
            PageError::Form(rejection) => rejection.into_response(),
            PageError::Render(error) => {
                tracing::error!(%error, "a page failed to render");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            failure @ (PageError::Store(_)
            | PageError::Hash(_)
            | PageError::Task(_)
            | PageError::NoRandomness) => {
                match &failure {
                    // The store down fails every page: logged as one fault.
                    PageError::Store(error) if error.is_store_fault() => {
                        STORE_PAGES.failed(&failure);
                    }
                    _ => tracing::error!(error = %failure, "a page failed"),
                }
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "500: please try again in a moment.\n",
                )
                    .into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn each_error_is_its_own_answer() {
        let login = PageError::SignIn.into_response();
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        assert_eq!(login.headers()[header::LOCATION], "/login");

        let store = PageError::Store(StoreError::Closed).into_response();
        assert_eq!(store.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body(store).await, "500: please try again in a moment.\n");

        let forbidden = PageError::Forbidden.into_response();
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        assert!(
            body(forbidden)
                .await
                .starts_with("403: the form is out of date")
        );

        let missing = PageError::NotFound.into_response();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(body(missing).await, "404: not found.\n");

        let bad = PageError::BadRequest("state must be active or blocked.").into_response();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body(bad).await, "400: state must be active or blocked.\n");
    }
}
