//! The payment history through the router: the business-day view and its
//! chart, the transactions view and its pages, the filters alone and
//! combined, wrong periods, the CSV of either view (parsed back), and the
//! isolation of merchants.

use axum::http::{StatusCode, header};
use mpos_domain::business_day::BusinessDayClock;
use mpos_store::ops::transactions::{self, Kind, NewTransaction};
use mpos_testkit::cabinet::*;
use mpos_testkit::provision::{MERCHANT, OTHER_MERCHANT, Provision, standard_terminal};

/// A business day `days_ago` before today's, `YYYY-MM-DD`.
fn day(days_ago: i32) -> String {
    BusinessDayClock::minsk()
        .unwrap()
        .business_day(jiff::Timestamp::now())
        .checked_sub(jiff::Span::new().days(days_ago))
        .unwrap()
        .to_string()
}

/// What a stored 0200 varies by in these tests.
struct Tx {
    device: &'static str,
    merchant: &'static str,
    vt: &'static str,
    kind: Kind,
    amount: u64,
    code: &'static str,
    day: String,
}

fn purchase(amount: u64, day: String) -> Tx {
    Tx {
        device: "MPOS-0001",
        merchant: "MTB000000000001",
        vt: "10000001",
        kind: Kind::Purchase,
        amount,
        code: "00",
        day,
    }
}

/// Stores `txs` in order (ids ascending) and returns their ids.
fn store_all(app: &App, txs: Vec<Tx>) -> Vec<i64> {
    app.store
        .write_blocking(move |c| {
            let mut ids = Vec::new();
            for (i, t) in txs.into_iter().enumerate() {
                let id = transactions::insert(
                    c,
                    &NewTransaction {
                        kind: t.kind,
                        device_serial: t.device.into(),
                        merchant_id: t.merchant.into(),
                        vt_id: t.vt.into(),
                        stan: format!("{i:06}"),
                        transmission_time: "1125093000".into(),
                        local_time: None,
                        local_date: None,
                        pos_entry_mode: Some("071".into()),
                        processing_code: if t.kind == Kind::Refund {
                            "200000"
                        } else {
                            "000000"
                        }
                        .into(),
                        amount_minor: t.amount,
                        currency: 933,
                        masked_pan: Some("427655******1234".into()),
                        pan_hash: Some([7; 32]),
                        rrn: (t.code == "00").then(|| format!("{:012}", 9000 + i)),
                        auth_code: (t.code == "00").then(|| "A1B2C3".to_owned()),
                        response_code: t.code.into(),
                        business_day: t.day,
                        received_at: jiff::Timestamp::now().as_millisecond(),
                        original_id: None,
                        original_rrn: None,
                        original_data: None,
                        fingerprint: [1; 32],
                        response: Vec::new(),
                    },
                )?;
                ids.push(id);
            }
            Ok(ids)
        })
        .unwrap()
}

/// The demo merchant's two terminals and the other merchant's one.
fn terminals(app: &App) {
    Provision::new()
        .terminal(standard_terminal("10000001", MERCHANT, "Оплата"))
        .terminal(standard_terminal("20000001", MERCHANT, "Рассрочка 6 мес."))
        .terminal(standard_terminal(
            "90000001",
            OTHER_MERCHANT,
            "Чужой терминал",
        ))
        .apply(&app.store);
}

/// A demo-merchant history: today two payments (one reversed below), a
/// refund and a decline; two days ago an installment payment on the other
/// device; and the other merchant's payment today.
fn seeded() -> (App, Vec<i64>) {
    let app = app("http://127.0.0.1:8080");
    terminals(&app);
    let ids = store_all(
        &app,
        vec![
            purchase(12_550, day(0)),
            purchase(100_000, day(0)),
            Tx {
                kind: Kind::Refund,
                amount: 2_550,
                ..purchase(0, day(0))
            },
            Tx {
                code: "51",
                amount: 99_900,
                ..purchase(0, day(0))
            },
            Tx {
                device: "MPOS-0002",
                vt: "20000001",
                amount: 600_000,
                ..purchase(0, day(2))
            },
            Tx {
                device: "MPOS-0101",
                merchant: "MTB000000000002",
                vt: "90000001",
                amount: 777_700,
                ..purchase(0, day(0))
            },
        ],
    );
    let reversed = ids[1];
    app.store
        .write_blocking(move |c| transactions::mark_reversed(c, reversed))
        .unwrap();
    (app, ids)
}

async fn get(app: &App, cookie: &str, uri: &str) -> Answer {
    call(app, "GET", uri, cookie, None).await
}

fn session_cookie(session: &str) -> String {
    format!("mpos_session={session}")
}

#[tokio::test]
async fn the_business_day_view_counts_only_approved_unreversed_and_draws_the_net() {
    let (app, _) = seeded();
    let cookie = session_cookie(&logged_in(&app).await);
    let page = get(&app, &cookie, "/history").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(body.contains("История платежей"), "{body}");
    // Today: 125,50 paid (the 1 000,00 was reversed, the 999,00 declined),
    // 25,50 refunded, 100,00 net.
    assert!(body.contains("125,50\u{a0}BYN"), "{body}");
    assert!(body.contains("25,50\u{a0}BYN"));
    assert!(body.contains("100,00\u{a0}BYN"));
    assert!(!body.contains("1\u{a0}000,00") && !body.contains("999,00"));
    // Two days ago on the installment terminal, named.
    assert!(body.contains("6\u{a0}000,00\u{a0}BYN") && body.contains("Рассрочка 6 мес."));
    // The period total: 6 125,50 paid, net 6 100,00.
    assert!(body.contains("6\u{a0}125,50\u{a0}BYN") && body.contains("6\u{a0}100,00\u{a0}BYN"));
    // The chart: one bar per day of the week, an accessible SVG.
    assert_eq!(body.matches("<rect").count(), 7, "{body}");
    assert!(body.contains("role=\"img\""));
    // Never the other merchant's.
    assert!(!body.contains("7\u{a0}777,00") && !body.contains("Чужой"));
    assert!(!body.contains("90000001"));
}

#[tokio::test]
async fn the_transactions_view_lists_newest_first_and_marks_declines() {
    let (app, ids) = seeded();
    let cookie = session_cookie(&logged_in(&app).await);
    let page = get(&app, &cookie, "/history?view=transactions").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains("Операций найдено: <strong>5</strong>"),
        "{body}"
    );
    // Newest first: the decline (stored fourth) before the first payment.
    let decline = body.find("999,00").unwrap();
    let first = body.find("125,50").unwrap();
    assert!(decline < first);
    assert!(
        body.contains("Отклонена") && body.contains("Недостаточно средств"),
        "{body}"
    );
    assert!(body.contains("class=\"badge reversed\""));
    assert!(body.contains("Возврат") && body.contains("427655******1234"));
    assert!(body.contains(&format!("{:012}", 9000)), "the RRN is shown");
    assert!(!body.contains("777,00"), "never another merchant's");
    assert_eq!(ids.len(), 6);
}

#[tokio::test]
async fn pages_of_fifty_cover_the_whole_period_once() {
    let app = app("http://127.0.0.1:8080");
    terminals(&app);
    store_all(
        &app,
        (1..=120)
            .map(|i| purchase(i * 100, day((i % 3) as i32)))
            .collect(),
    );
    let cookie = session_cookie(&logged_in(&app).await);
    let mut seen = 0;
    for page in 1..=3 {
        let answer = get(
            &app,
            &cookie,
            &format!("/history?view=transactions&page={page}"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            answer.body.contains(&format!("{page} из 3")),
            "{}",
            answer.body
        );
        seen += answer.body.matches("<tr class=\"").count();
        if page < 3 {
            assert!(answer.body.contains(&format!("page={}", page + 1)));
        }
    }
    assert_eq!(seen, 120);
    // A page past the end shows the last one.
    let beyond = get(&app, &cookie, "/history?view=transactions&page=99").await;
    assert!(beyond.body.contains("3 из 3"));
}

#[tokio::test]
async fn filters_by_device_terminal_id_and_name_combine() {
    let (app, _) = seeded();
    let cookie = session_cookie(&logged_in(&app).await);
    let count = |body: &str| body.matches("<tr class=\"").count();
    let mut found = Vec::new();
    for query in [
        "device=MPOS-0002",
        "vt_id=20000001",
        "vt_name=%D1%80%D0%B0%D1%81%D1%81%D1%80%D0%BE%D1%87", // «рассроч», lower case
        "vt_name=%D0%BE%D0%BF%D0%BB%D0%B0%D1%82",             // «оплат»
        "device=MPOS-0001&vt_id=20000001",
        "vt_id=10000001&vt_name=%D1%80%D0%B0%D1%81%D1%81%D1%80%D0%BE%D1%87",
        "device=MPOS-0101",
        "vt_id=90000001",
    ] {
        let page = get(
            &app,
            &cookie,
            &format!("/history?view=transactions&{query}"),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        found.push(count(&page.body));
    }
    assert_eq!(found, [1, 1, 1, 4, 0, 0, 0, 0]);
}

/// The Russian message of a wrong date: it names every accepted form.
/// (The ISO form's hyphens do not break: U+2011.)
const BAD_DATE_RU: &str =
    "Дата должна быть в виде ДД.ММ.ГГГГ, Д.М.ГГГГ или ГГГГ\u{2011}ММ\u{2011}ДД";

/// `YYYY-MM-DD` → (`DD.MM.YYYY`, `D.M.YYYY`).
fn russian_forms(iso: &str) -> (String, String) {
    let date = jiff::civil::Date::strptime("%Y-%m-%d", iso).unwrap();
    (
        date.strftime("%d.%m.%Y").to_string(),
        format!("{}.{}.{}", date.day(), date.month(), date.year()),
    )
}

#[tokio::test]
async fn a_period_typed_dd_mm_yyyy_or_d_m_yyyy_is_the_iso_period() {
    // Today's payment, one two days ago, and one on a fixed day whose day
    // and month have one digit, so that `Д.М.ГГГГ` differs from
    // `ДД.ММ.ГГГГ` whatever today is.
    let app = app("http://127.0.0.1:8080");
    terminals(&app);
    store_all(
        &app,
        vec![
            purchase(12_550, day(0)),
            purchase(600_000, day(2)),
            purchase(4_200, "2025-03-05".to_owned()),
        ],
    );
    let cookie = session_cookie(&logged_in(&app).await);
    // Nine days back to yesterday (the payment two days ago), and the
    // first days of March 2025.
    for (from, to, shown, not_shown) in [
        (day(9), day(1), "6\u{a0}000,00", "125,50"),
        (
            "2025-03-01".to_owned(),
            "2025-03-09".to_owned(),
            "42,00",
            "6\u{a0}000,00",
        ),
    ] {
        let ((from_dd, from_d), (to_dd, to_d)) = (russian_forms(&from), russian_forms(&to));
        for lang in ["ru", "en"] {
            for view in ["days", "transactions"] {
                let query = |from: &str, to: &str| {
                    format!("?period=custom&from={from}&to={to}&view={view}&lang={lang}")
                };
                let iso = query(&from, &to);
                let page = get(&app, &cookie, &format!("/history{iso}")).await;
                assert_eq!(page.status, StatusCode::OK, "{iso}: {}", page.body);
                assert!(
                    page.body.contains(shown) && !page.body.contains(not_shown),
                    "{iso}"
                );
                let csv = get(&app, &cookie, &format!("/history.csv{iso}")).await;
                let csv_records = records(&csv);
                assert!(csv_records.len() > 1, "{iso}: {csv_records:?}");
                for typed in [query(&from_dd, &to_dd), query(&from_d, &to_d)] {
                    let same = get(&app, &cookie, &format!("/history{typed}")).await;
                    assert_eq!(same.status, StatusCode::OK, "{typed}");
                    // The same page to the byte: the fields, the tabs, the
                    // language switch and the CSV link all hold ISO dates.
                    assert_eq!(same.body, page.body, "{typed}");
                    assert!(same.body.contains(&format!("value=\"{from}\"")), "{typed}");
                    let same_csv = get(&app, &cookie, &format!("/history.csv{typed}")).await;
                    assert_eq!(records(&same_csv), csv_records, "{typed}");
                    assert_eq!(same_csv.body, csv.body, "{typed}");
                    assert_eq!(
                        same_csv.headers.get(header::CONTENT_DISPOSITION),
                        csv.headers.get(header::CONTENT_DISPOSITION),
                        "{typed}"
                    );
                }
            }
        }
    }
    assert_eq!(
        russian_forms("2025-03-05"),
        ("05.03.2025".to_owned(), "5.3.2025".to_owned())
    );
}

#[tokio::test]
async fn the_date_fields_show_their_forms_without_a_date_picker() {
    let (app, _) = seeded();
    let cookie = session_cookie(&logged_in(&app).await);
    for (lang, placeholder, hint) in [
        (
            "ru",
            "ДД.ММ.ГГГГ",
            "ДД.ММ.ГГГГ или ГГГГ\u{2011}ММ\u{2011}ДД",
        ),
        ("en", "DD.MM.YYYY", "DD.MM.YYYY or YYYY\u{2011}MM\u{2011}DD"),
    ] {
        let page = get(&app, &cookie, &format!("/history?lang={lang}")).await;
        for field in ["from", "to"] {
            assert!(
                page.body.contains(&format!(
                    "placeholder=\"{placeholder}\" aria-describedby=\"{field}-hint\""
                )),
                "{lang} {field}: {}",
                page.body
            );
            assert!(
                page.body
                    .contains(&format!("<p class=\"hint\" id=\"{field}-hint\">{hint}</p>")),
                "{lang} {field}"
            );
        }
    }
    // A wrong date: its message right after its field, the hint still there.
    let wrong = get(
        &app,
        &cookie,
        "/history?period=custom&from=20.11&to=1.12.2026",
    )
    .await;
    // The date that reads comes back in ISO form (a date picker shows no
    // other), the wrong one as typed.
    assert!(
        wrong
            .body
            .contains("id=\"to\" name=\"to\" type=\"date\" value=\"2026-12-01\"")
    );
    assert!(
        wrong
            .body
            .contains("id=\"from\" name=\"from\" type=\"date\" value=\"20.11\"")
    );
    assert!(
        wrong.body.contains(&format!(
            "aria-describedby=\"from-error from-hint\">\n      \
             <p class=\"field-error\" id=\"from-error\" role=\"alert\">{BAD_DATE_RU}"
        )),
        "{}",
        wrong.body
    );
}

#[tokio::test]
async fn a_wrong_period_gets_a_message_next_to_its_field_not_a_server_error() {
    let (app, _) = seeded();
    let cookie = session_cookie(&logged_in(&app).await);
    for (query, message) in [
        ("period=custom&from=2026-13-01&to=2026-12-01", BAD_DATE_RU),
        ("period=custom&from=yesterday&to=2026-12-01", BAD_DATE_RU),
        ("period=custom&from=01.12.2026&to=31.11.2026", BAD_DATE_RU),
        ("period=custom&from=01/12/2026&to=2026-12-01", BAD_DATE_RU),
        ("period=custom&from=1.12.26&to=2026-12-01", BAD_DATE_RU),
        (
            "period=custom&from=1.12.26&to=2026-12-01&lang=en",
            "A date is written DD.MM.YYYY, D.M.YYYY or YYYY\u{2011}MM\u{2011}DD",
        ),
        (
            "period=custom&from=2026-12-02&to=2026-12-01",
            "Дата начала позже даты окончания",
        ),
        ("period=custom&from=2026-12-02", "Укажите обе даты периода"),
        (
            "period=custom&from=2020-01-01&to=2026-01-01",
            "не может быть длиннее 366 дней",
        ),
        ("period=decade", "Такого варианта нет"),
    ] {
        let page = get(&app, &cookie, &format!("/history?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.body.contains(message), "{query}: {}", page.body);
        assert!(page.body.contains("aria-invalid=\"true\""), "{query}");
        let csv = get(&app, &cookie, &format!("/history.csv?{query}")).await;
        assert_eq!(csv.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(csv.body.contains(message), "{query}");
    }
    let custom = get(
        &app,
        &cookie,
        &format!("/history?period=custom&from={}&to={}", day(3), day(1)),
    )
    .await;
    assert_eq!(custom.status, StatusCode::OK);
    assert!(custom.body.contains("6\u{a0}000,00") && !custom.body.contains("125,50"));
}

/// The records of a CSV answer, after checking its BOM and type.
fn records(answer: &Answer) -> Vec<Vec<String>> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.headers.get(header::CONTENT_TYPE).unwrap(),
        "text/csv; charset=utf-8"
    );
    let disposition = answer.headers.get(header::CONTENT_DISPOSITION).unwrap();
    assert!(
        disposition
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"history-")
    );
    let text = answer.body.strip_prefix('\u{feff}').expect("a UTF-8 BOM");
    let text = text.strip_suffix("\r\n").expect("records end with CRLF");
    text.split("\r\n").map(parse_record).collect()
}

/// One `;`-separated record, with `"` quoting.
fn parse_record(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let (mut quoted, mut chars) = (false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (';', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[tokio::test]
async fn the_csv_of_days_parses_back_to_the_page_figures() {
    let (app, _) = seeded();
    let cookie = session_cookie(&logged_in(&app).await);
    let rows = records(&get(&app, &cookie, "/history.csv").await);
    assert_eq!(rows[0][0], "Бизнес-день");
    assert_eq!(rows.len(), 3, "a header and two days: {rows:?}");
    let today: Vec<&str> = rows[1].iter().map(String::as_str).collect();
    let shown = jiff::civil::Date::strptime("%Y-%m-%d", day(0)).unwrap();
    assert_eq!(
        today,
        [
            &shown.strftime("%d.%m.%Y").to_string(),
            "10000001",
            "Оплата",
            "1",
            "125,50",
            "1",
            "25,50",
            "100,00",
            "BYN"
        ]
    );
    assert_eq!(rows[2][2], "Рассрочка 6 мес.");
    assert_eq!(rows[2][4], "6000,00");
    let english = records(&get(&app, &cookie, "/history.csv?lang=en").await);
    assert_eq!(english[0][0], "Business day");
}

#[tokio::test]
async fn the_csv_of_transactions_holds_the_whole_period_not_one_page() {
    let app = app("http://127.0.0.1:8080");
    terminals(&app);
    let mut txs: Vec<Tx> = (1..=130).map(|i| purchase(i * 100, day(0))).collect();
    txs.push(Tx {
        code: "05",
        ..purchase(4_200, day(1))
    });
    store_all(&app, txs);
    let cookie = session_cookie(&logged_in(&app).await);
    let rows = records(&get(&app, &cookie, "/history.csv?view=transactions").await);
    assert_eq!(rows.len(), 1 + 131);
    assert_eq!(rows[0][0], "Дата и время");
    assert!(rows.iter().all(|r| r.len() == 14), "{rows:?}");
    // Newest first: the last payment (130,00) leads; the decline of
    // yesterday closes the file.
    assert_eq!(
        (rows[1][7].as_str(), rows[1][5].as_str()),
        ("130,00", "Оплата")
    );
    let last = &rows[131];
    assert_eq!((last[7].as_str(), last[9].as_str()), ("42,00", "05"));
    assert_eq!(last[11], "нет");
    let total: i64 = rows[1..]
        .iter()
        .filter(|r| r[9] == "00")
        .map(|r| r[7].replace(',', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, (1..=130).map(|i| i * 100).sum::<i64>());
}

#[tokio::test]
async fn the_history_needs_a_session_and_shows_only_the_merchants_own() {
    let (app, _) = seeded();
    for uri in ["/history", "/history.csv", "/history?view=transactions"] {
        let answer = get(&app, "", uri).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(answer.headers.get(header::LOCATION).unwrap(), "/login");
    }
    let cookie = session_cookie(&logged_in(&app).await);
    let csv = records(
        &get(
            &app,
            &cookie,
            "/history.csv?view=transactions&device=MPOS-0101",
        )
        .await,
    );
    assert_eq!(csv.len(), 1, "another merchant's device matches nothing");
    let page = get(&app, &cookie, "/history").await;
    assert!(page.body.contains("<option value=\"MPOS-0002\""));
    assert!(
        !page.body.contains("MPOS-0101"),
        "nor is it offered as a filter"
    );
}

#[tokio::test]
async fn the_language_switch_keeps_the_report() {
    let (app, _) = seeded();
    let cookie = session_cookie(&logged_in(&app).await);
    let page = get(&app, &cookie, "/history?view=transactions&device=MPOS-0001").await;
    let switch =
        "href=\"?period=week&#38;device=MPOS-0001&#38;view=transactions&#38;page=1&#38;lang=en\"";
    assert!(page.body.contains(switch), "{}", page.body);
    let english = get(
        &app,
        &cookie,
        "/history?period=week&device=MPOS-0001&view=transactions&page=1&lang=en",
    )
    .await;
    assert!(english.body.contains("Payment history") && english.body.contains("Declined"));
    assert!(english.body.contains("lang=ru\""));
}

#[tokio::test]
async fn the_home_page_shows_today_and_the_readers_at_a_glance() {
    let (app, _) = seeded();
    let cookie = session_cookie(&logged_in(&app).await);
    let home = get(&app, &cookie, "/").await;
    assert_eq!(home.status, StatusCode::OK);
    // Today only: 125,50 paid, 25,50 refunded (the two-day-old 6 000,00 is
    // not today's; the other merchant's 7 777,00 is never shown).
    assert!(
        home.body
            .contains("<dd>1 · <span class=\"nowrap\">125,50\u{a0}BYN</span></dd>"),
        "{}",
        home.body
    );
    assert!(home.body.contains("100,00\u{a0}BYN"));
    assert!(!home.body.contains("6\u{a0}000,00") && !home.body.contains("7\u{a0}777,00"));
    // MPOS-0001 active, MPOS-0002 blocked (the harness's readers).
    assert!(
        home.body.contains("<dt>Активны</dt><dd>1</dd>"),
        "{}",
        home.body
    );
    assert!(home.body.contains("<dt>Заблокированы</dt><dd>1</dd>"));

    let empty = app_with_nothing_today().await;
    assert!(empty.contains("Сегодня операций ещё не было."), "{empty}");
}

async fn app_with_nothing_today() -> String {
    let app = app("http://127.0.0.1:8080");
    let cookie = session_cookie(&logged_in(&app).await);
    get(&app, &cookie, "/").await.body
}
