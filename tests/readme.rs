//! Every command the README shows is run here as written, so the README
//! cannot drift from the CLI: each must exit 0 (a command that finds a
//! failure on purpose would say so in its comment) and print something.

use std::path::Path;
use std::process::Command;

/// The command lines of the README's `sh` blocks that start with `tcpsim`
/// (or `sudo tcpsim`), without their trailing `# comment`, each with the exit
/// code it should have: 0, or 1 when its comment says "(exit 1)".
fn readme_commands() -> Vec<(String, i32)> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let mut in_sh = false;
    let mut out = Vec::new();
    for line in readme.lines() {
        match line.trim() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            l if in_sh && (l.starts_with("tcpsim ") || l.starts_with("sudo tcpsim ")) => {
                let (command, comment) = l.split_once(" #").unwrap_or((l, ""));
                let code = if comment.contains("(exit 1)") { 1 } else { 0 };
                out.push((command.trim().to_string(), code));
            }
            _ => {}
        }
    }
    out
}

/// Whether `sudo` lines can run: as `tcpsim real` itself decides.
fn is_root() -> bool {
    tcpsim::real::plan::missing_privileges().is_none()
}

#[test]
fn the_readme_shows_the_commands_a_new_user_needs() {
    let commands = readme_commands();
    for needed in [
        "tcpsim run ",
        "tcpsim test ",
        "tcpsim compare ",
        "tcpsim fuzz",
        "tcpsim real ",
    ] {
        assert!(
            commands.iter().any(|(c, _)| c.contains(needed)),
            "the README shows no `{needed}` command: {commands:?}"
        );
    }
}

#[test]
fn every_readme_command_runs_as_written() {
    let out_dir = tempfile::tempdir().expect("a temporary directory");
    for (command, code) in readme_commands() {
        let words: Vec<&str> = command.split_whitespace().collect();
        let words = match words.as_slice() {
            ["sudo", rest @ ..] if is_root() => rest,
            ["sudo", ..] => {
                eprintln!("skipped (needs root): {command}");
                continue;
            }
            all => all,
        };
        assert_eq!(words[0], "tcpsim");
        // Files the commands write (run.html, fuzz-out/) go to a temporary
        // directory: paths into the repository are made absolute.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let args: Vec<String> = words[1..]
            .iter()
            .map(|w| match w.contains('/') && root.join(w).exists() {
                true => root.join(w).display().to_string(),
                false => w.to_string(),
            })
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
            .current_dir(out_dir.path())
            .env("NO_COLOR", "1")
            .args(&args)
            .output()
            .expect("tcpsim runs");
        assert_eq!(
            out.status.code(),
            Some(code),
            "`{command}` should exit {code}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "`{command}` printed nothing");
    }
    assert!(
        out_dir.path().join("run.html").exists(),
        "--html run.html wrote no file"
    );
}
