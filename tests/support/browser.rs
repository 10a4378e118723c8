//! Headless Chromium: printing and screenshots from the command line (`BrowserTools`), and
//! a WebDriver session through chromedriver for pages a person clicks through (`Browser`).

pub const BROWSER_ENV: &str = "MEND_TEST_REQUIRE_BROWSER";

/// Headless Chromium and poppler, when installed. When `MEND_TEST_REQUIRE_BROWSER` is set
/// (CI sets it), their absence fails the test instead of skipping it.
pub fn browser_tools() -> Option<BrowserTools> {
    let found = |cmd: &str| {
        // poppler's tools answer -v; chromium answers --version.
        let flag = if cmd.starts_with("pdf") {
            "-v"
        } else {
            "--version"
        };
        std::process::Command::new(cmd)
            .arg(flag)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| found(c));
    match (chromium, found("pdftoppm") && found("pdfinfo")) {
        (Some(c), true) => Some(BrowserTools {
            chromium: c.to_owned(),
        }),
        _ if std::env::var_os(BROWSER_ENV).is_some() => {
            panic!(
                "{BROWSER_ENV} is set but chromium or poppler-utils (pdftoppm, pdfinfo) is missing"
            )
        }
        _ => {
            crate::skips::skipped(
                crate::skips::Needs::Browser,
                &format!("no chromium or poppler-utils; set {BROWSER_ENV} to require them"),
            );
            None
        }
    }
}

pub struct BrowserTools {
    chromium: String,
}

impl BrowserTools {
    fn headless(&self, profile: &std::path::Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        cmd
    }

    /// Prints a page (URL or file:// URL) to PDF the way a manager's Chromium would.
    pub fn print_to_pdf(&self, url: &str, pdf: &std::path::Path) {
        let profile = tempfile::tempdir().unwrap();
        let status = self
            .headless(profile.path())
            .arg("--no-pdf-header-footer")
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(url)
            .status()
            .unwrap();
        assert!(
            status.success() && pdf.exists(),
            "chromium failed to print {url}"
        );
    }

    /// A screenshot of a page at a phone-like or laptop-like window size.
    pub fn screenshot(&self, url: &str, png: &std::path::Path, width: u32, height: u32) {
        let profile = tempfile::tempdir().unwrap();
        let status = self
            .headless(profile.path())
            .arg("--hide-scrollbars")
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--screenshot={}", png.display()))
            .arg(url)
            .status()
            .unwrap();
        assert!(
            status.success() && png.exists(),
            "chromium failed to screenshot {url}"
        );
    }

    /// Page count and size line (e.g. "594.96 x 841.92 pts (A4)") of a PDF.
    pub fn pdf_info(&self, pdf: &std::path::Path) -> (usize, String) {
        let out = std::process::Command::new("pdfinfo")
            .arg(pdf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        (field("Pages:").parse().unwrap(), field("Page size:"))
    }

    /// Every page of a PDF as a grey-scale image at `dpi`.
    pub fn pdf_pages(&self, pdf: &std::path::Path, dpi: u32) -> Vec<image::GrayImage> {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("page");
        let status = std::process::Command::new("pdftoppm")
            .args(["-r", &dpi.to_string(), "-gray", "-png"])
            .arg(pdf)
            .arg(&prefix)
            .status()
            .unwrap();
        assert!(status.success());
        let mut files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| image::open(f).unwrap().to_luma8())
            .collect()
    }
}

/// A WebDriver session on headless Chromium, through a chromedriver of its own.
pub struct Browser {
    pub client: fantoccini::Client,
    driver: std::process::Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Sets the page's viewport with Chromium's device emulation, as a phone.
    pub async fn viewport(&self, width: u32, height: u32) {
        self.emulate(width, height, true).await;
    }

    /// Sets the viewport as a laptop's (no mobile emulation).
    pub async fn laptop(&self, width: u32, height: u32) {
        self.emulate(width, height, false).await;
    }

    async fn emulate(&self, width: u32, height: u32, mobile: bool) {
        let params = serde_json::json!({
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile
        });
        self.cdp("Emulation.setDeviceMetricsOverride", params).await;
    }

    /// Runs a Chrome DevTools command through chromedriver; returns its result.
    async fn cdp(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        let res = reqwest::Client::new()
            .post(format!(
                "http://127.0.0.1:{}/session/{}/goog/cdp/execute",
                self.port, self.session
            ))
            .json(&serde_json::json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{cmd} failed");
        res.json::<serde_json::Value>().await.unwrap()["value"].clone()
    }

    /// A screenshot of the whole page, not only what fits the viewport.
    pub async fn full_page_screenshot_to(&self, path: &std::path::Path) {
        use base64::Engine;
        let metrics = self
            .cdp("Page.getLayoutMetrics", serde_json::json!({}))
            .await;
        let size = &metrics["cssContentSize"];
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                serde_json::json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1 }
                }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// A phone-sized browser; `javascript` false turns scripts off entirely.
    pub async fn phone(javascript: bool) -> Option<Browser> {
        browser_tools()?;
        let driver_found = std::process::Command::new("chromedriver")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !driver_found {
            if std::env::var_os(BROWSER_ENV).is_some() {
                panic!("{BROWSER_ENV} is set but chromedriver (chromium-driver) is missing");
            }
            crate::skips::skipped(
                crate::skips::Needs::Browser,
                &format!("no chromedriver; set {BROWSER_ENV} to require it"),
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("chromium");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
                    "--window-size=390,844", format!("--user-data-dir={}", profile.path().display())
                ],
                "prefs": { "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 } }
            }),
        );
        let mut client = None;
        for _ in 0..50 {
            // Plain HTTP: chromedriver listens on loopback.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match fantoccini::ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        let client = client.expect("chromedriver did not start");
        // Headless windows are at least 500 px wide; a phone is narrower. Chromium's own
        // device emulation sets the viewport exactly.
        let session = client.session_id().await.unwrap().unwrap().to_string();
        let browser = Browser {
            client,
            driver,
            port,
            session,
            _profile: profile,
        };
        browser.viewport(390, 844).await;
        Some(browser)
    }

    /// Types into the element with this id.
    pub async fn type_into(&self, id: &str, text: &str) {
        self.client
            .find(fantoccini::Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Clicks the first element matching a CSS selector.
    pub async fn click(&self, css: &str) {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    pub async fn screenshot_to(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
