//! The HTML reports (`run --html`, `compare --html`) in a real browser,
//! Debian's `chromium` run headless: each report kind is rendered to a
//! screenshot, and its DOM, dumped after the page's script ran, is checked
//! against the JSON report of the same run (one arrow per segment sent, the
//! RSTs highlighted, the verdict, one table row per trace entry, matrix links
//! that lead somewhere), with no console message and no request to the
//! network. The reports are also checked to be byte-identical from run to
//! run and to escape what a scenario file says.
//!
//! In CI (`CI=true`) a missing chromium fails the browser tests; elsewhere
//! they print why they skip. `TCPSIM_BLESS=1` rewrites the screenshots
//! `docs/html-run.png` and `docs/html-compare.png` that the README shows.

mod common;

use common::{json, succeeds, tcpsim};
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one browser run may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `tcpsim ARGS --html DIR/NAME` and returns the page's path.
fn report(args: &[&str], dir: &Path, name: &str) -> PathBuf {
    let page = dir.join(name);
    succeeds(tcpsim().args(args).arg("--html").arg(&page));
    page
}

/// `sel` as a selector (they are literals: a bad one is a bug in the test).
fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn count(dom: &Html, s: &str) -> usize {
    dom.select(&sel(s)).count()
}

fn text(e: ElementRef) -> String {
    e.text().collect()
}

/// A headless chromium, each run with a fresh profile.
struct Browser {
    exe: PathBuf,
}

/// What loading a page left: its DOM after the script ran, the console's
/// messages, and the URLs the page asked the network for.
struct Loaded {
    dom: Html,
    console: Vec<String>,
    requests: Vec<String>,
}

impl Browser {
    /// The browser on PATH; `None` (saying why) when there is none outside CI.
    fn find() -> Option<Browser> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let exe = std::env::split_paths(&path)
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|p| p.is_file());
        match exe {
            Some(exe) => Some(Browser { exe }),
            None if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but no chromium on PATH: .ci/run installs the Debian package")
            }
            None => {
                eprintln!("skipped: no chromium on PATH (Debian: apt-get install chromium)");
                None
            }
        }
    }

    /// Runs the browser on `url` with `args`; returns (stdout, stderr).
    fn run(&self, args: &[String], url: &str) -> (String, String) {
        let tmp = tempfile::tempdir().unwrap();
        let (out_path, err_path) = (tmp.path().join("stdout"), tmp.path().join("stderr"));
        let mut child = Command::new(&self.exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                // A page that reaches for the network fails to, and the net log says so.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!(
                "--user-data-dir={}",
                tmp.path().join("profile").display()
            ))
            .args(args)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > BROWSER_TIMEOUT {
                let _ = child.kill();
                panic!("chromium took more than {BROWSER_TIMEOUT:?} on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        (read(&out_path), read(&err_path))
    }

    /// Loads `page` (with `query`, which the filter script reads).
    fn load(&self, page: &Path, query: &str) -> Loaded {
        let tmp = tempfile::tempdir().unwrap();
        let net_log = tmp.path().join("net.json");
        let args = [
            "--dump-dom".to_string(),
            format!("--log-net-log={}", net_log.display()),
        ];
        let (dom, stderr) = self.run(&args, &format!("file://{}{query}", page.display()));
        let requests = std::fs::read(&net_log).map_or_else(|_| Vec::new(), |b| page_requests(&b));
        Loaded {
            dom: Html::parse_document(&dom),
            console: console_messages(&stderr),
            requests,
        }
    }

    /// Renders `page` in a `w`×`h` window to `png`.
    fn screenshot(&self, page: &Path, png: &Path, (w, h): (u32, u32)) {
        let args = [
            format!("--window-size={w},{h}"),
            format!("--screenshot={}", png.display()),
        ];
        self.run(&args, &format!("file://{}", page.display()));
        assert!(
            png.is_file(),
            "chromium wrote no screenshot of {}",
            page.display()
        );
    }
}

/// The console's messages in chromium's log (`--enable-logging=stderr`), lines
/// like `[…:INFO:CONSOLE:1] "Uncaught ReferenceError: f is not defined", source: …`.
/// A report logs nothing, so every message counts.
fn console_messages(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect()
}

/// URLs the page requested, from a net log: requests keyed to the page's
/// file:// origin (the browser's own background requests are keyed otherwise).
fn page_requests(net_log: &[u8]) -> Vec<String> {
    let Ok(log) = serde_json::from_slice::<Value>(net_log) else {
        return vec!["(unreadable net log)".into()];
    };
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.contains("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect();
    urls.dedup();
    urls
}

/// What every report must satisfy: no console message, no request, nothing
/// loaded from anywhere (no `src`, no `<link>`), ids unique, every link an
/// anchor in the page that exists.
fn check_self_contained(page: &Loaded, what: &str) {
    assert!(
        page.console.is_empty(),
        "{what}: console says {:?}",
        page.console
    );
    assert!(
        page.requests.is_empty(),
        "{what}: requested {:?}",
        page.requests
    );
    let dom = &page.dom;
    assert_eq!(
        count(dom, "[src], link, iframe, object, embed"),
        0,
        "{what}: external content"
    );
    assert_eq!(count(dom, "script"), 1, "{what}: one inline script");
    let mut ids: Vec<&str> = dom
        .select(&sel("[id]"))
        .filter_map(|e| e.attr("id"))
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "{what}: duplicate ids");
    for a in dom.select(&sel("a[href]")) {
        let href = a.attr("href").unwrap();
        let target = href
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{what}: link {href}"));
        assert!(
            ids.binary_search(&target).is_ok(),
            "{what}: {href} leads nowhere"
        );
    }
}

/// Whether a screenshot shows a page: its size, and enough ink on it.
fn check_screenshot(png: &Path, (w, h): (u32, u32)) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (w, h), "{}", png.display());
    let px = info.color_type.samples();
    let inked = buf[..info.buffer_size()]
        .chunks(px)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    let share = inked * 100 / (w * h) as usize;
    assert!(
        share >= 3,
        "{}: only {share}% of the pixels are not blank",
        png.display()
    );
}

/// Keeps `png` as `docs/NAME` when blessing.
fn bless(png: &Path, name: &str) {
    if std::env::var_os("TCPSIM_BLESS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name);
        std::fs::copy(png, docs).unwrap();
    }
}

/// The trace entries of a JSON report that `keep` accepts.
fn entries<'a>(j: &'a Value, keep: impl Fn(&Value) -> bool + 'a) -> usize {
    j["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| keep(e))
        .count()
}

fn is_send(e: &Value) -> bool {
    e["kind"] == "send"
}

fn is_rst_send(e: &Value) -> bool {
    is_send(e) && e["seg"]["flags"].as_u64().unwrap() & 0x04 != 0
}

/// One run report against its JSON: arrows, RSTs, drops, notes, verdict, rows.
fn check_run_dom(dom: &Html, j: &Value, name: &str) -> (usize, usize) {
    let sends = entries(j, is_send);
    let rsts = entries(j, is_rst_send);
    let drops = entries(j, |e| e["kind"] == "drop");
    assert_eq!(
        count(dom, "#run-svg g.seg"),
        sends,
        "{name}: one arrow per segment sent"
    );
    assert_eq!(
        count(dom, "#run-svg g.seg.rst"),
        rsts,
        "{name}: RSTs highlighted"
    );
    assert_eq!(
        count(dom, "#run-svg g.seg.lost"),
        drops,
        "{name}: drops marked"
    );
    assert_eq!(
        count(dom, "#run-svg g.seg.lost text.cross"),
        drops,
        "{name}: drops crossed"
    );
    let rst_notes = dom
        .select(&sel("#run-svg g.note.rst"))
        .filter(|n| text(*n).contains("RST sent in"))
        .count();
    assert_eq!(
        rst_notes,
        entries(j, |e| e["event"]["event"] == "rst-sent"),
        "{name}: RST causes"
    );
    let badge = dom.select(&sel("#run-verdict .badge")).next().map(text);
    assert_eq!(
        badge.as_deref(),
        j["verdict"]["outcome"].as_str(),
        "{name}: verdict"
    );
    let rows = j["trace"].as_array().unwrap().len();
    assert_eq!(
        count(dom, "#run-table tbody tr"),
        rows,
        "{name}: one row per entry"
    );
    (rsts, drops)
}

fn visible_rows(dom: &Html) -> Vec<ElementRef<'_>> {
    dom.select(&sel("#run-table tbody tr:not([hidden])"))
        .collect()
}

#[test]
fn run_reports_render_in_a_browser_with_every_segment_rst_and_drop() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (mut rsts, mut drops) = (0, 0);
    for name in ["close-with-unread", "fin-lost", "rst-lost"] {
        let file = format!("scenarios/{name}.toml");
        let page = report(&["run", &file, "-q"], tmp.path(), &format!("{name}.html"));
        let loaded = browser.load(&page, "");
        check_self_contained(&loaded, name);
        let (r, d) = check_run_dom(&loaded.dom, &json(&["run", &file]), name);
        (rsts, drops) = (rsts + r, drops + d);
    }
    assert!(
        rsts > 0 && drops > 0,
        "the corpus slice has RSTs ({rsts}) and drops ({drops})"
    );
    let page = tmp.path().join("close-with-unread.html");
    let png = tmp.path().join("run.png");
    browser.screenshot(&page, &png, (1280, 2000));
    check_screenshot(&png, (1280, 2000));
    bless(&png, "html-run.png");
}

#[test]
fn the_trace_filter_shows_only_matching_rows() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = "scenarios/close-with-unread.toml";
    let page = report(&["run", file, "-q"], tmp.path(), "run.html");
    let j = json(&["run", file]);
    let sends = entries(&j, is_send);
    let loaded = browser.load(&page, "?kind=send");
    assert!(loaded.console.is_empty(), "{:?}", loaded.console);
    let rows = visible_rows(&loaded.dom);
    assert_eq!(rows.len(), sends);
    assert!(rows.iter().all(|r| r.attr("data-kind") == Some("send")));
    let total = j["trace"].as_array().unwrap().len();
    let output = loaded
        .dom
        .select(&sel("form.filter output"))
        .next()
        .map(text);
    assert_eq!(output, Some(format!("{sends} of {total} entries")));
    let loaded = browser.load(&page, "?host=client&text=econnreset");
    let rows = visible_rows(&loaded.dom);
    assert!(!rows.is_empty());
    for r in rows {
        assert_eq!(r.attr("data-host"), Some("client"));
        assert!(text(r).contains("ECONNRESET"), "{}", text(r));
    }
}

#[test]
fn compare_reports_render_with_a_matrix_whose_cells_lead_to_their_ladders() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = "scenarios/rsync-cygwin-exit.toml";
    let page = report(&["compare", file], tmp.path(), "compare.html");
    let loaded = browser.load(&page, "");
    check_self_contained(&loaded, "compare");
    let dom = &loaded.dom;
    let j = json(&["compare", file]);
    let n = j["personalities"].as_array().unwrap().len();
    assert_eq!(count(dom, "table.matrix td.cell"), n * n);
    for (k, cell) in dom.select(&sel("table.matrix td.cell")).enumerate() {
        let id = format!("cell-{}-{}", k / n, k % n);
        let href = format!("#{id}");
        assert!(
            cell.select(&sel("a"))
                .any(|a| a.attr("href") == Some(&href)),
            "{id}"
        );
        let pair = format!("section.pair#{id}");
        assert_eq!(count(dom, &pair), 1, "{id}: a section of its own");
        assert!(
            count(dom, &format!("#{id}-svg g.seg")) > 0,
            "{id}: a ladder"
        );
        let outcome = j["cells"][k]["outcome"].as_str().unwrap();
        let badge = dom
            .select(&sel(&format!("{pair} h2 .badge")))
            .next()
            .map(text);
        assert_eq!(badge.as_deref(), Some(outcome), "{id}");
    }
    // The file's own pair draws as `run` does.
    let run = json(&["run", file]);
    let names = j["personalities"].as_array().unwrap();
    let at = |h: usize| {
        names
            .iter()
            .position(|p| *p == run["hosts"][h]["personality"])
            .unwrap()
    };
    let own = format!("#cell-{}-{}-svg g.seg", at(0), at(1));
    assert_eq!(count(dom, &own), entries(&run, is_send));
    // Every divergence is listed, and its cells' ≠ links land on its markers.
    let divergences = j["divergences"].as_array().unwrap().len();
    assert!(divergences > 0, "the scenario's pairs diverge");
    assert_eq!(count(dom, "#divergences li"), divergences);
    let marks: Vec<_> = dom.select(&sel("a.diverge")).collect();
    assert!(!marks.is_empty());
    for a in marks {
        let target = &a.attr("href").unwrap()[1..];
        let mark = format!("svg.ladder g.divergence tspan#{target}");
        assert_eq!(count(dom, &mark), 1, "{target}: a marker in a ladder");
    }
    let png = tmp.path().join("compare.png");
    browser.screenshot(&page, &png, (1280, 1300));
    check_screenshot(&png, (1280, 1300));
    bless(&png, "html-compare.png");
}

/// The checks above can fail: a page with a script error, or one that loads
/// from the network, is caught; a clean page passes.
#[test]
fn the_browser_check_catches_script_errors_and_network_loads() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let page = |name: &str, body: &str| {
        let p = tmp.path().join(name);
        std::fs::write(
            &p,
            format!("<!DOCTYPE html><html><body>{body}</body></html>"),
        )
        .unwrap();
        p
    };
    let broken = page("broken.html", "<p>x</p><script>notAFunction();</script>");
    let loaded = browser.load(&broken, "");
    assert!(
        loaded.console.iter().any(|m| m.contains("notAFunction")),
        "{:?}",
        loaded.console
    );
    let fetching = page(
        "fetching.html",
        "<img src=\"http://tcpsim.invalid/x.png\"><script></script>",
    );
    let loaded = browser.load(&fetching, "");
    assert_eq!(loaded.requests, ["http://tcpsim.invalid/x.png"]);
    let clean = page(
        "clean.html",
        "<p id=\"a\">x</p><script>document.body.dataset.ran = 'yes';</script>",
    );
    let loaded = browser.load(&clean, "");
    check_self_contained(&loaded, "clean page");
    assert_eq!(
        count(&loaded.dom, "body[data-ran=yes]"),
        1,
        "the script ran"
    );
}

#[test]
fn html_reports_are_byte_identical_from_run_to_run() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["run", "scenarios/rsync-cygwin-exit.toml", "-q"][..],
        &[
            "compare",
            "scenarios/fin-lost.toml",
            "--personalities",
            "linux,winsock-xp",
        ][..],
    ] {
        let a = std::fs::read(report(args, tmp.path(), "a.html")).unwrap();
        let b = std::fs::read(report(args, tmp.path(), "b.html")).unwrap();
        assert!(a.len() > 10_000, "{args:?}: a report");
        assert!(a == b, "{args:?}: two runs, two different pages");
    }
}

#[test]
fn what_a_scenario_file_says_is_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/close-with-unread.toml"),
    )
    .unwrap();
    let hostile = original.replace(
        "description = \"\"\"\n",
        "description = \"\"\"\n<script>alert('x')</script> & <b>bold</b> \"quoted\"\n",
    );
    assert_ne!(hostile, original);
    let file = tmp.path().join("hostile.toml");
    std::fs::write(&file, hostile).unwrap();
    let page = report(
        &["run", file.to_str().unwrap(), "-q"],
        tmp.path(),
        "hostile.html",
    );
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains(
        "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot;"
    ));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the report's own script"
    );
    assert!(!html.contains("<b>"));
}

#[test]
fn an_unwritable_html_path_is_an_input_error() {
    let out = tcpsim()
        .args([
            "run",
            "scenarios/close-with-unread.toml",
            "--html",
            "no/such/dir/r.html",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot write the HTML report no/such/dir/r.html"),
        "{err}"
    );
}

/// A run longer than `--max-trace-entries` shows its last entries and says
/// so, with the counts; a whole run says nothing of the kind.
#[test]
fn a_truncated_trace_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let file = "scenarios/zero-window-slow-reader.toml";
    let whole = report(&["run", file, "-q"], tmp.path(), "whole.html");
    let whole = Html::parse_document(&std::fs::read_to_string(whole).unwrap());
    assert_eq!(count(&whole, "p.truncated"), 0);
    let rows = count(&whole, "table.trace tbody tr");
    assert!(rows > 50, "{rows} rows");
    let cut = report(
        &["run", file, "-q", "--max-trace-entries", "50"],
        tmp.path(),
        "cut.html",
    );
    let cut = Html::parse_document(&std::fs::read_to_string(cut).unwrap());
    assert_eq!(count(&cut, "table.trace tbody tr"), 50);
    let note: Vec<String> = cut.select(&sel("p.truncated")).map(text).collect();
    assert_eq!(note.len(), 1, "one note");
    let expected = format!("the last 50 of {rows} entries");
    assert!(note[0].contains(&expected), "{}", note[0]);
    assert!(note[0].contains(&format!("the first {} are left out", rows - 50)));
}
