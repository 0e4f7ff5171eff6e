//! The cabinet in a real browser: the real `mpos serve`, purchases over ISO
//! 8583 so the history has rows, then headless Chromium driven through
//! chromedriver (WebDriver) the way a merchant clicks through it: login,
//! home, devices (blocking one, which the host must then refuse), the app
//! password form, the payment history by business day and by transaction
//! with both CSV downloads, the cabinet password page, signing out and the
//! forgotten password's form. Every page is saved as a full-page screenshot
//! under `target/screenshots/` (the main ones at a phone's width too) for
//! people to look at; unattended, the test fails on what the browser logs
//! as an error and on pages wider than the screen.
//!
//! Every page is then shown a second time as the oldest browser the user
//! manual names (Chrome 37; IE 10, Firefox 40 and Opera 25 alike) would
//! show it: the served stylesheet with every declaration such an engine
//! cannot parse removed (`mpos_testkit::legacy_css`), swapped in for the
//! `<link>`, on a 1024 px screen, saved as `legacy-*.png`. There the test
//! fails on a page wider than the screen, on a form control that is
//! hidden, zero-sized or off the screen, and on a chosen period that does
//! not look chosen.
//!
//! A second, shorter run serves the cabinet over HTTPS with the demo
//! certificates, the demo CA trusted by that Chromium only (a throwaway
//! NSS database in a temporary `HOME`, no `--ignore-certificate-errors`):
//! login, a logged-in page with the Secure session cookie, and another
//! CA's certificate refused.
//!
//! Needs Debian's `chromium`, `chromium-driver` and `libnss3-tools`
//! (`certutil`); `scripts/install-test-deps.sh` installs them. Without them
//! the test fails (it never skips silently).

use base64::Engine as _;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use mpos_testkit::https::DemoCerts;
use mpos_testkit::iso;
use mpos_testkit::server::Mpos;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CERTUTIL: &str = "/usr/bin/certutil";

/// The longest any one step may take: a page load, an element to appear,
/// chromedriver to start, a download to land. Generous for a loaded 2-core
/// machine; a healthy run needs a small fraction of it.
const STEP: Duration = Duration::from_secs(15);

/// A screen to lay pages out on: CSS pixels, device pixels per CSS pixel,
/// and whether it is a phone (touch, the viewport meta obeyed).
#[derive(Debug, Clone, Copy)]
struct Screen {
    width: u32,
    height: u32,
    scale: u32,
    mobile: bool,
}

/// A laptop's window.
const DESKTOP: Screen = Screen {
    width: 1280,
    height: 800,
    scale: 1,
    mobile: false,
};

/// The manual's old browsers' screen: a 1024 px wide laptop of their time.
const LEGACY: Screen = Screen {
    width: 1024,
    height: 768,
    scale: 1,
    mobile: false,
};

/// The served stylesheet as Chrome 37 keeps it: made once, from what the
/// server sends, before the first page is shown.
static LEGACY_CSS: OnceLock<String> = OnceLock::new();

/// A phone: an iPhone 12 to 15's CSS viewport, at its pixel ratio of 2
/// (rounded down from 3, to keep the files small).
const PHONE: Screen = Screen {
    width: 390,
    height: 844,
    scale: 2,
    mobile: true,
};

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
        ChromeDriver::start_at_home(None)
    }

    /// [`ChromeDriver::start`] with `HOME` set to `home` for chromedriver
    /// and the Chromium it starts: Chromium on Linux trusts the
    /// certificates of `$HOME/.pki/nssdb`, so a throwaway home trusts a
    /// test CA for that run only.
    fn start_at_home(home: Option<&Path>) -> ChromeDriver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: run scripts/install-test-deps.sh \
                 (it installs Debian's {package}; the browser test cannot run without it)"
            );
        }
        let mut command = Command::new(CHROMEDRIVER);
        if let Some(home) = home {
            command.env("HOME", home);
        }
        let mut child = command
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

/// A chromedriver extension command: a JSON `POST /session/{id}/{path}`.
/// Two are used: `goog/cdp/execute` forwards a command to Chromium's
/// DevTools protocol (what WebDriver itself lacks: a full-page screenshot
/// and a phone's viewport); `se/log` reads the page's console log (what the
/// browser complained about, CSP refusals and failed loads among them), and
/// reading it empties it.
#[derive(Debug)]
struct SessionPost {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionPost {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.expect("a WebDriver session"),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Fails if the browser logged an error since the last look: a style or
/// form the CSP refused, a resource that did not load. Tolerated: the
/// page's own 4xx status (a refused login answers 401, a form with errors
/// 400, on purpose).
async fn assert_no_console_errors(browser: &Client, page: &str) {
    let document = browser.current_url().await.expect("current URL");
    let own_status =
        format!("{document} - Failed to load resource: the server responded with a status of 4");
    let log = browser
        .issue_cmd(SessionPost {
            path: "se/log",
            body: json!({ "type": "browser" }),
        })
        .await
        .expect("the browser's console log");
    let errors: Vec<&str> = log
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["level"] == "SEVERE")
        .filter_map(|entry| entry["message"].as_str())
        .filter(|message| !message.starts_with(&own_status))
        .collect();
    assert!(errors.is_empty(), "{page}: the browser logged {errors:#?}");
}

/// Runs one DevTools command and returns its result.
async fn cdp(browser: &Client, cmd: &'static str, params: Value) -> Value {
    browser
        .issue_cmd(SessionPost {
            path: "goog/cdp/execute",
            body: json!({ "cmd": cmd, "params": params }),
        })
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
                "--lang=ru-RU",
                format!("--window-size={},{}", DESKTOP.width, DESKTOP.height),
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

/// Saves the whole page at the desktop's width as `target/screenshots/NAME`,
/// then as the manual's old browsers show it as `legacy-NAME`.
async fn screenshot(browser: &Client, name: &str) {
    shoot(browser, name, DESKTOP).await;
    legacy_screenshot(browser, name).await;
}

/// Swaps the served stylesheet's `<link>` for the legacy text (a
/// constructed stylesheet: an inline `<style>` would be refused by the CSP,
/// rightly) and answers whether exactly that is what applies now.
const LEGACY_IN: &str = r#"
const [css] = arguments;
const link = document.querySelector('link[rel="stylesheet"]');
const sheet = new CSSStyleSheet();
sheet.replaceSync(css);
link.disabled = true;
document.adoptedStyleSheets = [sheet];
return link.sheet === null || link.sheet.disabled;
"#;

/// Puts the served stylesheet back.
const LEGACY_OUT: &str = r#"
document.adoptedStyleSheets = [];
document.querySelector('link[rel="stylesheet"]').disabled = false;
"#;

/// Every form control that a person could not use: hidden, zero-sized or
/// (partly) off the screen sideways. A radio button or checkbox that is
/// drawn by its label (the period's choice) is judged by its label, and a
/// checked one's label must look unlike its unchecked neighbours' (else
/// nobody sees which period is chosen).
const UNUSABLE_CONTROLS: &str = r#"
const width = document.documentElement.clientWidth;
const shown = (el) => {
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  const ok = box.width > 0 && box.height > 0 && style.visibility !== 'hidden'
    && style.display !== 'none' && parseFloat(style.opacity) > 0;
  return ok ? box : null;
};
const problems = [];
for (const el of document.querySelectorAll('input:not([type="hidden"]), select, textarea, button')) {
  const name = el.id || el.name || el.textContent.trim().slice(0, 40) || el.outerHTML.slice(0, 80);
  let box = shown(el);
  if (!box && (el.type === 'radio' || el.type === 'checkbox') && el.labels && el.labels.length > 0) {
    box = shown(el.labels[0]);
  }
  if (!box) {
    problems.push(`${name}: hidden or zero-sized`);
  } else if (box.left < -0.5 || box.right > width + 0.5) {
    problems.push(`${name}: off the screen sideways (${box.left}..${box.right} of ${width} px)`);
  }
}
const look = (label) => {
  const style = getComputedStyle(label);
  return `${style.color} on ${style.backgroundColor}`;
};
for (const checked of document.querySelectorAll('input[type="radio"]:checked')) {
  const hidden = parseFloat(getComputedStyle(checked).opacity) === 0;
  if (!hidden || !checked.labels || checked.labels.length === 0) continue;
  const others = document.querySelectorAll(`input[type="radio"][name="${checked.name}"]:not(:checked)`);
  for (const other of others) {
    if (other.labels && other.labels.length > 0 && look(other.labels[0]) === look(checked.labels[0])) {
      problems.push(`${checked.id}: checked, but its label looks like ${other.id}'s (${look(other.labels[0])})`);
    }
  }
}
return problems;
"#;

/// Shows the page with the legacy stylesheet on the old browsers' 1024 px
/// screen: fails on a control nobody could use, then saves it as
/// `legacy-NAME` (which fails on a page wider than the screen), and puts
/// the served stylesheet back.
async fn legacy_screenshot(browser: &Client, name: &str) {
    let css = LEGACY_CSS
        .get()
        .expect("the legacy stylesheet is made before the first page");
    let swapped = browser
        .execute(LEGACY_IN, vec![json!(css)])
        .await
        .expect("the legacy stylesheet swapped in");
    assert_eq!(
        swapped,
        json!(true),
        "{name}: the served stylesheet still applies"
    );
    cdp(
        browser,
        "Emulation.setDeviceMetricsOverride",
        json!({
            "width": LEGACY.width,
            "height": LEGACY.height,
            "deviceScaleFactor": LEGACY.scale,
            "mobile": LEGACY.mobile,
        }),
    )
    .await;
    let problems = browser
        .execute(UNUSABLE_CONTROLS, vec![])
        .await
        .expect("the form controls measured");
    cdp(browser, "Emulation.clearDeviceMetricsOverride", json!({})).await;
    assert_eq!(
        problems,
        json!([]),
        "{name}: form controls a merchant could not use in the manual's old browsers"
    );
    shoot(browser, &format!("legacy-{name}"), LEGACY).await;
    browser
        .execute(LEGACY_OUT, vec![])
        .await
        .expect("the served stylesheet put back");
}

/// Saves the whole page as a phone lays it out (390 CSS px wide, touch, the
/// viewport meta obeyed) as `target/screenshots/NAME`.
async fn phone_screenshot(browser: &Client, name: &str) {
    shoot(browser, name, PHONE).await;
}

/// Checks that the browser had nothing to complain about on the page and
/// that the page is no wider than `screen`, then saves all of it, not just
/// the viewport. The viewport is made as tall as the page first, so there
/// is no scroll bar to narrow the layout and the picture is the page as a
/// person scrolling it sees it; the window comes back as it was afterwards.
async fn shoot(browser: &Client, name: &str, screen: Screen) {
    assert_no_console_errors(browser, name).await;
    let emulate = |height: f64| {
        cdp(
            browser,
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": screen.width,
                "height": height,
                "deviceScaleFactor": screen.scale,
                "mobile": screen.mobile,
            }),
        )
    };
    let content_height = |metrics: &Value| {
        metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or_else(|| panic!("Page.getLayoutMetrics without a content size: {metrics}"))
    };
    // The page's height depends on its width (the chart scales with it),
    // and its width on whether a scroll bar shows: measured while a scroll
    // bar narrowed it, the page is taller once it has the full width, and
    // the bar stays. So the viewport grows until the page has the screen's
    // full width and fits in it (a few rounds at most).
    let mut height = f64::from(screen.height);
    emulate(height).await;
    for _ in 0..8 {
        let metrics = cdp(browser, "Page.getLayoutMetrics", json!({})).await;
        let needed = content_height(&metrics).ceil();
        let narrowed = metrics["cssLayoutViewport"]["clientWidth"]
            .as_f64()
            .is_some_and(|width| width < f64::from(screen.width));
        if needed <= height && !narrowed {
            break;
        }
        height = if narrowed {
            needed.max(height) + 32.0
        } else {
            needed
        };
        emulate(height).await;
    }
    // Room made for a scroll bar to go is more than the page needs at its
    // full width: the viewport shrinks back to the page's height (the
    // body's: the content size counts the viewport in).
    let body = browser
        .execute(
            "return document.body.getBoundingClientRect().bottom + window.scrollY;",
            vec![],
        )
        .await
        .expect("the body's height");
    let needed = body
        .as_f64()
        .unwrap_or(height)
        .ceil()
        .max(f64::from(screen.height));
    if needed < height {
        height = needed;
        emulate(height).await;
    }
    let metrics = cdp(browser, "Page.getLayoutMetrics", json!({})).await;
    let content = metrics["cssContentSize"]["width"].as_f64().unwrap_or(0.0);
    let viewport = metrics["cssLayoutViewport"]["clientWidth"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        content <= viewport + 0.5,
        "{name}: the page is {content} px wide on a {viewport} px screen (it scrolls sideways)"
    );
    let shot = cdp(
        browser,
        "Page.captureScreenshot",
        json!({ "format": "png", "captureBeyondViewport": true }),
    )
    .await;
    cdp(browser, "Emulation.clearDeviceMetricsOverride", json!({})).await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("PNG data"))
        .expect("base64 PNG");
    std::fs::write(screenshot_dir().join(name), png).expect("screenshot written");
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

/// What the test's payments should leave in the history: approved
/// purchases (count and sum, minor units) and the stored transactions,
/// declines included (every answer past the sign-on check is stored).
#[derive(Debug, Default)]
struct Ledger {
    approved: u64,
    approved_minor: u64,
    declined: u64,
}

impl Ledger {
    /// Pays `amount_minor` on `client` and books the answer; returns its code.
    fn pay(&mut self, client: &mut iso::Client, stan: u32, amount_minor: u64) -> String {
        let code = client.pay(stan, amount_minor);
        if code == "00" {
            self.approved += 1;
            self.approved_minor += amount_minor;
        } else {
            self.declined += 1;
        }
        code
    }

    /// Transactions the transactions view and its CSV should list.
    fn stored(&self) -> u64 {
        self.approved + self.declined
    }
}

/// `1 284,50 BYN`, as the cabinet writes amounts, with plain spaces.
fn byn(minor: u64) -> String {
    let (major, cents) = (minor / 100, minor % 100);
    let digits = major.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    format!("{grouped},{cents:02} BYN")
}

/// Text with its no-break and thin spaces made plain, for comparing.
fn plain(text: &str) -> String {
    text.replace(['\u{a0}', '\u{202f}', '\u{2009}'], " ")
}

/// Clicks the page's CSV link and waits (bounded by [`STEP`]) for the
/// download to land in `downloads`: Chromium writes a `.crdownload` and
/// renames it to the served file name once complete, so the file's
/// appearance under its final name is the signal. Returns its bytes.
async fn download_csv(browser: &Client, downloads: &Path, expected_href: &str) -> Vec<u8> {
    let link = wait_for(browser, "a.csv[href^='/history.csv']").await;
    let href = link.attr("href").await.expect("href").unwrap_or_default();
    assert_eq!(href, expected_href, "the CSV link carries the page's query");
    let before: Vec<PathBuf> = csv_files(downloads);
    link.click().await.expect("click Скачать CSV");
    let deadline = Instant::now() + STEP;
    loop {
        let fresh: Vec<PathBuf> = csv_files(downloads)
            .into_iter()
            .filter(|path| !before.contains(path))
            .collect();
        if let [file] = fresh.as_slice() {
            return std::fs::read(file).expect("the downloaded CSV");
        }
        assert!(fresh.len() < 2, "one click, one file: {fresh:?}");
        assert!(
            Instant::now() < deadline,
            "no CSV in {} within {STEP:?} of the click",
            downloads.display()
        );
        // Poll the folder: a download has no event a WebDriver client can await.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The finished `.csv` files in `folder`.
fn csv_files(folder: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(folder)
        .expect("download folder")
        .map(|entry| entry.expect("folder entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "csv"))
        .collect()
}

/// Checks a downloaded CSV is what Excel with a Russian locale opens as it
/// is (UTF-8 with a BOM, `;` between fields, CRLF) and returns its records
/// after the header.
fn csv_records(bytes: &[u8], name: &str) -> Vec<String> {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{name} is not UTF-8: {e}"));
    let body = text
        .strip_prefix('\u{feff}')
        .unwrap_or_else(|| panic!("{name} starts with the UTF-8 BOM"));
    let mut lines = body.split("\r\n").filter(|line| !line.is_empty());
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("{name} has a header"));
    let columns = header.split(';').count();
    assert!(
        columns >= 5,
        "{name}: `;` separates the header's columns: {header}"
    );
    lines.map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_clicks_through_the_cabinet_in_chromium() {
    let started = Instant::now();
    let server = MPOS.serve();
    let base = server.http.trim_end_matches('/').to_owned();
    let served =
        tokio::task::block_in_place(|| server.http("GET", "/static/cabinet.css", "", None));
    assert_eq!(served.status, 200, "the stylesheet is served");
    LEGACY_CSS.get_or_init(|| mpos_testkit::legacy_css::legacy_stylesheet(&served.body));

    // Payments first, so the history has rows: approvals on both demo
    // readers and an issuer's decline (amount ending in 51).
    let mut ledger = Ledger::default();
    let mut first = server.signed_on("MPOS-0001", "app-pass-1");
    assert_eq!(ledger.pay(&mut first, 1, 1_000), "00");
    assert_eq!(ledger.pay(&mut first, 2, 123_450), "00");
    assert_eq!(ledger.pay(&mut first, 3, 2_051), "51");
    let mut second = server.signed_on("MPOS-0002", "app-pass-2");
    assert_eq!(ledger.pay(&mut second, 1, 2_500), "00");

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
    assert_eq!(
        location(&browser).await,
        "/devices?done=blocked&serial=MPOS-0002"
    );
    assert_eq!(
        text_of(&browser, "p.notice[role='status']").await,
        "Терминал MPOS-0002 заблокирован: приложение на нём не проведёт новых операций."
    );
    tokio::task::block_in_place(|| {
        let mut stan = 2;
        loop {
            let code = ledger.pay(&mut second, stan, 700);
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
            ledger.pay(&mut first, 4, 1_500),
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

    // History by business day (the default view), through the navigation:
    // the chart above the table, and the period's total of what was approved.
    wait_for(&browser, "nav a[href='/history']")
        .await
        .click()
        .await
        .expect("click История платежей");
    wait_for(&browser, "table.report.days").await;
    assert_eq!(location(&browser).await, "/history");
    wait_for(&browser, "figure.chart-card svg.chart rect.bar").await;
    // The total's cells: payments' count and sum, refunds' count and sum, net.
    let mut total = Vec::new();
    for cell in browser
        .find_all(Locator::Css("table.report.days tfoot td"))
        .await
        .expect("the total's cells")
    {
        total.push(plain(&cell.text().await.expect("cell text")));
    }
    let (count, sum) = (ledger.approved.to_string(), byn(ledger.approved_minor));
    assert_eq!(
        total,
        [count.as_str(), &sum, "0", "0,00 BYN", &sum],
        "the period's total: the approvals the test made, no refunds"
    );
    screenshot(&browser, "07-history-days.png").await;
    phone_screenshot(&browser, "07-history-days-phone.png").await;
    let csv = download_csv(
        &browser,
        downloads.path(),
        "/history.csv?period=week&view=days",
    )
    .await;
    let days = csv_records(&csv, "the business days' CSV");
    assert!(!days.is_empty(), "a record per business day and terminal");

    // History by transaction, through its tab: every stored one, the
    // declines (51, 58) marked.
    wait_for(&browser, "nav.tabs a[href*='view=transactions']")
        .await
        .click()
        .await
        .expect("click По транзакциям");
    wait_for(&browser, "table.report.transactions").await;
    assert_eq!(
        location(&browser).await,
        "/history?period=week&view=transactions"
    );
    let rows = browser
        .find_all(Locator::Css("table.report.transactions tbody tr"))
        .await
        .expect("rows");
    let declined = browser
        .find_all(Locator::Css("table.report.transactions tbody tr.declined"))
        .await
        .expect("declined rows");
    assert_eq!(
        rows.len() as u64,
        ledger.stored(),
        "one row per transaction"
    );
    assert_eq!(
        declined.len() as u64,
        ledger.declined,
        "declines are marked"
    );
    screenshot(&browser, "08-history-transactions.png").await;
    phone_screenshot(&browser, "08-history-transactions-phone.png").await;
    let csv = download_csv(
        &browser,
        downloads.path(),
        "/history.csv?period=week&view=transactions",
    )
    .await;
    let records = csv_records(&csv, "the transactions' CSV");
    assert_eq!(
        records.len() as u64,
        ledger.stored(),
        "the CSV has them all"
    );
    assert!(
        records.iter().all(|r| r.split(';').count() >= 10),
        "every record has its fields separated by `;`: {records:#?}"
    );

    // A period typed as a Russian merchant types it where there is no date
    // picker, one date unfinished: the message under its field names the
    // accepted forms, and each date field shows them in a hint.
    browser
        .goto(&format!(
            "{base}/history?period=custom&from=20.11&to=25.11.2026&view=days"
        ))
        .await
        .expect("open a history with a wrong date");
    let message = text_of(&browser, "#from-error").await;
    assert!(
        message.contains("ДД.ММ.ГГГГ, Д.М.ГГГГ или ГГГГ\u{2011}ММ\u{2011}ДД"),
        "{message}"
    );
    assert_eq!(
        text_of(&browser, "#to-hint").await,
        "ДД.ММ.ГГГГ или ГГГГ\u{2011}ММ\u{2011}ДД"
    );
    screenshot(&browser, "08b-history-wrong-date.png").await;

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

    // Sign out with the header's button: back on the login page, and the
    // session is gone (home leads to login again).
    wait_for(&browser, "form.logout button")
        .await
        .click()
        .await
        .expect("click Выйти");
    wait_for(&browser, "form[action='/login']").await;
    browser.goto(&format!("{base}/")).await.expect("open /");
    wait_for(&browser, "form[action='/login']").await;
    assert_eq!(location(&browser).await, "/login", "signed out");

    // The forgotten password, from the login page's link: the form, then
    // the one answer it gives whether or not the e-mail is known.
    wait_for(&browser, "a[href='/password/forgot']")
        .await
        .click()
        .await
        .expect("click Забыли пароль?");
    wait_for(&browser, "form[action='/password/forgot']").await;
    screenshot(&browser, "11-password-forgot.png").await;
    phone_screenshot(&browser, "11-password-forgot-phone.png").await;
    fill_and_submit(
        &browser,
        "form[action='/password/forgot']",
        &[("email", EMAIL)],
    )
    .await;
    wait_for(&browser, ".notice[role='status']").await;
    screenshot(&browser, "12-password-forgot-sent.png").await;

    browser.close().await.expect("the session closes");
    eprintln!(
        "browser test: {:.1} s in all, {:.1} s in Chromium; screenshots in {}",
        started.elapsed().as_secs_f64(),
        opened.elapsed().as_secs_f64(),
        screenshot_dir().display()
    );
}

/// A home folder whose NSS database trusts `certs`' CA (and nothing else
/// added): Chromium started with `HOME` there accepts the demo server's
/// certificate, and no other browser or run does.
fn home_trusting(certs: &DemoCerts) -> tempfile::TempDir {
    assert!(
        Path::new(CERTUTIL).exists(),
        "{CERTUTIL} is missing: run scripts/install-test-deps.sh \
         (it installs Debian's libnss3-tools)"
    );
    let home = tempfile::tempdir().expect("a home folder");
    let nssdb = home.path().join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb).expect("the NSS folder");
    let database = format!("sql:{}", nssdb.display());
    let ca = certs.ca();
    for args in [
        vec!["-N", "-d", &database, "--empty-password"],
        vec![
            "-A",
            "-d",
            &database,
            "-t",
            "C,,",
            "-n",
            "mpos demo CA (FOR TESTING ONLY)",
            "-i",
            ca.to_str().expect("a UTF-8 path"),
        ],
    ] {
        let out = Command::new(CERTUTIL)
            .args(&args)
            .output()
            .expect("certutil runs");
        assert!(
            out.status.success(),
            "certutil {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    home
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cabinet_over_https_in_chromium_trusting_the_demo_ca_for_this_run_only() {
    let certs = MPOS.demo_certs();
    let server = MPOS.serve_https(&certs.cert(), &certs.key(), &[]);
    let base = server.http.trim_end_matches('/').to_owned();
    // A second cabinet whose certificate another CA signed: the browser
    // must refuse it, so the first is trusted for its CA, not for all.
    let other_certs = MPOS.demo_certs();
    let other = MPOS.serve_https(&other_certs.cert(), &other_certs.key(), &[]);

    let home = home_trusting(&certs);
    let driver = ChromeDriver::start_at_home(Some(home.path()));
    let profile = tempfile::tempdir().expect("profile folder");
    let downloads = tempfile::tempdir().expect("download folder");
    let browser = open_browser(&driver, profile.path(), downloads.path()).await;

    browser.goto(&format!("{base}/")).await.expect("open /");
    wait_for(&browser, "form[action='/login']").await;
    assert_eq!(location(&browser).await, "/login");
    let url = browser.current_url().await.expect("current URL");
    assert_eq!(url.scheme(), "https");
    assert_no_console_errors(&browser, "the login page over HTTPS").await;
    shoot(&browser, "13-https-login.png", DESKTOP).await;
    fill_and_submit(
        &browser,
        "form[action='/login']",
        &[("email", EMAIL), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(text_of(&browser, "h1.merchant").await, MERCHANT_NAME);
    assert_eq!(location(&browser).await, "/");

    // The session cookie is Secure and HttpOnly, and it carries the
    // session over TLS: a logged-in page opens with it.
    let cookies = browser.get_all_cookies().await.expect("the cookies");
    let session = cookies
        .iter()
        .find(|cookie| cookie.name() == "mpos_session")
        .expect("a session cookie");
    assert_eq!(session.secure(), Some(true), "{session}");
    assert_eq!(session.http_only(), Some(true), "{session}");
    wait_for(&browser, "nav a[href='/devices']")
        .await
        .click()
        .await
        .expect("click Устройства");
    wait_for(&browser, "form[action='/devices/MPOS-0001/state'] button").await;
    assert_eq!(location(&browser).await, "/devices");
    assert_no_console_errors(&browser, "the devices page over HTTPS").await;
    shoot(&browser, "14-https-devices.png", DESKTOP).await;

    // The other CA's certificate: Chromium shows its interstitial, never
    // the cabinet.
    browser
        .goto(&format!("{}/login", other.http))
        .await
        .expect("open the other cabinet");
    let refused = browser
        .find(Locator::Css("form[action='/login']"))
        .await
        .is_err();
    assert!(refused, "a certificate of another CA is refused");
    let page = browser.source().await.expect("the page source");
    assert!(page.contains("ERR_CERT_AUTHORITY_INVALID"), "{page}");

    browser.close().await.expect("the session closes");
}
