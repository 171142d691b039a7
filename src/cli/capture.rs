//! Capture files from the command line: `run --pcap`, `compare --pcap-dir`,
//! the capture beside a fuzz counterexample (and, the same way, beside an
//! explore witness). The trace goes into the file as the run produces it and
//! is never held whole; the window shifts a SYN must offer come from a first
//! pass over the same deterministic run (`pcap::WindowShifts`).

use super::EXIT_INPUT;
use pcap::{Format, TraceCapture, WindowShifts};
use sim::{Entry, World, WorldSpec};
use std::convert::Infallible;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Says why a capture file could not be written; exit code 2.
pub fn failed(path: &Path, e: &io::Error) -> ExitCode {
    eprintln!(
        "error: cannot write the capture file {}: {e}",
        path.display()
    );
    ExitCode::from(EXIT_INPUT)
}

/// Runs `spec` with its trace recorded, handing each entry to `each` as it is
/// produced.
fn each_entry(spec: &Arc<WorldSpec>, mut each: impl FnMut(&Entry)) {
    let Ok(_) = World::new(Arc::clone(spec), true).run_with(|e| {
        each(e);
        Ok::<(), Infallible>(())
    });
}

/// A capture file being written from a run's entries as they go by. A write
/// that fails stops the writing; `finish` then says why.
pub struct Sink {
    path: PathBuf,
    capture: Option<TraceCapture<BufWriter<File>>>,
    error: Option<io::Error>,
}

impl Sink {
    /// Creates the file at `path` (pcapng if it ends in `.pcapng`), then
    /// learns the window shifts from a first run of `spec`.
    pub fn open(path: &Path, spec: &Arc<WorldSpec>) -> Result<Sink, ExitCode> {
        let file = File::create(path).map_err(|e| failed(path, &e))?;
        let mut shifts = WindowShifts::default();
        each_entry(spec, |e| shifts.push(e));
        let capture = TraceCapture::new(BufWriter::new(file), Format::of_path(path), shifts)
            .map_err(|e| failed(path, &e))?;
        Ok(Sink {
            path: path.to_path_buf(),
            capture: Some(capture),
            error: None,
        })
    }

    /// Takes the next entry of the run `open` was given.
    pub fn push(&mut self, e: &Entry) {
        if let Some(c) = &mut self.capture {
            if let Err(err) = c.push(e) {
                self.error = Some(err);
                self.capture = None;
            }
        }
    }

    /// Ends the file, or says why it could not be written (exit code 2).
    pub fn finish(self) -> Result<(), ExitCode> {
        let ended = match (self.error, self.capture) {
            (Some(e), _) => Err(e),
            (None, Some(c)) => c.finish().map(drop),
            (None, None) => Ok(()),
        };
        ended.map_err(|e| failed(&self.path, &e))
    }
}

/// Writes the capture of `spec`'s run to `path`.
pub fn write(path: &Path, spec: &Arc<WorldSpec>) -> Result<(), ExitCode> {
    let mut sink = Sink::open(path, spec)?;
    each_entry(spec, |e| sink.push(e));
    sink.finish()
}

/// Writes the capture of `spec`'s run beside the scenario file that
/// reproduces it (a fuzz counterexample, an explore witness): the same name
/// ending in `.pcap`. Returns the capture's path.
pub fn write_beside(scenario_file: &Path, spec: &Arc<WorldSpec>) -> Result<PathBuf, ExitCode> {
    let path = scenario_file.with_extension("pcap");
    write(&path, spec)?;
    Ok(path)
}
