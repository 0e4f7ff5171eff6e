//! What every page asks of a request, as axum extractors in the handlers'
//! signatures instead of a prologue in each:
//!
//! - [`Language`]: `?lang=` (remembered by a cookie on the answer), the
//!   cookie, or Russian; [`RememberedLang`] reads only the cookie, for the
//!   answer to a form.
//! - [`SignedIn`]: the merchant of a live session; none is a 303 to /login,
//!   a store failure an error page (never a sign-out).
//! - [`CsrfForm`]: a form of the session, its CSRF token checked; and
//!   [`GuestCsrfForm`]: a form shown before login, checked against the
//!   double-submit cookie, which must carry this process's signature. A
//!   wrong token is a 403 before anything changes.
//!
//! Those that can fail fail with a [`PageError`], so a handler's own
//! failures and its extractors' answer alike.

use super::error::PageError;
use super::now_millis;
use crate::Cabinet;
use crate::i18n::Lang;
use crate::session::{self, CSRF_COOKIE, LANG_COOKIE, SESSION_COOKIE};
use axum::extract::{
    Form, FromRequest, FromRequestParts, OptionalFromRequestParts, Query, Request,
};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use mpos_store::StoreError;
use mpos_store::ops::merchants::{self, MerchantRow};
use mpos_store::ops::sessions;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// How long the language cookie is kept: a year.
const LANG_COOKIE_SECONDS: u64 = 365 * 24 * 3600;

/// The language of a page: `?lang=` (then remembered), the cookie, or
/// Russian. A page that renders passes [`Language::cookies`] to the
/// answer, so a `?lang=` sticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Language {
    /// The language to answer in.
    pub lang: Lang,
    /// The `Set-Cookie` that remembers a `?lang=`; none without one.
    pub remember: Option<String>,
}

/// `?lang=`; the other parameters are the pages' own.
#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

impl Language {
    /// The language of a request whose `?lang=` is `asked`.
    fn of(headers: &HeaderMap, asked: Option<&str>) -> Language {
        if let Some(lang) = asked.and_then(Lang::parse) {
            let remember = session::set_cookie(
                LANG_COOKIE,
                lang.code(),
                false,
                "Lax",
                Some(LANG_COOKIE_SECONDS),
            );
            return Language {
                lang,
                remember: Some(remember),
            };
        }
        Language {
            lang: RememberedLang::of(headers).0,
            remember: None,
        }
    }

    /// The cookies the answer sets for the language: the remembering one,
    /// if `?lang=` asked.
    pub fn cookies(&self) -> &[String] {
        self.remember.as_slice()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let Query(query) = Query::<LangQuery>::from_request_parts(parts, state).await?;
        Ok(Language::of(&parts.headers, query.lang.as_deref()))
    }
}

/// The remembered language (the cookie, or Russian), without reading
/// `?lang=`: what the answer to a posted form is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RememberedLang(pub Lang);

impl RememberedLang {
    fn of(headers: &HeaderMap) -> RememberedLang {
        RememberedLang(
            session::cookie(headers, LANG_COOKIE)
                .and_then(Lang::parse)
                .unwrap_or(Lang::Ru),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RememberedLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RememberedLang::of(&parts.headers))
    }
}

/// The merchant of a live session. As an extractor: no, an unknown or an
/// expired session answers 303 to /login; a store failure answers the 500
/// page and leaves the session as it was. `Option<SignedIn>` is for the
/// login page, which anyone may see.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    /// The merchant.
    pub merchant: MerchantRow,
    /// The session's CSRF token, put in every form of its pages.
    pub csrf: String,
    /// What the store keeps of the session's token.
    pub token_hash: [u8; 32],
}

impl SignedIn {
    /// The session of `headers`' cookie, if it is live; its idle clock
    /// restarts. An ended one is deleted; a store failure is an error,
    /// never "no session".
    async fn find(cabinet: &Cabinet, headers: &HeaderMap) -> Result<Option<SignedIn>, StoreError> {
        let Some(token) = session::cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let token_hash = session::token_hash(token);
        let Some(row) = cabinet
            .read(move |reader| sessions::find(reader, &token_hash))
            .await?
        else {
            return Ok(None);
        };
        let now = now_millis();
        if !session::alive(row.created_at, row.last_seen_at, now) {
            drop(
                cabinet
                    .store
                    .write(move |tx| sessions::delete(tx, &token_hash)),
            );
            return Ok(None);
        }
        // The idle clock restarts; the answer does not wait for it.
        drop(
            cabinet
                .store
                .write(move |tx| sessions::touch(tx, &token_hash, now)),
        );
        let merchant_id = row.merchant_id;
        let merchant = cabinet
            .read(move |reader| merchants::by_id(reader, &merchant_id))
            .await?;
        Ok(merchant.map(|merchant| SignedIn {
            merchant,
            csrf: row.csrf_token,
            token_hash,
        }))
    }

    /// The signed-in merchant, or the login page.
    async fn required(cabinet: &Cabinet, headers: &HeaderMap) -> Result<SignedIn, PageError> {
        SignedIn::find(cabinet, headers)
            .await?
            .ok_or(PageError::SignIn)
    }
}

impl FromRequestParts<Arc<Cabinet>> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        cabinet: &Arc<Cabinet>,
    ) -> Result<Self, PageError> {
        SignedIn::required(cabinet, &parts.headers).await
    }
}

impl OptionalFromRequestParts<Arc<Cabinet>> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        cabinet: &Arc<Cabinet>,
    ) -> Result<Option<Self>, PageError> {
        Ok(SignedIn::find(cabinet, &parts.headers).await?)
    }
}

/// A posted form as it arrives: the CSRF token, which the extractors check,
/// beside the page's own fields. The token is optional so that a missing
/// one is a 403, not a parse error.
#[derive(Deserialize)]
struct Tokened<T> {
    #[serde(default)]
    csrf_token: String,
    #[serde(flatten)]
    fields: T,
}

/// A posted form of a session's page, its CSRF token the session's. In the
/// order the handlers always had: a form that does not parse is axum's
/// rejection, no live session the login page, a wrong token 403.
pub(crate) struct CsrfForm<T> {
    /// The session that sent it.
    pub me: SignedIn,
    /// The form's own fields.
    pub form: T,
}

impl<T> FromRequest<Arc<Cabinet>> for CsrfForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = PageError;

    async fn from_request(request: Request, cabinet: &Arc<Cabinet>) -> Result<Self, PageError> {
        let headers = request.headers().clone();
        let Form(posted) = Form::<Tokened<T>>::from_request(request, cabinet).await?;
        let me = SignedIn::required(cabinet, &headers).await?;
        if !session::same_secret(&me.csrf, &posted.csrf_token) {
            return Err(PageError::Forbidden);
        }
        Ok(CsrfForm {
            me,
            form: posted.fields,
        })
    }
}

/// A posted form shown before login (login, forgot, reset), its CSRF token
/// the double-submit cookie's: a form that does not parse is axum's
/// rejection; a missing cookie, one this process did not sign, or another
/// token 403.
pub(crate) struct GuestCsrfForm<T> {
    /// The checked token, for the form shown again.
    pub csrf: String,
    /// The form's own fields.
    pub form: T,
}

impl<T> FromRequest<Arc<Cabinet>> for GuestCsrfForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = PageError;

    async fn from_request(request: Request, cabinet: &Arc<Cabinet>) -> Result<Self, PageError> {
        let expected = session::cookie(request.headers(), CSRF_COOKIE)
            .unwrap_or_default()
            .to_owned();
        let Form(posted) = Form::<Tokened<T>>::from_request(request, cabinet).await?;
        // Both checks run whatever the first says: the signature (ring's
        // constant-time verify) and the double submit (constant-time too).
        let signed = cabinet
            .csrf_key
            .as_ref()
            .is_some_and(|key| key.signed(&expected));
        let submitted = session::same_secret(&expected, &posted.csrf_token);
        if expected.is_empty() || !(signed & submitted) {
            return Err(PageError::Forbidden);
        }
        Ok(GuestCsrfForm {
            csrf: expected,
            form: posted.fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppDownload, CabinetConfig, mail};
    use axum::body::Body;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use mpos_domain::business_day::BusinessDayClock;
    use mpos_store::{Store, StoreOptions};

    const MERCHANT: &str = "MTB000000000001";
    const TOKEN: &str = "session-token";
    const CSRF: &str = "session-csrf";

    /// A cabinet over a fresh store (on the backend the tests run on) with
    /// one merchant and one live session.
    fn cabinet(dir: &tempfile::TempDir) -> Arc<Cabinet> {
        let location = mpos_testkit::backend::location(dir.path());
        let store = Store::open_at(&location, &StoreOptions::default()).unwrap();
        store
            .write_blocking(|tx| {
                merchants::insert(
                    tx,
                    &MerchantRow {
                        id: MERCHANT.into(),
                        name: "ООО «Ромашка»".into(),
                        email: "demo@merchant.test".into(),
                        password_hash: "unused".into(),
                    },
                )?;
                sessions::create(
                    tx,
                    &session::token_hash(TOKEN),
                    MERCHANT,
                    CSRF,
                    now_millis(),
                )
            })
            .unwrap();
        let mail = mail::Mailer::new(mail::MailSettings {
            from: "no-reply@mpos.test".into(),
            transport: mail::MailTransport::Outbox(dir.path().join("outbox")),
        })
        .unwrap();
        Cabinet::new(
            store,
            CabinetConfig {
                public_url: "http://localhost".into(),
                https: false,
                app_download: AppDownload::Url("https://example.invalid/app.apk".into()),
                business_day: BusinessDayClock::minsk().unwrap(),
                mail,
                passwords: Arc::new(mpos_passwords::PasswordPool::new(1)),
            },
        )
    }

    fn request(uri: &str, cookie: &str, form: Option<&str>) -> Request {
        let mut builder = Request::builder().uri(uri);
        if !cookie.is_empty() {
            builder = builder.header(header::COOKIE, cookie);
        }
        if form.is_some() {
            builder = builder
                .method("POST")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        builder
            .body(Body::from(form.unwrap_or("").to_owned()))
            .unwrap()
    }

    async fn signed_in(cabinet: &Arc<Cabinet>, cookie: &str) -> Result<SignedIn, PageError> {
        let (mut parts, _) = request("/", cookie, None).into_parts();
        <SignedIn as FromRequestParts<_>>::from_request_parts(&mut parts, cabinet).await
    }

    fn sessions_left(cabinet: &Cabinet) -> i64 {
        mpos_testkit::sql::in_table(&cabinet.store, "cabinet_sessions")
    }

    #[tokio::test]
    async fn a_live_session_is_its_merchant_and_no_session_is_the_login_page() {
        let dir = tempfile::tempdir().unwrap();
        let cabinet = cabinet(&dir);
        let me = signed_in(&cabinet, &format!("mpos_session={TOKEN}"))
            .await
            .unwrap();
        assert_eq!(me.merchant.id, MERCHANT);
        assert_eq!(me.csrf, CSRF);
        assert_eq!(me.token_hash, session::token_hash(TOKEN));
        for cookie in ["", "mpos_session=unknown", "other=1"] {
            let answer = signed_in(&cabinet, cookie)
                .await
                .unwrap_err()
                .into_response();
            assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{cookie}");
            assert_eq!(answer.headers()[header::LOCATION], "/login");
        }
        // An expired session is the login page too, and is deleted.
        cabinet
            .store
            .write_blocking(|tx| {
                let long_ago = now_millis() - session::ABSOLUTE_MS;
                sessions::create(tx, &session::token_hash("old"), MERCHANT, "x", long_ago)
            })
            .unwrap();
        let expired = signed_in(&cabinet, "mpos_session=old").await.unwrap_err();
        assert!(matches!(expired, PageError::SignIn), "{expired:?}");
        cabinet.store.flush_blocking().unwrap();
        assert_eq!(sessions_left(&cabinet), 1, "only the live one is left");
    }

    #[tokio::test]
    async fn a_store_failure_is_an_error_page_and_keeps_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let cabinet = cabinet(&dir);
        let cookie = format!("mpos_session={TOKEN}");
        let rename = |from, to| mpos_testkit::sql::rename_table(&cabinet.store, from, to);
        rename("cabinet_sessions", "cabinet_sessions_away");
        let failed = signed_in(&cabinet, &cookie).await.unwrap_err();
        assert!(matches!(failed, PageError::Store(_)), "{failed:?}");
        let answer = failed.into_response();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(answer.headers().get(header::LOCATION).is_none());

        rename("cabinet_sessions_away", "cabinet_sessions");
        assert_eq!(sessions_left(&cabinet), 1, "the session was not deleted");
        let me = signed_in(&cabinet, &cookie).await.unwrap();
        assert_eq!(me.merchant.id, MERCHANT, "the same session works again");
    }

    #[tokio::test]
    async fn an_optional_session_is_none_without_one_and_an_error_on_a_store_failure() {
        let dir = tempfile::tempdir().unwrap();
        let cabinet = cabinet(&dir);
        let (mut parts, _) = request("/login", "", None).into_parts();
        let none =
            <SignedIn as OptionalFromRequestParts<_>>::from_request_parts(&mut parts, &cabinet)
                .await
                .unwrap();
        assert!(none.is_none());
        mpos_testkit::sql::execute(&cabinet.store, "DROP TABLE cabinet_sessions");
        let (mut parts, _) = request("/login", &format!("mpos_session={TOKEN}"), None).into_parts();
        let failed =
            <SignedIn as OptionalFromRequestParts<_>>::from_request_parts(&mut parts, &cabinet)
                .await
                .unwrap_err();
        assert!(matches!(failed, PageError::Store(_)), "{failed:?}");
    }

    #[derive(Deserialize)]
    struct Posted {
        #[serde(default)]
        state: String,
    }

    #[tokio::test]
    async fn a_form_with_the_sessions_token_passes_and_any_other_is_403() {
        let dir = tempfile::tempdir().unwrap();
        let cabinet = cabinet(&dir);
        let cookie = format!("mpos_session={TOKEN}");
        let posted = |form: String| request("/x", &cookie, Some(&form));
        let passed = CsrfForm::<Posted>::from_request(
            posted(format!("state=on&csrf_token={CSRF}")),
            &cabinet,
        )
        .await
        .ok()
        .unwrap();
        assert_eq!(passed.form.state, "on");
        assert_eq!(passed.me.merchant.id, MERCHANT);
        // The page's fields are optional and others are ignored, as before;
        // a form of nothing but the token (logout's) is `()`.
        let bare = CsrfForm::<Posted>::from_request(
            posted(format!("csrf_token={CSRF}&other=1")),
            &cabinet,
        )
        .await
        .ok()
        .unwrap();
        assert_eq!(bare.form.state, "");
        let logout = CsrfForm::<()>::from_request(posted(format!("csrf_token={CSRF}")), &cabinet)
            .await
            .ok()
            .unwrap();
        assert_eq!(logout.me.csrf, CSRF);
        for form in [
            "state=on",
            "state=on&csrf_token=",
            "state=on&csrf_token=other",
        ] {
            let refused = CsrfForm::<Posted>::from_request(posted(form.into()), &cabinet)
                .await
                .err()
                .unwrap();
            assert!(matches!(refused, PageError::Forbidden), "{form}");
            assert_eq!(refused.into_response().status(), StatusCode::FORBIDDEN);
        }
        // Without a session the token is not even looked at: the login page.
        let anonymous = request("/x", "", Some(&format!("csrf_token={CSRF}")));
        let refused = CsrfForm::<Posted>::from_request(anonymous, &cabinet)
            .await
            .err()
            .unwrap();
        assert!(matches!(refused, PageError::SignIn));
    }

    #[tokio::test]
    async fn a_guest_form_passes_only_with_the_double_submit_cookie() {
        let dir = tempfile::tempdir().unwrap();
        let cabinet = cabinet(&dir);
        let posted = |cookie: &str, form: &str| request("/login", cookie, Some(form));
        // The cookie must be one this cabinet signed (before, any value
        // passed): "abc" stands for a signed token here.
        let abc = cabinet.csrf_key.as_ref().unwrap().new_token().unwrap();
        let passed = GuestCsrfForm::<Posted>::from_request(
            posted(&format!("mpos_csrf={abc}"), &format!("csrf_token={abc}")),
            &cabinet,
        )
        .await
        .ok()
        .unwrap();
        assert_eq!(passed.csrf, abc);
        // The same token with its last character changed (to one it is not,
        // whatever it was: a fixed "d" equalled it one run in sixteen).
        let last = if abc.ends_with('d') { 'e' } else { 'd' };
        let abd = format!("{}{last}", &abc[..abc.len() - 1]);
        assert_ne!(abd, abc);
        let (nonce, _) = abc.split_once('.').unwrap();
        let forged = format!("{nonce}.{}", "0".repeat(64));
        let elsewhere = session::CsrfKey::random().unwrap().new_token().unwrap();
        for (cookie, form) in [
            ("".to_owned(), "csrf_token=".to_owned()),
            ("mpos_csrf=".into(), "csrf_token=".into()),
            (format!("mpos_csrf={abc}"), format!("csrf_token={abd}")),
            (format!("mpos_csrf={abc}"), "state=on".into()),
            // Unsigned, forged and another key's cookies, each with the
            // matching form token: an attacker who can plant cookies.
            ("mpos_csrf=abc".into(), "csrf_token=abc".into()),
            (format!("mpos_csrf={nonce}"), format!("csrf_token={nonce}")),
            (
                format!("mpos_csrf={forged}"),
                format!("csrf_token={forged}"),
            ),
            (
                format!("mpos_csrf={elsewhere}"),
                format!("csrf_token={elsewhere}"),
            ),
        ] {
            let refused = GuestCsrfForm::<Posted>::from_request(posted(&cookie, &form), &cabinet)
                .await
                .err()
                .unwrap();
            assert!(matches!(refused, PageError::Forbidden), "{cookie} {form}");
        }
    }

    async fn language(uri: &str, cookie: &str) -> Language {
        let (mut parts, _) = request(uri, cookie, None).into_parts();
        Language::from_request_parts(&mut parts, &()).await.unwrap()
    }

    #[tokio::test]
    async fn the_language_is_the_query_then_the_cookie_then_russian() {
        let asked = language("/?lang=en", "mpos_lang=ru").await;
        assert_eq!(asked.lang, Lang::En);
        assert_eq!(
            asked.cookies(),
            ["mpos_lang=en; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000"]
        );
        let remembered = language("/", "mpos_lang=en").await;
        assert_eq!(
            remembered,
            Language {
                lang: Lang::En,
                remember: None
            }
        );
        let unknown = language("/?lang=de", "mpos_lang=xx").await;
        assert_eq!(
            unknown,
            Language {
                lang: Lang::Ru,
                remember: None
            }
        );
        assert_eq!(language("/", "").await.lang, Lang::Ru);

        // A form's answer keeps to the cookie, whatever the query says.
        let (mut parts, _) = request("/?lang=en", "", None).into_parts();
        let RememberedLang(lang) = RememberedLang::from_request_parts(&mut parts, &())
            .await
            .unwrap();
        assert_eq!(lang, Lang::Ru);
    }
}
