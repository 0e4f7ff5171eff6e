//! The cabinet in a real browser: the real `mpos serve`, purchases over ISO
//! 8583 so the history has rows, then headless Chromium driven through
//! chromedriver (WebDriver) the way a merchant clicks through it: login,
//! home, devices (blocking one, which the host must then refuse), the
//! cabinet password page. Every page is saved as a full-page screenshot under
//! `target/screenshots/` (some at a phone's width too) for people to look at.
//!
//! Needs Debian's `chromium` and `chromium-driver`; `scripts/install-test-deps.sh`
//! installs them. Without them the test fails (it never skips silently).

#[path = "support/host.rs"]
mod host;

use base64::Engine as _;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The longest any one step may take: a page load, an element to appear,
/// chromedriver to start, a download to land. Generous for a loaded 2-core
/// machine; a healthy run needs a small fraction of it.
const STEP: Duration = Duration::from_secs(15);

/// The desktop window, and the phone (an iPhone 12-15's CSS viewport).
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

/// The demo data of the host spec, section 7.
const EMAIL: &str = "demo@merchant.test";
const PASSWORD: &str = "demo-password-1";
const MERCHANT_NAME: &str = "ООО «Ромашка»";

/// chromedriver on a free loopback port, in a process group of its own so
/// that dropping it also ends the Chromium it started, even when the test
/// panics before closing the WebDriver session.
struct ChromeDriver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    url: String,
}

impl ChromeDriver {
    /// Starts chromedriver on port 0 and waits for the line in which it
    /// says which port it listens on (printed once it accepts
    /// connections): no polling, no guessed delay.
    fn start() -> ChromeDriver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: run scripts/install-test-deps.sh \
                 (it installs Debian's {package}; the browser test cannot run without it)"
            );
        }
        let mut child = Command::new(CHROMEDRIVER)
            .args(["--port=0", "--log-level=SEVERE"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                // "ChromeDriver was started successfully on port 40143."
                if let Some(port) = line
                    .strip_prefix("ChromeDriver was started successfully on port ")
                    .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                    break;
                }
            }
            // Keep draining so chromedriver never blocks on a full pipe.
            for _ in lines {}
        });
        let mut driver = ChromeDriver {
            child,
            url: String::new(),
        };
        let port = rx
            .recv_timeout(STEP)
            .expect("chromedriver names its port within the step's time");
        driver.url = format!("http://127.0.0.1:{port}");
        driver
    }
}

impl Drop for ChromeDriver {
    /// Kills chromedriver's whole process group (it and its browsers), by
    /// the group id of the process this test started.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// A command chromedriver forwards to Chromium's DevTools protocol
/// (`POST /session/{id}/goog/cdp/execute`): what WebDriver itself lacks, a
/// full-page screenshot and a phone's viewport.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.expect("a WebDriver session")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// chromedriver's console log of the page (`POST /session/{id}/se/log`):
/// what the browser complained about, CSP refusals and failed loads among
/// them. Reading it empties it.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/se/log",
            session.expect("a WebDriver session")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// Fails if the browser logged an error since the last look: a style or
/// form the CSP refused, a resource that did not load. Tolerated: the
/// page's own 4xx status (a refused login answers 401, a form with errors
/// 400, on purpose) and the favicon, which the cabinet does not have.
async fn assert_no_console_errors(browser: &Client, page: &str) {
    let document = browser.current_url().await.expect("current URL");
    let own_status =
        format!("{document} - Failed to load resource: the server responded with a status of 4");
    let log = browser
        .issue_cmd(BrowserLog)
        .await
        .expect("the browser's console log");
    let errors: Vec<&str> = log
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["level"] == "SEVERE")
        .filter_map(|entry| entry["message"].as_str())
        .filter(|message| !message.starts_with(&own_status) && !message.contains("/favicon.ico"))
        .collect();
    assert!(errors.is_empty(), "{page}: the browser logged {errors:#?}");
}

/// Runs one DevTools command and returns its result.
async fn cdp(browser: &Client, cmd: &'static str, params: Value) -> Value {
    browser
        .issue_cmd(Cdp { cmd, params })
        .await
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

/// Headless Chromium with a fresh profile, downloads going to `downloads`
/// without asking, and the flags this machine's closed network needs (no
/// background connections, no component updates).
async fn open_browser(driver: &ChromeDriver, profile: &Path, downloads: &Path) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--lang=ru-RU",
                format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": false,
            },
        },
        "goog:loggingPrefs": { "browser": "ALL" },
        "timeouts": { "pageLoad": STEP.as_millis() as u64, "script": STEP.as_millis() as u64 },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal")
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("chromedriver opens a headless Chromium session")
}

/// Where the screenshots go: `target/screenshots/` (beside `target/tmp`,
/// which is `CARGO_TARGET_TMPDIR`, so a custom target folder is honoured).
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// Saves the whole page, not just the viewport, as `target/screenshots/NAME`,
/// after checking that the browser had nothing to complain about on it.
async fn screenshot(browser: &Client, name: &str) {
    assert_no_console_errors(browser, name).await;
    let metrics = cdp(browser, "Page.getLayoutMetrics", json!({})).await;
    let size = &metrics["cssContentSize"];
    let (width, height) = (size["width"].as_f64(), size["height"].as_f64());
    let (Some(width), Some(height)) = (width, height) else {
        panic!("Page.getLayoutMetrics without a content size: {metrics}")
    };
    let shot = cdp(
        browser,
        "Page.captureScreenshot",
        json!({
            "format": "png",
            "captureBeyondViewport": true,
            "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
        }),
    )
    .await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("PNG data"))
        .expect("base64 PNG");
    std::fs::write(screenshot_dir().join(name), png).expect("screenshot written");
}

/// Lays the page out as a phone would (390 CSS px wide, touch, the
/// viewport meta obeyed), saves a full-page screenshot, and goes back to
/// the desktop window.
async fn phone_screenshot(browser: &Client, name: &str) {
    cdp(
        browser,
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": 2, "mobile": true }),
    )
    .await;
    let metrics = cdp(browser, "Page.getLayoutMetrics", json!({})).await;
    let content = metrics["cssContentSize"]["width"].as_f64().unwrap_or(0.0);
    let viewport = metrics["cssLayoutViewport"]["clientWidth"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        content <= viewport + 0.5,
        "{name}: the page is {content} px wide on a {viewport} px phone (it scrolls sideways)"
    );
    screenshot(browser, name).await;
    cdp(browser, "Emulation.clearDeviceMetricsOverride", json!({})).await;
}

/// Waits (bounded by [`STEP`]) for an element to appear: how a step knows
/// the page it led to has loaded.
async fn wait_for(browser: &Client, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(STEP)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css} within {STEP:?}: {e}"))
}

/// The visible text of the element `css`, waiting for it first.
async fn text_of(browser: &Client, css: &str) -> String {
    wait_for(browser, css)
        .await
        .text()
        .await
        .expect("element text")
}

/// The path and query of the page the browser shows.
async fn location(browser: &Client) -> String {
    let url = browser.current_url().await.expect("current URL");
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Fills the form `form_css` field by field and submits it with its
/// submit button, as a person would.
async fn fill_and_submit(browser: &Client, form_css: &str, fields: &[(&str, &str)]) {
    wait_for(browser, form_css).await;
    let form = browser
        .form(Locator::Css(form_css))
        .await
        .expect("the form");
    for (name, value) in fields {
        form.set_by_name(name, value)
            .await
            .unwrap_or_else(|e| panic!("field {name}: {e}"));
    }
    form.submit().await.expect("submit");
}

/// A purchase on the demo merchant's standard virtual terminal. The
/// amount's last two digits pick the issuer's answer (51 and 05 decline).
fn purchase(client: &mut host::Client, stan: u32, amount_minor: u64) -> host::Answer {
    let (stan, amount) = (format!("{stan:06}"), format!("{amount_minor:012}"));
    client.exchange(
        "0200",
        &[
            (2, "4276550012341239"),
            (3, "000000"),
            (4, &amount),
            (7, "1125093000"),
            (11, &stan),
            (14, "2812"),
            (22, "071"),
            (41, "10000001"),
            (42, "MTB000000000001"),
            (49, "933"),
        ],
    )
}

/// The demo device `serial` signed on over a new connection.
fn signed_on(server: &host::Server, serial: &str, password: &str) -> host::Client {
    let mut client = server.connect();
    assert_eq!(
        client.sign_on(serial, password).code(),
        "00",
        "{serial} signs on"
    );
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_clicks_through_the_cabinet_in_chromium() {
    let started = Instant::now();
    let server = host::Server::start();
    let base = server.http.trim_end_matches('/').to_owned();

    // Payments first, so the history has rows: approvals on both demo
    // readers and an issuer's decline (amount ending in 51).
    let mut first = signed_on(&server, "MPOS-0001", "app-pass-1");
    assert_eq!(purchase(&mut first, 1, 1_000).code(), "00");
    assert_eq!(purchase(&mut first, 2, 123_450).code(), "00");
    assert_eq!(purchase(&mut first, 3, 2_051).code(), "51");
    let mut second = signed_on(&server, "MPOS-0002", "app-pass-2");
    assert_eq!(purchase(&mut second, 1, 2_500).code(), "00");

    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().expect("profile folder");
    let downloads = tempfile::tempdir().expect("download folder");
    let browser = open_browser(&driver, profile.path(), downloads.path()).await;
    let opened = Instant::now();

    // Login: a wrong password first (the one message for any failure),
    // then the right one, which lands on home.
    browser.goto(&format!("{base}/")).await.expect("open /");
    wait_for(&browser, "form[action='/login']").await;
    assert_eq!(
        location(&browser).await,
        "/login",
        "anonymous / leads to login"
    );
    // The stylesheet got through the CSP: the ground is its colour, not white.
    let ground = wait_for(&browser, "body")
        .await
        .css_value("background-color")
        .await
        .expect("computed style");
    assert_eq!(ground, "rgba(243, 245, 248, 1)", "cabinet.css is applied");
    screenshot(&browser, "01-login.png").await;
    phone_screenshot(&browser, "01-login-phone.png").await;
    fill_and_submit(
        &browser,
        "form[action='/login']",
        &[("email", EMAIL), ("password", "not-the-password")],
    )
    .await;
    let error = text_of(&browser, "#login-error").await;
    assert!(error.contains("Неверный e-mail или пароль"), "{error}");
    screenshot(&browser, "02-login-failed.png").await;
    fill_and_submit(
        &browser,
        "form[action='/login']",
        &[("email", EMAIL), ("password", PASSWORD)],
    )
    .await;

    // Home: the merchant's name and the app download.
    assert_eq!(text_of(&browser, "h1.merchant").await, MERCHANT_NAME);
    assert_eq!(location(&browser).await, "/");
    wait_for(&browser, "a[href='/app/download']").await;
    screenshot(&browser, "03-home.png").await;
    phone_screenshot(&browser, "03-home-phone.png").await;

    // Devices, reached through the navigation: both readers active.
    wait_for(&browser, "nav a[href='/devices']")
        .await
        .click()
        .await
        .expect("click Устройства");
    let toggle_of = |serial: &str| format!("form[action='/devices/{serial}/state'] button");
    let toggle = wait_for(&browser, &toggle_of("MPOS-0002")).await;
    assert_eq!(toggle.text().await.expect("text"), "Активен");
    screenshot(&browser, "04-devices.png").await;

    // Block MPOS-0002 with its toggle: the page comes back showing it
    // blocked, and the host refuses the reader's next message (58) within
    // a second of the click, on the connection it already has.
    let clicked = Instant::now();
    toggle.click().await.expect("click the toggle");
    let blocked = wait_for(
        &browser,
        "form[action='/devices/MPOS-0002/state'] button.blocked",
    )
    .await;
    assert_eq!(blocked.text().await.expect("text"), "Заблокирован");
    assert_eq!(
        text_of(&browser, &toggle_of("MPOS-0001")).await,
        "Активен",
        "only the clicked reader is blocked"
    );
    assert_eq!(location(&browser).await, "/devices");
    tokio::task::block_in_place(|| {
        let mut stan = 2;
        loop {
            let code = purchase(&mut second, stan, 700).code().to_owned();
            if code == "58" {
                break;
            }
            assert!(
                clicked.elapsed() < Duration::from_secs(1),
                "MPOS-0002 still answered {code} a second after the block"
            );
            stan += 1;
            // Pace the probe: the host owes 58 within a second, not at once.
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            purchase(&mut first, 4, 1_500).code(),
            "00",
            "the other reader still pays"
        );
    });
    screenshot(&browser, "05-devices-blocked.png").await;
    phone_screenshot(&browser, "05-devices-phone.png").await;

    // The reader's app password form, reached by its link.
    wait_for(&browser, "a[href='/devices/MPOS-0001/password']")
        .await
        .click()
        .await
        .expect("click Сменить пароль");
    wait_for(&browser, "form[action='/devices/MPOS-0001/password']").await;
    screenshot(&browser, "06-device-password.png").await;

    // The cabinet password: the page, then the errors a mistyped form shows
    // (a wrong current password and a short new one; nothing changes).
    wait_for(&browser, "nav a[href='/password']")
        .await
        .click()
        .await
        .expect("click Сменить пароль in the navigation");
    wait_for(&browser, "form[action='/password']").await;
    assert_eq!(location(&browser).await, "/password");
    screenshot(&browser, "09-password.png").await;
    fill_and_submit(
        &browser,
        "form[action='/password']",
        &[
            ("current_password", "not-the-password"),
            ("new_password", "short"),
            ("new_password_repeat", "short"),
        ],
    )
    .await;
    wait_for(&browser, ".field-error").await;
    screenshot(&browser, "10-password-errors.png").await;
    phone_screenshot(&browser, "10-password-errors-phone.png").await;

    browser.close().await.expect("the session closes");
    eprintln!(
        "browser test: {:.1} s in all, {:.1} s in Chromium; screenshots in {}",
        started.elapsed().as_secs_f64(),
        opened.elapsed().as_secs_f64(),
        screenshot_dir().display()
    );
}
